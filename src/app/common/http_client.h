/* HTTP/1.1 client on the loop, over TLS for https URLs: one request per connection (Connection: close), a
 * bounded response buffer, a deadline per request. Shared by the announce client and the rollout agent.
 */
#ifndef CROWCAST_APP_HTTP_CLIENT_H
#define CROWCAST_APP_HTTP_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "crowcast/control_auth.h"
#include "crowcast/http.h"
#include "crowcast/loop.h"
#include "crowcast/tls_session.h"

/* A server named by an http[s]://A.B.C.D[:PORT][/path] URL (IPv4 literal; port 80, or 443 for https). */
struct crow_http_client_server {
    struct sockaddr_in addr;
    char host[64];  /* for the Host header */
    char path[256]; /* the URL's path, "" when it has none */
    bool tls;       /* https: the server's certificate must chain to the process's CAs and name addr */
};

/* Parses url into *out. Returns 0 or CROW_EUSAGE (not http[s]://A.B.C.D[:PORT][/path], or a path
 * holding a space or a control byte: it could not be sent as a request target). */
int crow_http_client_parse_server(const char *url, struct crow_http_client_server *out);

/* The CAs every https request of this process trusts (the CLI's --tls-ca), owned from now on; without
 * it, the first https request loads the system's store. */
void crow_http_client_set_tls(crow_tls_session_ctx_t *ctx);

/* One finished request: err 0 and res (valid only during the callback), or err < 0 (connect,
 * timeout, CROW_EPARSE for a malformed response, CROW_ELIMIT over the response cap, CROW_ETLS for a
 * failed handshake or certificate check, whose reason is logged). */
typedef void (*crow_http_client_cb)(void *ctx, int err, const crow_http_response_t *res);

typedef struct crow_http_client crow_http_client_t;

/* response_cap: the largest response (head + body) accepted. The callback fires once per request
 * that crow_http_client_get armed, never from inside crow_http_client_get. */
int crow_http_client_new(crow_http_client_t **out, crow_loop_t *loop, size_t response_cap,
                         crow_http_client_cb cb, void *ctx);
/* Sends GET target (origin-form, e.g. "/announce?x=1") to server from local address bind.
 * Returns 0 (the callback will fire), CROW_EUSAGE while another request is in flight, or a
 * negative code when the connection could not be started (the callback will not fire). */
int crow_http_client_get(crow_http_client_t *c, const struct crow_http_client_server *server,
                         struct in_addr bind, const char *target, double timeout);
/* Sends METHOD target; with key, signed for the control plane (control_auth.h: the wall clock's
 * seconds and a fresh random nonce), and a 200 answer that does not carry the tracker's signature of
 * it is delivered as CROW_EHASH (logged). key must stay valid until the callback. Same returns as
 * crow_http_client_get. */
int crow_http_client_request(crow_http_client_t *c, const struct crow_http_client_server *server,
                             struct in_addr bind, const char *method, const char *target,
                             const crow_control_auth_key_t *key, double timeout);
bool crow_http_client_busy(const crow_http_client_t *c);
/* Abandons what is in flight (no callback); the memory is freed once the loop returned the timer. */
void crow_http_client_free(crow_http_client_t *c);

#endif
