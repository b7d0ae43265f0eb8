/* herald-backend: the cluster's test backend. An HTTP/1.0 server that answers every request with the pod
 * and node that served it ("pod=shop-6d9f… node=node-2"), so a client sees which pod kube-proxy chose.
 * Static, no libc beyond sockets: the image holds this binary alone. PORT (default 8080), POD_NAME and
 * NODE_NAME come from the environment (the Deployment sets them from the downward API). SIGTERM ends it at
 * once (as PID 1 it would otherwise ignore the signal and wait for the grace period). */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void stop(int signal) { (void)signal; _exit(0); }

int main(void) {
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGPIPE, SIG_IGN);
    const char *port = getenv("PORT"), *pod = getenv("POD_NAME"), *node = getenv("NODE_NAME");
    char body[512];
    int length = snprintf(body, sizeof body, "pod=%s node=%s\n", pod ? pod : "?", node ? node : "?");
    int listener = socket(AF_INET6, SOCK_STREAM, 0);
    int off = 0, on = 1;
    setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);  /* IPv4 and IPv6 alike */
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in6 address = {.sin6_family = AF_INET6, .sin6_port = htons(port ? atoi(port) : 8080)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 128) != 0) {
        perror("herald-backend: cannot listen");
        return 1;
    }
    fprintf(stderr, "herald-backend: listening on port %s as %s", port ? port : "8080", body);
    for (;;) {
        int client = accept(listener, NULL, NULL);
        if (client < 0) { if (errno == EINTR) continue; perror("accept"); continue; }
        struct timeval timeout = {.tv_sec = 2};
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        char request[2048];
        (void)read(client, request, sizeof request);  /* the request itself does not matter */
        char response[1024];
        int size = snprintf(response, sizeof response,
                            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                            "Connection: close\r\n\r\n%s", length, body);
        (void)write(client, response, size);
        close(client);
    }
}
