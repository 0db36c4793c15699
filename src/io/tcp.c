/* Buffered TCP connections and listeners over io_uring recv/send/accept/connect, optionally TLS.
 *
 * A connection is freed only when none of its operations is pending and no handler of it is running,
 * so an owner may close it from inside any handler. With TLS, recv lands in the session's ciphertext
 * buffer and send reads from it (tls_session.h, zero-copy); the handlers see the plaintext buffers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/tcp.h"

struct crow_tcp_conn {
    crow_loop_t *loop;
    int fd;
    crow_op_t rd, wr, cn;
    uint8_t *in, *out;
    size_t in_cap, in_head, in_tail;
    size_t out_cap, out_head, out_tail, out_sending;
    /* in_handler: an owner's handler or call is running above us, so c must stay allocated and
     * on_close must wait; an error met then is kept in deferred_err until it returns. */
    bool paused, closing, flush_then_close, in_handler, deferred;
    int deferred_err;
    crow_tls_session_t *tls; /* NULL: plain TCP */
    bool tls_notified;       /* close_notify queued */
    struct crow_tcp_handlers h;
    void *ctx;
    struct sockaddr_in peer, local;
    uint64_t bytes_in, bytes_out;
};

static bool idle(const crow_tcp_conn_t *c)
{
    return !crow_op_pending(&c->rd) && !crow_op_pending(&c->wr) && !crow_op_pending(&c->cn) && !c->in_handler;
}

static void release(crow_tcp_conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    crow_tls_session_free(c->tls);
    free(c->in);
    free(c->out);
    free(c);
}

/* Frees the connection when it can; otherwise cancels what is pending and frees on the last completion. */
static void reap(crow_tcp_conn_t *c)
{
    if (idle(c)) {
        release(c);
        return;
    }
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR); /* makes pending recv/send complete at once */
    crow_io_cancel(c->loop, &c->rd);
    crow_io_cancel(c->loop, &c->wr);
    crow_io_cancel(c->loop, &c->cn);
}

/* Ends the connection for a reason the owner has not asked for: tells it once, then reaps. While a
 * handler or an owner's call runs, the owner must not hear of it yet (it may free what the running
 * code still uses): the error waits for after_handler, or, from an owner's call, for a completion
 * that the shutdown brings. */
static void fail(crow_tcp_conn_t *c, int err)
{
    if (c->closing)
        return;
    if (c->in_handler) {
        if (!c->deferred) {
            c->deferred = true;
            c->deferred_err = err;
        }
        return;
    }
    c->closing = true;
    c->in_handler = true;
    c->h.on_close(c->ctx, c, err);
    c->in_handler = false;
    reap(c);
}

/* At a completion, or after a handler: a close asked for meanwhile, or an error kept from a handler or
 * an owner's call, ends the connection now. True when it ended (the caller must not touch it again). */
static bool deferred_failure(crow_tcp_conn_t *c)
{
    if (c->closing) {
        reap(c);
        return true;
    }
    if (c->deferred) {
        fail(c, c->deferred_err);
        return true;
    }
    return false;
}

static bool after_handler(crow_tcp_conn_t *c)
{
    c->in_handler = false;
    return deferred_failure(c);
}

/* Ends an owner's call into the connection (write, commit, close_after_flush, resume). */
static void end_owner_call(crow_tcp_conn_t *c, bool outer)
{
    c->in_handler = outer;
    if (!outer && c->deferred && !c->closing && c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR); /* the pending recv completes, and reports the error */
}

static void arm_recv(crow_tcp_conn_t *c);
static void arm_send(crow_tcp_conn_t *c);
static void tls_pump(crow_tcp_conn_t *c);

/* Hands the unconsumed input to the owner. Returns false when the connection ended. */
static bool deliver(crow_tcp_conn_t *c)
{
    c->in_handler = true;
    long used = c->h.on_data(c->ctx, c, c->in + c->in_head, c->in_tail - c->in_head);
    if (after_handler(c))
        return false;
    if (used < 0) {
        fail(c, (int)used);
        return false;
    }
    c->in_head += (size_t)used;
    if (c->in_head == c->in_tail)
        c->in_head = c->in_tail = 0;
    if (c->in_head == 0 && c->in_tail == c->in_cap) {
        fail(c, CROW_ELIMIT);
        return false;
    }
    return true;
}

static void on_recv(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    crow_tcp_conn_t *c = op->owner;
    if (deferred_failure(c))
        return;
    if (res <= 0) {
        fail(c, res == 0 ? CROW_ECLOSED : res);
        return;
    }
    c->bytes_in += (uint64_t)res;
    if (c->tls) {
        crow_tls_session_in_commit(c->tls, (size_t)res);
        tls_pump(c);
        return;
    }
    c->in_tail += (size_t)res;
    if (deliver(c))
        arm_recv(c);
}

static void compact_in(crow_tcp_conn_t *c)
{
    if (c->in_head) {
        memmove(c->in, c->in + c->in_head, c->in_tail - c->in_head);
        c->in_tail -= c->in_head;
        c->in_head = 0;
    }
}

static void arm_recv(crow_tcp_conn_t *c)
{
    if (c->paused || c->closing || crow_op_pending(&c->rd))
        return;
    uint8_t *dst = c->in + c->in_tail;
    size_t room;
    if (c->tls) {
        /* No room: the session holds a full buffer it has not decrypted; tls_pump reads it first. */
        if (!(room = crow_tls_session_in_room(c->tls, &dst)))
            return;
    } else {
        compact_in(c);
        dst = c->in + c->in_tail;
        room = c->in_cap - c->in_tail;
    }
    int ret = crow_io_recv(c->loop, &c->rd, c->fd, dst, room, 0);
    if (ret)
        fail(c, ret);
}

/* The session failed: says why, sends what it left (its alert) if the socket takes it at once,
 * and closes with CROW_ETLS. */
static void tls_fail(crow_tcp_conn_t *c)
{
    char peer[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &c->peer.sin_addr, peer, sizeof peer);
    const char *why = crow_tls_session_why(c->tls);
    if (crow_tls_session_is_server(c->tls))
        crow_log_debug("TLS from %s:%u: %s", peer, ntohs(c->peer.sin_port), why);
    else
        crow_log_warn("TLS with %s:%u: %s", peer, ntohs(c->peer.sin_port), why);
    const uint8_t *p;
    size_t n = crow_op_pending(&c->wr) ? 0 : crow_tls_session_out_peek(c->tls, &p);
    if (n && send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
        c->bytes_out += n;
    fail(c, CROW_ETLS);
}

/* Encrypts the plaintext output into the session and sends its ciphertext (one send in flight).
 * Returns false when the connection failed (freed, unless a handler or an owner's call runs). */
static bool tls_send(crow_tcp_conn_t *c)
{
    if (c->closing)
        return false;
    if (crow_op_pending(&c->cn))
        return true;
    while (c->out_head < c->out_tail) {
        long w = crow_tls_session_write(c->tls, c->out + c->out_head, c->out_tail - c->out_head);
        if (w < 0) {
            tls_fail(c);
            return false;
        }
        if (w == 0)
            break;
        c->out_head += (size_t)w;
    }
    if (c->out_head == c->out_tail) {
        c->out_head = c->out_tail = 0;
        if (c->flush_then_close && !c->tls_notified) {
            c->tls_notified = true;
            crow_tls_session_close(c->tls);
        }
    }
    const uint8_t *p;
    size_t n;
    if (crow_op_pending(&c->wr) || !(n = crow_tls_session_out_peek(c->tls, &p)))
        return true;
    int ret = crow_io_send(c->loop, &c->wr, c->fd, p, n, 0);
    if (ret) {
        fail(c, ret);
        return false;
    }
    return true;
}

/* Moves TLS input along: decrypts into the input buffer, tells the owner of the handshake and of new
 * plaintext, sends what the session answers, and reads again. Runs until the session wants more
 * ciphertext (it may hold more plaintext than the input buffer takes at once). */
static void tls_pump(crow_tcp_conn_t *c)
{
    for (;;) {
        bool was_ready = crow_tls_session_ready(c->tls);
        compact_in(c);
        long r = CROW_EMORE;
        size_t got = 0;
        while (c->in_tail < c->in_cap &&
               (r = crow_tls_session_read(c->tls, c->in + c->in_tail, c->in_cap - c->in_tail)) > 0) {
            c->in_tail += (size_t)r;
            got += (size_t)r;
        }
        if (r == CROW_ETLS) {
            tls_fail(c);
            return;
        }
        if (!was_ready && crow_tls_session_ready(c->tls) && c->h.on_secure) {
            c->in_handler = true;
            c->h.on_secure(c->ctx, c);
            if (after_handler(c))
                return;
        }
        /* handshake messages, and output the owner queued before the handshake ended */
        if (!tls_send(c))
            return;
        if (got && !deliver(c))
            return;
        if (r == CROW_ECLOSED) {
            fail(c, CROW_ECLOSED);
            return;
        }
        if (!got || r == CROW_EMORE)
            break;
    }
    arm_recv(c);
}

/* Called when the output emptied: the owner's flush-then-close or on_drain. Returns false when the
 * connection ended. */
static bool drained(crow_tcp_conn_t *c)
{
    if (c->flush_then_close) {
        fail(c, 0);
        return false;
    }
    if (c->h.on_drain) {
        c->in_handler = true;
        c->h.on_drain(c->ctx, c);
        if (after_handler(c))
            return false;
    }
    return true;
}

static void on_send(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    crow_tcp_conn_t *c = op->owner;
    if (deferred_failure(c))
        return;
    if (res < 0) {
        fail(c, res);
        return;
    }
    c->bytes_out += (uint64_t)res;
    if (c->tls) {
        crow_tls_session_out_consume(c->tls, (size_t)res);
        if (!crow_tls_session_ready(c->tls)) {
            tls_pump(c); /* a handshake flight larger than the buffer goes on */
            return;
        }
        if (!tls_send(c) || crow_op_pending(&c->wr) || c->out_head != c->out_tail)
            return;
        if (drained(c))
            tls_send(c);
        return;
    }
    c->out_head += (size_t)res;
    c->out_sending = 0;
    if (c->out_head == c->out_tail) {
        c->out_head = c->out_tail = 0;
        if (!drained(c))
            return;
    }
    arm_send(c);
}

static void arm_send(crow_tcp_conn_t *c)
{
    if (c->tls) {
        tls_send(c);
        return;
    }
    if (c->closing || c->out_sending || c->out_head == c->out_tail || crow_op_pending(&c->cn))
        return;
    c->out_sending = c->out_tail - c->out_head;
    int ret = crow_io_send(c->loop, &c->wr, c->fd, c->out + c->out_head, c->out_sending, 0);
    if (ret) {
        c->out_sending = 0;
        fail(c, ret);
    }
}

static void on_connected(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    crow_tcp_conn_t *c = op->owner;
    if (c->closing) {
        reap(c);
        return;
    }
    if (res == 0) {
        socklen_t len = sizeof c->local;
        getsockname(c->fd, (struct sockaddr *)&c->local, &len);
    }
    c->in_handler = true;
    if (c->h.on_connect)
        c->h.on_connect(c->ctx, c, res);
    c->in_handler = false;
    if (res < 0 || c->closing) {
        c->closing = true;
        reap(c);
        return;
    }
    if (deferred_failure(c))
        return;
    if (c->tls) {
        tls_pump(c); /* writes the client's hello */
        return;
    }
    arm_recv(c);
    arm_send(c);
}

static int conn_new(crow_loop_t *loop, crow_tcp_conn_t **out, int fd, const struct crow_tcp_config *cfg,
                    const struct crow_tcp_handlers *h, void *ctx, const struct sockaddr_in *to)
{
    crow_tcp_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->fd = -1;
    c->in = malloc(cfg->in_cap);
    c->out = malloc(cfg->out_cap);
    int ret = -ENOMEM;
    if (!c->in || !c->out)
        goto fail;
    if (cfg->tls) {
        char name[INET_ADDRSTRLEN];
        if (to && !cfg->tls_name)
            inet_ntop(AF_INET, &to->sin_addr, name, sizeof name);
        if ((ret =
                 crow_tls_session_new(&c->tls, cfg->tls, to ? (cfg->tls_name ? cfg->tls_name : name) : NULL)))
            goto fail;
    }
    c->loop = loop;
    c->fd = fd;
    c->in_cap = cfg->in_cap;
    c->out_cap = cfg->out_cap;
    c->h = *h;
    c->ctx = ctx;
    crow_op_init(&c->rd, on_recv, c);
    crow_op_init(&c->wr, on_send, c);
    crow_op_init(&c->cn, on_connected, c);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *out = c;
    return 0;
fail:
    release(c);
    return ret;
}

int crow_tcp_connect(crow_loop_t *loop, crow_tcp_conn_t **out, const struct sockaddr_in *from,
                     const struct sockaddr_in *to, const struct crow_tcp_config *cfg,
                     const struct crow_tcp_handlers *h, void *ctx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (from && bind(fd, (const struct sockaddr *)from, sizeof *from)) {
        int ret = -errno;
        close(fd);
        return ret;
    }
    crow_tcp_conn_t *c;
    int ret = conn_new(loop, &c, fd, cfg, h, ctx, to);
    if (ret) {
        close(fd);
        return ret;
    }
    c->peer = *to;
    ret = crow_io_connect(loop, &c->cn, fd, (const struct sockaddr *)&c->peer, sizeof c->peer);
    if (ret) {
        release(c);
        return ret;
    }
    *out = c;
    return 0;
}

int crow_tcp_adopt(crow_loop_t *loop, crow_tcp_conn_t **out, int fd, const struct crow_tcp_config *cfg,
                   const struct crow_tcp_handlers *h, void *ctx)
{
    crow_tcp_conn_t *c;
    int ret = conn_new(loop, &c, fd, cfg, h, ctx, NULL);
    if (ret)
        return ret;
    socklen_t len = sizeof c->peer;
    getpeername(fd, (struct sockaddr *)&c->peer, &len);
    len = sizeof c->local;
    getsockname(fd, (struct sockaddr *)&c->local, &len);
    arm_recv(c);
    *out = c;
    return 0;
}

void crow_tcp_close(crow_tcp_conn_t *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    reap(c);
}

void crow_tcp_close_after_flush(crow_tcp_conn_t *c)
{
    if (c->closing)
        return;
    c->flush_then_close = true;
    bool outer = c->in_handler;
    c->in_handler = true;
    if (c->tls)
        tls_send(c); /* queues close_notify once the plaintext is encrypted */
    bool empty = c->tls ? !crow_op_pending(&c->wr) && c->out_head == c->out_tail
                        : c->out_head == c->out_tail && !c->out_sending;
    end_owner_call(c, outer);
    if (empty)
        fail(c, 0);
}

static void compact_out(crow_tcp_conn_t *c)
{
    if (c->out_sending || c->out_head == 0)
        return;
    memmove(c->out, c->out + c->out_head, c->out_tail - c->out_head);
    c->out_tail -= c->out_head;
    c->out_head = 0;
}

size_t crow_tcp_out_space(const crow_tcp_conn_t *c)
{
    return c->out_cap - c->out_tail + (c->out_sending ? 0 : c->out_head);
}

size_t crow_tcp_out_pending(const crow_tcp_conn_t *c)
{
    return c->out_tail - c->out_head + (c->tls ? crow_tls_session_out_pending(c->tls) : 0);
}

uint8_t *crow_tcp_reserve(crow_tcp_conn_t *c, size_t len)
{
    if (c->out_cap - c->out_tail < len)
        compact_out(c);
    return c->out_cap - c->out_tail < len ? NULL : c->out + c->out_tail;
}

void crow_tcp_commit(crow_tcp_conn_t *c, size_t len)
{
    c->out_tail += len;
    bool outer = c->in_handler;
    c->in_handler = true;
    arm_send(c);
    end_owner_call(c, outer);
}

int crow_tcp_write(crow_tcp_conn_t *c, const void *data, size_t len)
{
    uint8_t *dst = crow_tcp_reserve(c, len);
    if (!dst)
        return CROW_ESPACE;
    memcpy(dst, data, len);
    crow_tcp_commit(c, len);
    return 0;
}

void crow_tcp_pause(crow_tcp_conn_t *c)
{
    c->paused = true;
}

void crow_tcp_resume(crow_tcp_conn_t *c)
{
    c->paused = false;
    if (!crow_op_pending(&c->cn) && !c->in_handler) {
        c->in_handler = true;
        arm_recv(c);
        end_owner_call(c, false);
    }
}

const struct sockaddr_in *crow_tcp_peer(const crow_tcp_conn_t *c)
{
    return &c->peer;
}
const struct sockaddr_in *crow_tcp_local(const crow_tcp_conn_t *c)
{
    return &c->local;
}
uint64_t crow_tcp_bytes_in(const crow_tcp_conn_t *c)
{
    return c->bytes_in;
}
uint64_t crow_tcp_bytes_out(const crow_tcp_conn_t *c)
{
    return c->bytes_out;
}
void crow_tcp_set_ctx(crow_tcp_conn_t *c, void *ctx)
{
    c->ctx = ctx;
}

/* ---- listener ---- */

struct crow_tcp_listener {
    crow_loop_t *loop;
    int fd;
    bool closing;
    crow_op_t op;
    struct sockaddr_in addr, peer;
    socklen_t peer_len;
    crow_tcp_accept_fn fn;
    void *ctx;
};

static void arm_accept(crow_tcp_listener_t *l)
{
    l->peer_len = sizeof l->peer;
    crow_io_accept(l->loop, &l->op, l->fd, (struct sockaddr *)&l->peer, &l->peer_len);
}

static void on_accept(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    crow_tcp_listener_t *l = op->owner;
    if (l->closing) {
        if (res >= 0)
            close(res);
        close(l->fd);
        free(l);
        return;
    }
    if (res >= 0)
        l->fn(l->ctx, res, &l->peer);
    else if (res != -EINTR && res != -EAGAIN && res != -ECONNABORTED)
        l->fn(l->ctx, res, NULL);
    if (!l->closing)
        arm_accept(l);
    else if (!crow_op_pending(&l->op)) {
        close(l->fd);
        free(l);
    }
}

/* A process killed with its accept armed in io_uring keeps its listening socket alive until the
 * kernel tears the ring down, asynchronously, a moment after the process is reaped: a restart
 * right after a crash (systemd, a test) meets EADDRINUSE despite SO_REUSEADDR. Wait that out, for
 * a bounded time, before the loop serves anything. */
#define BIND_RETRY_MS      10000
#define BIND_RETRY_STEP_MS 50

static int bind_retrying(int fd, const struct sockaddr_in *addr)
{
    for (int waited = 0;; waited += BIND_RETRY_STEP_MS) {
        if (!bind(fd, (const struct sockaddr *)addr, sizeof *addr))
            return 0;
        if (errno != EADDRINUSE || waited >= BIND_RETRY_MS)
            return -1;
        if (!waited)
            crow_log_warn("%s:%u in use (its previous owner may still be closing): retrying for up to %d s",
                          inet_ntoa(addr->sin_addr), ntohs(addr->sin_port), BIND_RETRY_MS / 1000);
        struct timespec step = {0, BIND_RETRY_STEP_MS * 1000000L};
        nanosleep(&step, NULL);
    }
}

int crow_tcp_listen(crow_loop_t *loop, crow_tcp_listener_t **out, const struct sockaddr_in *addr, int backlog,
                    crow_tcp_accept_fn fn, void *ctx)
{
    crow_tcp_listener_t *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    int ret = 0, one = 1;
    l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    socklen_t len = sizeof l->addr;
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind_retrying(l->fd, addr) || listen(l->fd, backlog) ||
        getsockname(l->fd, (struct sockaddr *)&l->addr, &len)) {
        ret = -errno;
        if (l->fd >= 0)
            close(l->fd);
        free(l);
        return ret;
    }
    l->loop = loop;
    l->fn = fn;
    l->ctx = ctx;
    crow_op_init(&l->op, on_accept, l);
    arm_accept(l);
    *out = l;
    return 0;
}

const struct sockaddr_in *crow_tcp_listener_addr(const crow_tcp_listener_t *l)
{
    return &l->addr;
}

void crow_tcp_listener_close(crow_tcp_listener_t *l)
{
    if (!l)
        return;
    l->closing = true;
    if (!crow_op_pending(&l->op)) {
        close(l->fd);
        free(l);
        return;
    }
    crow_io_cancel(l->loop, &l->op);
}

uint16_t crow_tcp_free_port(uint32_t addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr)};
    socklen_t len = sizeof a;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

bool crow_tcp_accepts(const struct sockaddr_in *to)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, (const struct sockaddr *)to, sizeof *to) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}
