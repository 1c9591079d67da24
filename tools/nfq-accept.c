/*
 * nfq-accept: the smallest useful NFQUEUE consumer, the baseline for utmd's throughput
 * (issue 6: utmd should reach at least 80% of this). Binds one queue with the same settings
 * as utmd (copy the whole packet, fail-open, GSO) and accepts every packet, one verdict each.
 *
 * Build:  cc -O2 -Wall -o nfq-accept tools/nfq-accept.c $(pkg-config --cflags --libs libnetfilter_queue)
 * Run:    nfq-accept [QUEUE]   (root; stops on SIGINT/SIGTERM and prints the packet count)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

static volatile sig_atomic_t stopping;
static unsigned long long packets;

static void on_signal(int sig) { (void)sig; stopping = 1; }

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
    (void)msg; (void)data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph) return 0;
    packets++;
    return nfq_set_verdict(qh, ntohl(ph->packet_id), NF_ACCEPT, 0, NULL);
}

int main(int argc, char **argv) {
    unsigned queue = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
    struct nfq_handle *h = nfq_open();
    if (!h) { fprintf(stderr, "nfq-accept: nfq_open: %s\n", strerror(errno)); return 1; }
    struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
    if (!qh) { fprintf(stderr, "nfq-accept: nfq_create_queue %u: %s\n", queue, strerror(errno)); return 1; }
    if (nfq_set_mode(qh, NFQNL_COPY_PACKET, 0xffff) < 0) { fprintf(stderr, "nfq-accept: nfq_set_mode failed\n"); return 1; }
    nfq_set_queue_maxlen(qh, 4096);
    nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO, NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO);
    int fd = nfq_fd(h);
    int size = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: recv returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    static char buf[0x10000 + 8192];
    while (!stopping) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR || errno == ENOBUFS) continue;
            fprintf(stderr, "nfq-accept: recv: %s\n", strerror(errno));
            break;
        }
        nfq_handle_packet(h, buf, (int)n);
    }
    nfq_destroy_queue(qh);
    nfq_close(h);
    fprintf(stderr, "nfq-accept: %llu packets accepted\n", packets);
    return 0;
}
