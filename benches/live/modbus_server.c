/*
 * The libmodbus reference server of the live-mode benchmark (issue 3).
 *
 *   modbus_server IP PORT
 *
 * One thread, one select() loop over the listening socket and every client, the way
 * libmodbus's own multi-client examples serve: a readable client socket gets one
 * modbus_receive() and one modbus_reply() on the shared register mapping. The mapping
 * has 16 coils, 16 discrete inputs, 16 input registers and 64 holding registers
 * (holding register i holds i), like the benchmark PLC. IP must be a loopback address.
 *
 * Build: gcc -O2 -Wall -o modbus_server modbus_server.c $(pkg-config --cflags --libs libmodbus)
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <modbus.h>

#define HOLDING_REGISTERS 64
#define BACKLOG 1024

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int is_loopback(const char *ip)
{
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return 0;
    return (ntohl(a.s_addr) >> 24) == 127;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s IP PORT\n", argv[0]);
        return 2;
    }
    const char *ip = argv[1];
    int port = atoi(argv[2]);
    if (!is_loopback(ip) || port <= 0 || port > 65535) {
        fprintf(stderr, "modbus_server: need a 127.0.0.0/8 address and a port, got %s %s\n", ip, argv[2]);
        return 2;
    }

    modbus_t *ctx = modbus_new_tcp(ip, port);
    if (ctx == NULL) {
        fprintf(stderr, "modbus_server: modbus_new_tcp: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_mapping_t *map = modbus_mapping_new(16, 16, HOLDING_REGISTERS, 16);
    if (map == NULL) {
        fprintf(stderr, "modbus_server: modbus_mapping_new: %s\n", modbus_strerror(errno));
        modbus_free(ctx);
        return 1;
    }
    for (int i = 0; i < HOLDING_REGISTERS; i++)
        map->tab_registers[i] = (uint16_t)i;

    int listener = modbus_tcp_listen(ctx, BACKLOG);
    if (listener == -1) {
        fprintf(stderr, "modbus_server: cannot listen on %s:%d: %s\n", ip, port, modbus_strerror(errno));
        modbus_mapping_free(map);
        modbus_free(ctx);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: select() returns EINTR and the loop ends */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    fd_set all;
    FD_ZERO(&all);
    FD_SET(listener, &all);
    int max_fd = listener;
    int clients = 0;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];

    printf("modbus_server: libmodbus %s listening on %s:%d\n", LIBMODBUS_VERSION_STRING, ip, port);
    fflush(stdout);

    while (!stop) {
        fd_set ready = all;
        if (select(max_fd + 1, &ready, NULL, NULL, NULL) == -1) {
            if (errno == EINTR)
                continue;
            perror("modbus_server: select");
            break;
        }
        for (int fd = 0; fd <= max_fd; fd++) {
            if (!FD_ISSET(fd, &ready))
                continue;
            if (fd == listener) {
                struct sockaddr_in peer;
                socklen_t len = sizeof peer;
                int s = accept(listener, (struct sockaddr *)&peer, &len);
                if (s == -1) {
                    perror("modbus_server: accept");
                    continue;
                }
                if (s >= FD_SETSIZE) {
                    /* select() cannot watch it: refuse rather than corrupt the fd_set. */
                    fprintf(stderr, "modbus_server: fd %d beyond FD_SETSIZE, connection refused\n", s);
                    close(s);
                    continue;
                }
                int one = 1;
                setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                FD_SET(s, &all);
                if (s > max_fd)
                    max_fd = s;
                clients++;
                continue;
            }
            modbus_set_socket(ctx, fd);
            int rc = modbus_receive(ctx, query);
            if (rc > 0) {
                modbus_reply(ctx, query, rc, map);
            } else if (rc == -1) {
                /* Closed by the client, or a broken frame: drop the connection. */
                close(fd);
                FD_CLR(fd, &all);
                clients--;
                while (max_fd > listener && !FD_ISSET(max_fd, &all))
                    max_fd--;
            }
            /* rc == 0: a request for another unit id, ignored. */
        }
    }

    printf("modbus_server: stopping with %d clients\n", clients);
    for (int fd = 0; fd <= max_fd; fd++)
        if (fd != listener && FD_ISSET(fd, &all))
            close(fd);
    close(listener);
    modbus_mapping_free(map);
    modbus_free(ctx);
    return 0;
}
