/*
 * rr: a TCP request/response latency probe for the live benchmark (tools/livebench.sh).
 * One connection, TCP_NODELAY, a SIZE-byte request answered by a SIZE-byte response, COUNT
 * times in a row; prints the round-trip time percentiles in microseconds. Measures what an
 * inline box adds to every interactive exchange (netperf TCP_RR without netperf).
 *
 * Build:  cc -O2 -Wall -o rr tools/rr.c
 * Server: rr -s ADDR PORT
 * Client: rr ADDR PORT [COUNT [SIZE]]   (defaults 5000 round trips of 64 bytes)
 * Output: "rr: N round trips, p50 X us, p90 Y us, p99 Z us, max W us"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int full(int fd, char *buf, size_t n, int reading) {
    size_t done = 0;
    while (done < n) {
        ssize_t k = reading ? read(fd, buf + done, n - done) : write(fd, buf + done, n - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        done += (size_t)k;
    }
    return 0;
}

static int open_socket(const char *addr, const char *port, int server) {
    struct addrinfo hints = {0}, *ai;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | (server ? AI_PASSIVE : 0);
    if (getaddrinfo(addr, port, &hints, &ai) != 0) { fprintf(stderr, "rr: bad address %s %s\n", addr, port); exit(2); }
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (server) {
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) { perror("rr: bind"); exit(1); }
    } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        perror("rr: connect");
        exit(1);
    }
    freeaddrinfo(ai);
    return fd;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "-s") == 0) {
        int l = open_socket(argv[2], argv[3], 1);
        for (;;) {
            int c = accept(l, NULL, NULL);
            if (c < 0) continue;
            int one = 1;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (fork() == 0) {
                unsigned size;
                char buf[65536];
                /* The first 4 bytes tell the size; then echo SIZE-byte messages until EOF. */
                if (full(c, (char *)&size, 4, 1) == 0 && size > 0 && size <= sizeof buf)
                    while (full(c, buf, size, 1) == 0 && full(c, buf, size, 0) == 0) {}
                _exit(0);
            }
            close(c);
        }
    }
    if (argc < 3) { fprintf(stderr, "usage: rr -s ADDR PORT | rr ADDR PORT [COUNT [SIZE]]\n"); return 2; }
    int count = argc > 3 ? atoi(argv[3]) : 5000;
    unsigned size = argc > 4 ? (unsigned)atoi(argv[4]) : 64;
    if (count <= 0 || size == 0 || size > 65536) { fprintf(stderr, "rr: bad COUNT or SIZE\n"); return 2; }
    int fd = open_socket(argv[1], argv[2], 0);
    char buf[65536];
    memset(buf, 'r', size);
    double *rtt = malloc(sizeof(double) * (size_t)count);
    if (full(fd, (char *)&size, 4, 0) < 0) { perror("rr: write"); return 1; }
    for (int i = 0; i < count; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (full(fd, buf, size, 0) < 0 || full(fd, buf, size, 1) < 0) { fprintf(stderr, "rr: connection lost after %d\n", i); return 1; }
        clock_gettime(CLOCK_MONOTONIC, &b);
        rtt[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
    }
    qsort(rtt, (size_t)count, sizeof(double), cmp);
    printf("rr: %d round trips, p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n", count,
           rtt[count / 2], rtt[count * 9 / 10], rtt[count * 99 / 100], rtt[count - 1]);
    close(fd);
    return 0;
}
