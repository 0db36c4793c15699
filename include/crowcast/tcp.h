/* Buffered TCP connections and listeners on the event loop.
 *
 * A connection owns an input buffer (received bytes wait there until the handler consumes them) and
 * an output buffer (bytes appended by the owner are sent in order, one send in flight at a time).
 * Both are fixed at creation: memory per connection is bounded by configuration. Handlers never fire
 * after crow_tcp_close; on_close fires exactly once for a connection the peer or an error closed.
 *
 * A connection may carry TLS (crow_tcp_config.tls, a tls_session.h context): the buffers and
 * handlers then see plaintext; received ciphertext is decrypted into the input buffer, output is
 * encrypted as it is sent, close_after_flush ends with close_notify. A failed handshake, certificate
 * check or record closes the connection with CROW_ETLS (the reason is logged: a warning on the client
 * side, debug on the server side, where a stranger's junk is no news). Per connection TLS adds two
 * CROW_TLS_BUF ciphertext buffers and OpenSSL's state.
 *
 * An error that arises inside an owner's call (a write that fails to encrypt) never runs on_close from
 * within that call: the connection is shut down and on_close fires from the loop afterwards.
 */
#ifndef CROWCAST_TCP_H
#define CROWCAST_TCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/loop.h"
#include "crowcast/tls_session.h"

typedef struct crow_tcp_conn crow_tcp_conn_t;

struct crow_tcp_handlers {
    /* Outgoing connections: res 0 when connected, -errno when not (the connection is then closed:
     * on_close does not fire). May be NULL for accepted connections. */
    void (*on_connect)(void *ctx, crow_tcp_conn_t *c, int res);
    /* New input: bytes [data, data+len) are unconsumed input. Return how many were consumed, or a
     * negative code to close the connection with that reason. */
    long (*on_data)(void *ctx, crow_tcp_conn_t *c, const uint8_t *data, size_t len);
    /* The output buffer drained (may be NULL). */
    void (*on_drain)(void *ctx, crow_tcp_conn_t *c);
    /* The peer closed (err CROW_ECLOSED), an error occurred (-errno), input overflowed (CROW_ELIMIT)
     * or on_data returned a negative code. The connection is freed right after this returns. */
    void (*on_close)(void *ctx, crow_tcp_conn_t *c, int err);
    /* TLS only: the handshake completed (and the server's certificate checked out). May be NULL. */
    void (*on_secure)(void *ctx, crow_tcp_conn_t *c);
};

struct crow_tcp_config {
    size_t in_cap;  /* input buffer bytes: the largest message plus room for the next reads */
    size_t out_cap; /* output buffer bytes */
    /* TLS: a context (borrowed: needed only while the connection is created) of the role the
     * connection plays (accepted: server; connected: client), or NULL for plain TCP. */
    const crow_tls_session_ctx_t *tls;
    /* TLS client: the name the server's certificate must carry; NULL: the address connected to. */
    const char *tls_name;
};

/* Connects to `to` from local address `from` (port 0 = any; from may be NULL). */
int crow_tcp_connect(crow_loop_t *loop, crow_tcp_conn_t **out, const struct sockaddr_in *from,
                     const struct sockaddr_in *to, const struct crow_tcp_config *cfg,
                     const struct crow_tcp_handlers *h, void *ctx);
/* Wraps an accepted socket. */
int crow_tcp_adopt(crow_loop_t *loop, crow_tcp_conn_t **out, int fd, const struct crow_tcp_config *cfg,
                   const struct crow_tcp_handlers *h, void *ctx);
/* Closes at once: pending output is dropped, no handler fires afterwards. */
void crow_tcp_close(crow_tcp_conn_t *c);
/* Closes once the output buffer drained (or after an error); on_close fires then with 0. */
void crow_tcp_close_after_flush(crow_tcp_conn_t *c);

/* Room left in the output buffer. */
size_t crow_tcp_out_space(const crow_tcp_conn_t *c);
/* Bytes waiting in the output buffer (including the send in flight; with TLS, ciphertext too). */
size_t crow_tcp_out_pending(const crow_tcp_conn_t *c);
/* Appends bytes to the output buffer and starts sending. Returns 0 or CROW_ESPACE (nothing appended). */
int crow_tcp_write(crow_tcp_conn_t *c, const void *data, size_t len);
/* Zero-copy append: reserve `len` bytes, fill them, then commit exactly that many. */
uint8_t *crow_tcp_reserve(crow_tcp_conn_t *c, size_t len);
void crow_tcp_commit(crow_tcp_conn_t *c, size_t len);
/* Stops reading input until resumed (back-pressure while the owner cannot take more). */
void crow_tcp_pause(crow_tcp_conn_t *c);
void crow_tcp_resume(crow_tcp_conn_t *c);

const struct sockaddr_in *crow_tcp_peer(const crow_tcp_conn_t *c);
const struct sockaddr_in *crow_tcp_local(const crow_tcp_conn_t *c);
uint64_t crow_tcp_bytes_in(const crow_tcp_conn_t *c);
uint64_t crow_tcp_bytes_out(const crow_tcp_conn_t *c);
void crow_tcp_set_ctx(crow_tcp_conn_t *c, void *ctx);

/* Listener: accepts up to `max_conns` at a time is the caller's job; fn gets each new socket
 * (non-blocking, close-on-exec) and its address, or res < 0 on an accept error. */
typedef struct crow_tcp_listener crow_tcp_listener_t;
typedef void (*crow_tcp_accept_fn)(void *ctx, int fd, const struct sockaddr_in *peer);
int crow_tcp_listen(crow_loop_t *loop, crow_tcp_listener_t **out, const struct sockaddr_in *addr, int backlog,
                    crow_tcp_accept_fn fn, void *ctx);
/* The bound address (useful after listening on port 0). */
const struct sockaddr_in *crow_tcp_listener_addr(const crow_tcp_listener_t *l);
void crow_tcp_listener_close(crow_tcp_listener_t *l);

/* Blocking one-shot helpers, outside any loop (a launcher such as the demo, before its children run).
 * crow_tcp_free_port: a TCP port free on `addr` (host order) just now, or 0; nothing holds it, so another
 * process may take it first. crow_tcp_accepts: whether a connect to `to` succeeds now (the connection is
 * closed at once). */
uint16_t crow_tcp_free_port(uint32_t addr);
bool crow_tcp_accepts(const struct sockaddr_in *to);
#endif
