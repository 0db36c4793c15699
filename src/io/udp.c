/* UDP multicast receive and send on the event loop.
 *
 * Receive: a multishot recvmsg over a provided-buffer ring where the kernel has it, otherwise a fixed
 * set of recvmsg operations re-armed after each datagram. SO_RXQ_OVFL carries the socket's drop
 * counter in every datagram's control data. With UDP_GRO (multishot only, when asked), one buffer
 * may hold a run of datagrams of one size (the last may be shorter), as a sender's GSO burst or the
 * NIC's GRO built it; the UDP_GRO control message gives that size, and each datagram is cut out and
 * judged alone (one longer than buffer_size counts as truncated, as without GRO).
 * Send: one sendmsg per GSO burst (UDP_SEGMENT in the control data) or per datagram.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/udp.h"
#include "loop_internal.h"

/* ---- receiver ---- */

#define RX_CONTROL_SPACE (CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int)))
#define RX_GRO_BYTES     65535u     /* the largest run of datagrams GRO hands over in one buffer */
#define RX_GRO_RING      (8u << 20) /* bytes of GRO buffers: 128 of 64 KiB */

struct rx_slot {
    crow_op_t op;
    struct crow_udp_rx *rx;
    struct msghdr msg;
    struct iovec iov;
    struct sockaddr_in from;
    uint8_t control[RX_CONTROL_SPACE];
    uint8_t *buf;
};

struct crow_udp_rx {
    crow_loop_t *loop;
    int fd;
    bool closing;
    crow_udp_rx_fn fn;
    void *ctx;
    struct crow_udp_rx_stats stats;
    uint32_t last_ovfl;
    size_t max_len; /* the longest datagram taken: buffer_size */
    /* multishot */
    crow_op_t op;
    crow_bufring_t *ring;
    struct msghdr tmpl;
    /* fallback */
    struct rx_slot *slots;
    unsigned nslots;
    uint8_t *slot_buffers;
};

static bool rx_idle(const struct crow_udp_rx *rx)
{
    if (crow_op_pending(&rx->op))
        return false;
    for (unsigned i = 0; i < rx->nslots; i++)
        if (crow_op_pending(&rx->slots[i].op))
            return false;
    return true;
}

static void rx_free(struct crow_udp_rx *rx)
{
    if (rx->fd >= 0)
        close(rx->fd);
    crow_bufring_free(rx->loop, rx->ring);
    free(rx->slots);
    free(rx->slot_buffers);
    free(rx);
}

/* Reads one control message: SO_RXQ_OVFL (a running count of the socket's drops) or UDP_GRO (the
 * size of each datagram in the buffer, into *gso). */
static void account_cmsg(struct crow_udp_rx *rx, const struct cmsghdr *cm, size_t *gso)
{
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
        uint32_t total;
        memcpy(&total, CMSG_DATA(cm), sizeof total);
        rx->stats.kernel_drops += (uint32_t)(total - rx->last_ovfl);
        rx->last_ovfl = total;
    } else if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
        int size;
        memcpy(&size, CMSG_DATA(cm), sizeof size);
        *gso = size > 0 ? (size_t)size : 0;
    }
}

static void deliver_one(struct crow_udp_rx *rx, const uint8_t *data, size_t len, bool truncated,
                        const struct sockaddr_in *from)
{
    if (truncated || len > rx->max_len) {
        rx->stats.truncated++;
        return;
    }
    rx->stats.datagrams++;
    rx->stats.bytes += len;
    rx->fn(rx->ctx, data, len, from);
}

/* Hands over the datagrams of one buffer: len bytes, in datagrams of gso bytes (0: one datagram). */
static void deliver(struct crow_udp_rx *rx, const uint8_t *data, size_t len, size_t gso, bool truncated,
                    const struct sockaddr_in *from)
{
    if (gso == 0 || gso >= len) {
        deliver_one(rx, data, len, truncated, from);
        return;
    }
    rx->stats.gro_buffers++;
    for (size_t off = 0; off < len && !rx->closing; off += gso)
        deliver_one(rx, data + off, len - off < gso ? len - off : gso, truncated, from);
}

static int rx_arm_multishot(struct crow_udp_rx *rx)
{
    return crow_io_recvmsg_multishot(rx->loop, &rx->op, rx->fd, &rx->tmpl, rx->ring);
}

static void on_multishot(crow_op_t *op, int res, unsigned flags)
{
    struct crow_udp_rx *rx = op->owner;
    if (res >= 0 && (flags & CROW_OP_BUFFER)) {
        unsigned id = flags >> 16;
        uint8_t *buf = crow_bufring_buffer(rx->ring, id);
        struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, res, &rx->tmpl);
        if (o && !rx->closing) {
            size_t gso = 0;
            for (struct cmsghdr *cm = io_uring_recvmsg_cmsg_firsthdr(o, &rx->tmpl); cm;
                 cm = io_uring_recvmsg_cmsg_nexthdr(o, &rx->tmpl, cm))
                account_cmsg(rx, cm, &gso);
            struct sockaddr_in from;
            memcpy(&from, io_uring_recvmsg_name(o), sizeof from);
            deliver(rx, io_uring_recvmsg_payload(o, &rx->tmpl),
                    io_uring_recvmsg_payload_length(o, res, &rx->tmpl), gso, o->flags & MSG_TRUNC, &from);
        }
        crow_bufring_recycle(rx->ring, id);
    }
    if (flags & CROW_OP_MORE)
        return;
    if (rx->closing) {
        if (rx_idle(rx))
            rx_free(rx);
        return;
    }
    /* The multishot ended (ENOBUFS when every buffer was in use, or an error): re-arm. */
    if (res < 0 && res != -ENOBUFS && res != -EINTR)
        fprintf(stderr, "crowcast: multicast receive: %s; re-arming\n", strerror(-res));
    rx_arm_multishot(rx);
}

static void rx_arm_slot(struct rx_slot *s)
{
    s->msg = (struct msghdr){.msg_name = &s->from,
                             .msg_namelen = sizeof s->from,
                             .msg_iov = &s->iov,
                             .msg_iovlen = 1,
                             .msg_control = s->control,
                             .msg_controllen = sizeof s->control};
    crow_io_recvmsg(s->rx->loop, &s->op, s->rx->fd, &s->msg, 0);
}

static void on_slot(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct rx_slot *s = op->owner;
    struct crow_udp_rx *rx = s->rx;
    if (rx->closing) {
        if (rx_idle(rx))
            rx_free(rx);
        return;
    }
    if (res >= 0) {
        size_t gso = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&s->msg); cm; cm = CMSG_NXTHDR(&s->msg, cm))
            account_cmsg(rx, cm, &gso);
        deliver(rx, s->buf, (size_t)res, gso, s->msg.msg_flags & MSG_TRUNC, &s->from);
    }
    rx_arm_slot(s);
}

static int open_rx_socket(const struct crow_udp_rx_config *cfg, int *granted)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int one = 1, zero = 0, ret;
    struct ip_mreqn mreq = {.imr_multiaddr = cfg->group.sin_addr, .imr_address = cfg->iface};
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero) ||
        setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one))
        goto fail;
    if (cfg->rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &cfg->rcvbuf, sizeof cfg->rcvbuf))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cfg->rcvbuf, sizeof cfg->rcvbuf);
    socklen_t glen = sizeof *granted;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, granted, &glen);
    /* Binding to the group address (not INADDR_ANY) keeps other groups on the same port out. */
    if (bind(fd, (const struct sockaddr *)&cfg->group, sizeof cfg->group) ||
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq))
        goto fail;
    return fd;
fail:
    ret = -errno;
    close(fd);
    return ret;
}

static int rx_start_fallback(struct crow_udp_rx *rx, const struct crow_udp_rx_config *cfg)
{
    rx->nslots = cfg->buffers < 64 ? cfg->buffers : 64;
    rx->slots = calloc(rx->nslots, sizeof *rx->slots);
    rx->slot_buffers = malloc((size_t)rx->nslots * cfg->buffer_size);
    if (!rx->slots || !rx->slot_buffers)
        return -ENOMEM;
    for (unsigned i = 0; i < rx->nslots; i++) {
        struct rx_slot *s = &rx->slots[i];
        crow_op_init(&s->op, on_slot, s);
        s->rx = rx;
        s->buf = rx->slot_buffers + (size_t)i * cfg->buffer_size;
        s->iov = (struct iovec){.iov_base = s->buf, .iov_len = cfg->buffer_size};
        rx_arm_slot(s);
    }
    return 0;
}

int crow_udp_rx_open(crow_loop_t *loop, crow_udp_rx_t **out, const struct crow_udp_rx_config *cfg,
                     crow_udp_rx_fn fn, void *ctx)
{
    static uint16_t next_group = 1;
    struct crow_udp_rx *rx = calloc(1, sizeof *rx);
    if (!rx)
        return -ENOMEM;
    rx->fd = -1;
    rx->loop = loop;
    rx->fn = fn;
    rx->ctx = ctx;
    rx->max_len = cfg->buffer_size;
    crow_op_init(&rx->op, on_multishot, rx);
    int ret = rx->fd = open_rx_socket(cfg, &rx->stats.rcvbuf);
    if (ret < 0)
        goto fail;
    if (loop->features.multishot_recv) {
        /* A GRO buffer must hold the longest run the kernel may hand over, or the rest of the run is
         * lost: fewer, larger buffers (each read brings up to 64 KiB of datagrams). */
        int one = 1;
        rx->stats.gro = cfg->gro && setsockopt(rx->fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
        unsigned payload = rx->stats.gro ? RX_GRO_BYTES : cfg->buffer_size;
        unsigned count = rx->stats.gro ? RX_GRO_RING / (RX_GRO_BYTES + 1) : cfg->buffers;
        /* Each buffer holds the recvmsg header, the source address and control data, then the payload;
         * its size is rounded up to a cache line so that every buffer, and the header at its start,
         * stays aligned whatever the payload size (an odd --buffer size misaligned them all). */
        unsigned size = (unsigned)(sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_in) +
                                   RX_CONTROL_SPACE + payload + 63u) &
                        ~63u;
        rx->tmpl.msg_namelen = sizeof(struct sockaddr_in);
        rx->tmpl.msg_controllen = RX_CONTROL_SPACE;
        ret = crow_bufring_new(loop, &rx->ring, count, size, next_group++);
        if (ret == 0 && (ret = rx_arm_multishot(rx)) == 0) {
            rx->stats.multishot = true;
            *out = rx;
            return 0;
        }
        crow_bufring_free(loop, rx->ring);
        rx->ring = NULL;
        if (rx->stats.gro) { /* the fallback's buffers are buffer_size: no GRO there */
            int zero = 0;
            setsockopt(rx->fd, SOL_UDP, UDP_GRO, &zero, sizeof zero);
            rx->stats.gro = false;
        }
    }
    if ((ret = rx_start_fallback(rx, cfg)) == 0) {
        *out = rx;
        return 0;
    }
fail:
    rx_free(rx);
    return ret;
}

void crow_udp_rx_get_stats(const crow_udp_rx_t *rx, struct crow_udp_rx_stats *out)
{
    *out = rx->stats;
}

void crow_udp_rx_close(crow_udp_rx_t *rx)
{
    if (!rx)
        return;
    rx->closing = true;
    if (rx_idle(rx)) {
        rx_free(rx);
        return;
    }
    crow_io_cancel(rx->loop, &rx->op);
    for (unsigned i = 0; i < rx->nslots; i++)
        crow_io_cancel(rx->loop, &rx->slots[i].op);
}

/* ---- sender ---- */

#define TX_MAX_DATAGRAMS 64
#define TX_MAX_GSO_BYTES 65000 /* a GSO send must fit one 64 KiB IP packet */
#define TX_BATCHES       64

struct tx_batch {
    crow_op_t op; /* every sendmsg of the batch; done when none is pending */
    struct crow_udp_tx *tx;
    crow_op_t *user;
    int result;
    bool busy;
    struct sockaddr_in dest;
    struct msghdr msgs[TX_MAX_DATAGRAMS];
    struct iovec iovs[TX_MAX_DATAGRAMS];
    union {
        uint8_t bytes[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control[TX_MAX_DATAGRAMS];
};

struct crow_udp_tx {
    crow_loop_t *loop;
    int fd;
    bool gso;
    struct tx_batch *batches;
};

static void on_batch_sent(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct tx_batch *b = op->owner;
    if (res < 0 && b->result >= 0)
        b->result = res;
    else if (b->result >= 0)
        b->result += res;
    if (crow_op_pending(op))
        return;
    b->busy = false;
    crow_op_t *user = b->user;
    user->pending--;
    user->fn(user, b->result, 0);
}

int crow_udp_tx_open(crow_loop_t *loop, crow_udp_tx_t **out, const struct crow_udp_tx_config *cfg)
{
    struct crow_udp_tx *tx = calloc(1, sizeof *tx);
    if (!tx)
        return -ENOMEM;
    tx->loop = loop;
    tx->fd = -1;
    tx->batches = calloc(TX_BATCHES, sizeof *tx->batches);
    int ret = -ENOMEM;
    if (!tx->batches)
        goto fail;
    tx->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (tx->fd < 0) {
        ret = -errno;
        goto fail;
    }
    int ttl = cfg->ttl > 0 ? cfg->ttl : 1;
    int mloop = cfg->loop ? 1 : 0;
    struct ip_mreqn ifreq = {.imr_address = cfg->iface};
    if (setsockopt(tx->fd, IPPROTO_IP, IP_MULTICAST_IF, &ifreq, sizeof ifreq) ||
        setsockopt(tx->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) ||
        setsockopt(tx->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &mloop, sizeof mloop)) {
        ret = -errno;
        goto fail;
    }
    /* Bind the source address too, so nothing can leave from another interface. */
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = cfg->iface};
    if (bind(tx->fd, (struct sockaddr *)&src, sizeof src)) {
        ret = -errno;
        goto fail;
    }
    if (cfg->sndbuf > 0 && setsockopt(tx->fd, SOL_SOCKET, SO_SNDBUFFORCE, &cfg->sndbuf, sizeof cfg->sndbuf))
        setsockopt(tx->fd, SOL_SOCKET, SO_SNDBUF, &cfg->sndbuf, sizeof cfg->sndbuf);
    tx->gso = loop->features.udp_gso;
    for (unsigned i = 0; i < TX_BATCHES; i++) {
        crow_op_init(&tx->batches[i].op, on_batch_sent, &tx->batches[i]);
        tx->batches[i].tx = tx;
    }
    *out = tx;
    return 0;
fail:
    crow_udp_tx_close(tx);
    return ret;
}

bool crow_udp_tx_gso(const crow_udp_tx_t *tx)
{
    return tx->gso;
}

static struct tx_batch *free_batch(struct crow_udp_tx *tx)
{
    for (unsigned i = 0; i < TX_BATCHES; i++)
        if (!tx->batches[i].busy)
            return &tx->batches[i];
    return NULL;
}

/* Fills message m of the batch with bytes [off, off+n) of buf; seg > 0 adds a UDP_SEGMENT cmsg. */
static void prepare_message(struct tx_batch *b, unsigned m, const uint8_t *buf, size_t n, uint16_t seg)
{
    b->iovs[m] = (struct iovec){.iov_base = (void *)buf, .iov_len = n};
    b->msgs[m] = (struct msghdr){
        .msg_name = &b->dest, .msg_namelen = sizeof b->dest, .msg_iov = &b->iovs[m], .msg_iovlen = 1};
    if (seg) {
        b->msgs[m].msg_control = b->control[m].bytes;
        b->msgs[m].msg_controllen = sizeof b->control[m].bytes;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&b->msgs[m]);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof seg);
        memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    }
}

int crow_udp_tx_send(crow_udp_tx_t *tx, crow_op_t *op, const struct sockaddr_in *dest, const void *buf,
                     size_t len, uint16_t seg_len)
{
    if (seg_len == 0 || len == 0 || (len + seg_len - 1) / seg_len > TX_MAX_DATAGRAMS)
        return -EINVAL;
    struct tx_batch *b = free_batch(tx);
    if (!b)
        return -EBUSY;
    b->busy = true;
    b->user = op;
    b->result = 0;
    b->dest = *dest;
    const uint8_t *p = buf;
    size_t left = len;
    unsigned m = 0;
    size_t burst = tx->gso ? (TX_MAX_GSO_BYTES / seg_len) * seg_len : seg_len;
    while (left) {
        size_t n = left < burst ? left : burst;
        prepare_message(b, m, p, n, tx->gso && n > seg_len ? seg_len : 0);
        int ret = crow_io_sendmsg(tx->loop, &b->op, tx->fd, &b->msgs[m], 0);
        if (ret) {
            /* Nothing armed: undo; something armed: it completes and reports the error. */
            if (!crow_op_pending(&b->op)) {
                b->busy = false;
                return ret;
            }
            b->result = ret;
            break;
        }
        p += n;
        left -= n;
        m++;
    }
    op->pending++;
    return 0;
}

void crow_udp_tx_close(crow_udp_tx_t *tx)
{
    if (!tx)
        return;
    if (tx->fd >= 0)
        close(tx->fd);
    free(tx->batches);
    free(tx);
}

int crow_udp_iface_mtu(struct in_addr addr, char *name, unsigned *mtu)
{
    struct ifaddrs *all, *ifa;
    if (getifaddrs(&all))
        return -errno;
    int ret = -ENODEV;
    for (ifa = all; ifa; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET &&
            ((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr.s_addr == addr.s_addr)
            break;
    }
    if (ifa) {
        struct ifreq req = {0};
        snprintf(req.ifr_name, sizeof req.ifr_name, "%s", ifa->ifa_name);
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ret = fd < 0 ? -errno : ioctl(fd, SIOCGIFMTU, &req) ? -errno : 0;
        if (fd >= 0)
            close(fd);
        if (ret == 0) {
            snprintf(name, IF_NAMESIZE, "%s", req.ifr_name);
            *mtu = (unsigned)req.ifr_mtu;
        }
    }
    freeifaddrs(all);
    return ret;
}
