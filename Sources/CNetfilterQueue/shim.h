// libnetfilter_queue (the legacy nfq_* API over libnfnetlink) and the kernel constants the live
// source needs: verdicts (NF_ACCEPT, NF_DROP), queue flags (NFQA_CFG_F_FAIL_OPEN, _GSO) and
// the raw-socket headers for active responses. Only UTMCapture imports this module.
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
