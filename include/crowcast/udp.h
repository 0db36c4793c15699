/* UDP multicast sockets on the event loop: a receiver that joins a group and hands every datagram
 * to a callback, and a sender that pushes batches of datagrams (with UDP GSO where the kernel has it).
 *
 * Network rules: the sender sets IP_MULTICAST_IF to the configured interface address and TTL 1 by
 * default; receivers set IP_MULTICAST_ALL to 0 so they only see the group they joined.
 */
#ifndef CROWCAST_UDP_H
#define CROWCAST_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "crowcast/loop.h"

struct crow_udp_rx_config {
    struct sockaddr_in group; /* multicast group and port to join */
    struct in_addr iface;     /* local interface address to join on */
    int rcvbuf;               /* requested SO_RCVBUF bytes (SO_RCVBUFFORCE when permitted) */
    unsigned buffers;         /* receive buffers (power of two) */
    unsigned buffer_size;     /* bytes per buffer, at least the largest datagram */
    bool gro;                 /* UDP_GRO where the kernel and the multishot receive have it: a run of
                                 datagrams per read (buffers then hold 64 KiB; `buffers` is ignored) */
};

/* Called for every datagram received; `data` is valid only during the call. */
typedef void (*crow_udp_rx_fn)(void *ctx, const uint8_t *data, size_t len, const struct sockaddr_in *from);

struct crow_udp_rx_stats {
    uint64_t datagrams, bytes;
    uint64_t truncated;    /* longer than a buffer: dropped */
    uint64_t kernel_drops; /* SO_RXQ_OVFL: dropped by the kernel for lack of buffer space */
    int rcvbuf;            /* SO_RCVBUF the kernel granted */
    bool multishot;        /* multishot receive with a provided-buffer ring in use */
    bool gro;              /* UDP_GRO in use */
    uint64_t gro_buffers;  /* reads that brought more than one datagram */
};

typedef struct crow_udp_rx crow_udp_rx_t;
/* Opens the socket, joins the group, starts receiving. Returns 0 or -errno (e.g. -ENODEV when the
 * interface cannot join). */
int crow_udp_rx_open(crow_loop_t *loop, crow_udp_rx_t **out, const struct crow_udp_rx_config *cfg,
                     crow_udp_rx_fn fn, void *ctx);
void crow_udp_rx_get_stats(const crow_udp_rx_t *rx, struct crow_udp_rx_stats *out);
/* Stops receiving; the object is freed once the kernel returned every buffer (the loop must keep
 * running a little, or the process exit). No callback fires after this call. */
void crow_udp_rx_close(crow_udp_rx_t *rx);

struct crow_udp_tx_config {
    struct in_addr iface; /* source interface for multicast (IP_MULTICAST_IF) */
    int ttl;              /* multicast TTL; 1 keeps datagrams inside the rack */
    bool loop;            /* IP_MULTICAST_LOOP: receivers on this same host (demo, tests) */
    int sndbuf;           /* requested SO_SNDBUF bytes; 0 leaves the default */
};

typedef struct crow_udp_tx crow_udp_tx_t;
int crow_udp_tx_open(crow_loop_t *loop, crow_udp_tx_t **out, const struct crow_udp_tx_config *cfg);
/* Sends `count` datagrams laid out back to back in `buf`: every one `seg_len` bytes except the last,
 * which may be shorter (total `len`), to `dest`. Uses one GSO send when available and count > 1.
 * `op` fires once when the kernel took them all: res = bytes sent, or -errno. `buf` must stay valid
 * until then. At most 64 datagrams per call. */
int crow_udp_tx_send(crow_udp_tx_t *tx, crow_op_t *op, const struct sockaddr_in *dest, const void *buf,
                     size_t len, uint16_t seg_len);
bool crow_udp_tx_gso(const crow_udp_tx_t *tx);
/* The MTU (SIOCGIFMTU) of the interface that holds local address `addr`, and its name into
 * name[0..IF_NAMESIZE). Returns 0, -ENODEV when no interface has that address, or -errno. */
int crow_udp_iface_mtu(struct in_addr addr, char *name, unsigned *mtu);
void crow_udp_tx_close(crow_udp_tx_t *tx);

#endif
