// What Swift cannot reach in Glibc by itself for packet sockets: sockaddr_ll, PACKET_* options, socket filters
// and IPv6 multicast membership, wrapped as small functions that return -1 and leave errno set on failure.
#ifndef CLINUXNET_H
#define CLINUXNET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __linux__
#include <linux/filter.h>

/// socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(protocol)); protocol is an EtherType, 0x0003 for all.
/// Pass 0 to receive nothing until bind: frames of every interface would otherwise queue before the filter
/// and the bind are in place.
int CLinuxNet_packet_socket(uint16_t protocol);

/// Attaches a classic BPF program. Call before bind: the socket then never queues a frame the filter refuses.
int CLinuxNet_attach_filter(int fd, const struct sock_filter *code, unsigned short count);

/// Binds a packet socket to one interface and EtherType.
int CLinuxNet_bind_packet(int fd, int ifindex, uint16_t protocol);

/// PACKET_IGNORE_OUTGOING (Linux 4.20): frames this host sends are not looped back to the socket.
int CLinuxNet_ignore_outgoing(int fd);

/// SO_RCVTIMEO in microseconds, so a blocking receive returns periodically and a reader can stop.
int CLinuxNet_set_receive_timeout(int fd, long microseconds);

/// PACKET_AUXDATA: each received frame comes with metadata, among it a VLAN tag the NIC or driver took off.
int CLinuxNet_enable_auxdata(int fd);

/// Receives one frame. On success stores the packet type (PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST,
/// PACKET_OTHERHOST, PACKET_OUTGOING), the interface index it arrived on, and whether it carried an 802.1Q tag
/// that was stripped before it reached the socket (needs CLinuxNet_enable_auxdata).
ssize_t CLinuxNet_receive_frame(int fd, void *buffer, size_t length, int *packet_type, int *ifindex, int *vlan_tagged);

/// Sends a whole Ethernet frame (header included) out of an interface.
ssize_t CLinuxNet_send_frame(int fd, int ifindex, const void *frame, size_t length);

/// IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP on an AF_INET6 socket. Joining makes the kernel program the NIC's
/// multicast filter and send MLDv2 reports, which switches with MLD snooping need before they forward
/// solicitations to this port. `group` holds 16 bytes in network order.
int CLinuxNet_join_ipv6_group(int fd, int ifindex, const uint8_t *group);
int CLinuxNet_leave_ipv6_group(int fd, int ifindex, const uint8_t *group);

/// Moves the calling thread into the network namespace at `path` (e.g. /run/netns/NAME): setns(CLONE_NEWNET).
int CLinuxNet_enter_network_namespace(const char *path);

/// Names the calling thread (prctl PR_SET_NAME; the first 15 bytes): what top -H and /proc/PID/task/TID/comm show.
int CLinuxNet_set_thread_name(const char *name);

/// An O_CLOEXEC descriptor of the calling thread's network namespace, to enter later from another thread.
int CLinuxNet_current_network_namespace(void);

/// setns(fd, CLONE_NEWNET) for a descriptor from CLinuxNet_current_network_namespace; 0 without a call when
/// the thread is in that namespace already (setns needs CAP_SYS_ADMIN even then).
int CLinuxNet_enter_network_namespace_fd(int fd);

extern const int CLinuxNet_PACKET_HOST;
extern const int CLinuxNet_PACKET_BROADCAST;
extern const int CLinuxNet_PACKET_MULTICAST;
extern const int CLinuxNet_PACKET_OTHERHOST;
extern const int CLinuxNet_PACKET_OUTGOING;
#endif

#endif
