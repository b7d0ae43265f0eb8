#ifdef __linux__
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CLinuxNet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

const int CLinuxNet_PACKET_HOST = PACKET_HOST;
const int CLinuxNet_PACKET_BROADCAST = PACKET_BROADCAST;
const int CLinuxNet_PACKET_MULTICAST = PACKET_MULTICAST;
const int CLinuxNet_PACKET_OTHERHOST = PACKET_OTHERHOST;
const int CLinuxNet_PACKET_OUTGOING = PACKET_OUTGOING;

_Static_assert(sizeof(struct sock_filter) == 8, "struct sock_filter is 8 bytes");

int CLinuxNet_packet_socket(uint16_t protocol) {
    return socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(protocol));
}

int CLinuxNet_attach_filter(int fd, const struct sock_filter *code, unsigned short count) {
    struct sock_fprog program = { .len = count, .filter = (struct sock_filter *)code };
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program));
}

int CLinuxNet_bind_packet(int fd, int ifindex, uint16_t protocol) {
    struct sockaddr_ll address;
    memset(&address, 0, sizeof(address));
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(protocol);
    address.sll_ifindex = ifindex;
    return bind(fd, (struct sockaddr *)&address, sizeof(address));
}

int CLinuxNet_ignore_outgoing(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof(on));
}

int CLinuxNet_set_receive_timeout(int fd, long microseconds) {
    struct timeval timeout = { .tv_sec = microseconds / 1000000, .tv_usec = microseconds % 1000000 };
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
}

int CLinuxNet_enable_auxdata(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof(on));
}

ssize_t CLinuxNet_receive_frame(int fd, void *buffer, size_t length, int *packet_type, int *ifindex, int *vlan_tagged) {
    struct sockaddr_ll from;
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } control;
    struct iovec vector = { .iov_base = buffer, .iov_len = length };
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_name = &from;
    message.msg_namelen = sizeof(from);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = &control;
    message.msg_controllen = sizeof(control);
    ssize_t received = recvmsg(fd, &message, MSG_TRUNC);
    if (received < 0) return received;
    *packet_type = from.sll_pkttype;
    *ifindex = from.sll_ifindex;
    *vlan_tagged = 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_PACKET && header->cmsg_type == PACKET_AUXDATA
            && header->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata))) {
            struct tpacket_auxdata aux;
            memcpy(&aux, CMSG_DATA(header), sizeof(aux));
            // A priority tag (VLAN id 0, 802.1p only) belongs to the untagged interface; only a real VLAN id counts.
            if ((aux.tp_status & TP_STATUS_VLAN_VALID) && (aux.tp_vlan_tci & 0x0fff) != 0) *vlan_tagged = 1;
        }
    }
    return received;
}

ssize_t CLinuxNet_send_frame(int fd, int ifindex, const void *frame, size_t length) {
    struct sockaddr_ll to;
    memset(&to, 0, sizeof(to));
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    to.sll_halen = ETH_ALEN;
    if (length >= ETH_ALEN) memcpy(to.sll_addr, frame, ETH_ALEN);
    // The EtherType, so skb->protocol is right for taps, tc and bonding on kernels that do not read it from the frame.
    if (length >= 14) memcpy(&to.sll_protocol, (const uint8_t *)frame + 12, 2);
    return sendto(fd, frame, length, 0, (struct sockaddr *)&to, sizeof(to));
}

static int membership(int fd, int ifindex, const uint8_t *group, int option) {
    struct ipv6_mreq request;
    memset(&request, 0, sizeof(request));
    memcpy(&request.ipv6mr_multiaddr, group, 16);
    request.ipv6mr_interface = (unsigned int)ifindex;
    return setsockopt(fd, IPPROTO_IPV6, option, &request, sizeof(request));
}

int CLinuxNet_join_ipv6_group(int fd, int ifindex, const uint8_t *group) {
    return membership(fd, ifindex, group, IPV6_JOIN_GROUP);
}

int CLinuxNet_leave_ipv6_group(int fd, int ifindex, const uint8_t *group) {
    return membership(fd, ifindex, group, IPV6_LEAVE_GROUP);
}
int CLinuxNet_enter_network_namespace(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int result = setns(fd, CLONE_NEWNET);
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}
int CLinuxNet_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, name, 0, 0, 0);
}

int CLinuxNet_current_network_namespace(void) {
    return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

int CLinuxNet_enter_network_namespace_fd(int fd) {
    // Already there (the usual case: a speaker's threads share one namespace): setns would need
    // CAP_SYS_ADMIN, which the DaemonSet does not grant, for nothing.
    struct stat wanted, current;
    if (fstat(fd, &wanted) == 0 && stat("/proc/thread-self/ns/net", &current) == 0 &&
        wanted.st_dev == current.st_dev && wanted.st_ino == current.st_ino) {
        return 0;
    }
    return setns(fd, CLONE_NEWNET);
}
#endif
