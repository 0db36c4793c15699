/* HTTP client: one request per connection (Connection: close), the response collected in a
 * buffer of fixed size, a timeout per request; https over the tcp layer's TLS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crowcast/ipv4.h"
#include "crowcast/clock.h"
#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/log.h"
#include "crowcast/tcp.h"
#include "crowcast/udp.h"
#include "http_client.h"

struct crow_http_client {
    crow_loop_t *loop;
    crow_http_client_cb cb;
    void *ctx;
    crow_tcp_conn_t *conn;
    crow_op_t timer;
    bool in_flight, freeing;
    uint64_t deadline_ns; /* of the request in flight */
    char request[8192];   /* a rollout start carries a 1 KiB plan and a path, percent-encoded */
    size_t request_len;
    size_t cap, len;
    uint8_t *response;
    const crow_control_auth_key_t
        *key; /* the request in flight was signed with it: its 200 answer must be too */
    char nonce[2 * CROW_AUTH_NONCE_LEN + 1];
};

/* The trusted CAs of https requests: --tls-ca, or the system's store once one is needed. */
static crow_tls_session_ctx_t *client_tls;

void crow_http_client_set_tls(crow_tls_session_ctx_t *ctx)
{
    crow_tls_session_ctx_free(client_tls);
    client_tls = ctx;
}

static const crow_tls_session_ctx_t *tls_ctx(void)
{
    char why[256];
    if (!client_tls && crow_tls_session_ctx_new_client(&client_tls, NULL, 0, why, sizeof why))
        crow_log_error("https: %s", why);
    return client_tls;
}

int crow_http_client_parse_server(const char *url, struct crow_http_client_server *out)
{
    const char *p = url;
    out->tls = strncmp(p, "https://", 8) == 0;
    if (!out->tls && strncmp(p, "http://", 7) != 0)
        return CROW_EUSAGE;
    p += out->tls ? 8 : 7;
    const char *slash = strchr(p, '/');
    size_t hostlen = slash ? (size_t)(slash - p) : strlen(p);
    if (hostlen == 0 || hostlen >= sizeof out->host)
        return CROW_EUSAGE;
    memcpy(out->host, p, hostlen);
    out->host[hostlen] = '\0';
    char endpoint[80];
    snprintf(endpoint, sizeof endpoint,
             strchr(out->host, ':') ? "%s"
             : out->tls             ? "%s:443"
                                    : "%s:80",
             out->host);
    if (crow_ipv4_parse_sockaddr(endpoint, &out->addr))
        return CROW_EUSAGE;
    if (snprintf(out->path, sizeof out->path, "%s", slash ? slash : "") >= (int)sizeof out->path)
        return CROW_EUSAGE;
    /* The path goes into the request line as it is: a space or a control byte (an announce URL comes
     * from anyone's .torrent) would end it and start headers of the URL's choosing. */
    for (const char *c = out->path; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return CROW_EUSAGE;
    return 0;
}

/* Ends the request in flight and reports it once. */
static void finish(struct crow_http_client *c, int err, const crow_http_response_t *res)
{
    if (!c->in_flight)
        return;
    c->in_flight = false;
    crow_io_cancel(c->loop, &c->timer);
    if (c->conn) {
        crow_tcp_close(c->conn);
        c->conn = NULL;
    }
    if (!c->freeing)
        c->cb(c->ctx, err, res);
}

/* A signed request's 200 answer must carry the tracker's MAC of it (control_auth.h): anyone on the path
 * could otherwise hand an agent orders. Refusals are not signed (the tracker may not know the key). */
static bool answer_signed(const struct crow_http_client *c, const crow_http_response_t *res)
{
    if (!c->key || res->status != 200)
        return true;
    const crow_http_str_t *h =
        crow_http_find_header(res->headers, res->header_count, CROW_AUTH_ANSWER_HEADER);
    char want[2 * CROW_HMAC_SHA256_LEN + 1];
    crow_control_auth_answer_mac(c->key->secret, c->nonce, res->status, res->body, res->body_len, want);
    return h && h->len == 2 * CROW_HMAC_SHA256_LEN &&
           crow_mac_equal((const uint8_t *)h->ptr, (const uint8_t *)want, h->len);
}

/* Delivers the response once it is complete, or whatever the end of the connection leaves (the
 * parser never asks for more bytes after eof). */
static void try_deliver(struct crow_http_client *c, bool eof, int close_err)
{
    crow_http_response_t res;
    crow_http_error_t herr;
    crow_http_limits_t limits = {.max_body = c->cap};
    /* Closed before a byte of the answer: say so, not "malformed input". */
    int ret = eof && c->len == 0 ? (close_err ? close_err : CROW_ECLOSED)
                                 : crow_http_parse_response(c->response, c->len, eof, &limits, &res, &herr);
    if (ret > 0 && !answer_signed(c, &res)) {
        crow_log_warn("a 200 answer without the tracker's signature (%s): dropped", CROW_AUTH_ANSWER_HEADER);
        ret = CROW_EHASH;
    }
    if (ret != CROW_EMORE)
        finish(c, ret > 0 ? 0 : ret, ret > 0 ? &res : NULL);
}

static long on_data(void *ctx, crow_tcp_conn_t *conn, const uint8_t *data, size_t len)
{
    (void)conn;
    struct crow_http_client *c = ctx;
    if (c->len + len > c->cap)
        return CROW_ELIMIT;
    memcpy(c->response + c->len, data, len);
    c->len += len;
    try_deliver(c, false, 0);
    return (long)len;
}

static void on_close(void *ctx, crow_tcp_conn_t *conn, int err)
{
    (void)conn;
    struct crow_http_client *c = ctx;
    c->conn = NULL; /* the tcp layer frees it */
    if (err == CROW_ELIMIT) {
        finish(c, CROW_ELIMIT, NULL);
        return;
    }
    try_deliver(c, true, err);
}

static void on_connect(void *ctx, crow_tcp_conn_t *conn, int res)
{
    struct crow_http_client *c = ctx;
    if (res < 0) {
        c->conn = NULL;
        finish(c, res, NULL);
        return;
    }
    if (crow_tcp_write(conn, c->request, c->request_len))
        finish(c, CROW_ESPACE, NULL);
}

static void on_timeout(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct crow_http_client *c = op->owner;
    /* The timer may be armed twice (a new request starts before the cancelled timeout of the last
     * one completes): free only after its last completion. */
    if (c->freeing) {
        if (!crow_op_pending(&c->timer)) {
            free(c->response);
            free(c);
        }
        return;
    }
    /* A timeout left over from an earlier request must not fail the one in flight now. */
    if (res == -ETIME && c->in_flight && crow_loop_now(c->loop) >= c->deadline_ns)
        finish(c, CROW_ETIMEOUT, NULL);
}

static const struct crow_tcp_handlers handlers = {
    .on_connect = on_connect, .on_data = on_data, .on_close = on_close};

int crow_http_client_new(crow_http_client_t **out, crow_loop_t *loop, size_t response_cap,
                         crow_http_client_cb cb, void *ctx)
{
    struct crow_http_client *c = calloc(1, sizeof *c);
    if (!c || !(c->response = malloc(response_cap))) {
        free(c);
        return -ENOMEM;
    }
    c->loop = loop;
    c->cap = response_cap;
    c->cb = cb;
    c->ctx = ctx;
    crow_op_init(&c->timer, on_timeout, c);
    *out = c;
    return 0;
}

int crow_http_client_get(crow_http_client_t *c, const struct crow_http_client_server *server,
                         struct in_addr bind, const char *target, double timeout)
{
    return crow_http_client_request(c, server, bind, "GET", target, NULL, timeout);
}

/* "Authorization: ...\r\n" for target under key, or "" without a key. Returns 0 or an error. */
static int authorization(struct crow_http_client *c, char *buf, size_t cap, const char *method,
                         const char *target, const crow_control_auth_key_t *key)
{
    buf[0] = '\0';
    if (!key)
        return 0;
    uint8_t nonce[CROW_AUTH_NONCE_LEN];
    int ret = crow_random_bytes(nonce, sizeof nonce);
    if (ret)
        return ret;
    crow_hex(nonce, sizeof nonce, c->nonce);
    int n = snprintf(buf, cap, "Authorization: ");
    long v = crow_control_auth_sign(buf + n, cap - (size_t)n - 2, key, method, target,
                                    crow_clock_wall_ns() / 1000000000u, nonce);
    if (v < 0)
        return (int)v;
    memcpy(buf + n + v, "\r\n", 3);
    return 0;
}

int crow_http_client_request(crow_http_client_t *c, const struct crow_http_client_server *server,
                             struct in_addr bind, const char *method, const char *target,
                             const crow_control_auth_key_t *key, double timeout)
{
    if (c->in_flight)
        return CROW_EUSAGE;
    char auth[CROW_AUTH_HEADER_MAX + 32];
    int n = authorization(c, auth, sizeof auth, method, target, key);
    if (n)
        return n;
    c->key = key;
    /* A POST carries its parameters in the query: its body is empty. */
    n = snprintf(c->request, sizeof c->request,
                 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: crowcast/%s\r\n%s%sConnection: close\r\n\r\n",
                 method, target, server->host, CROW_VERSION, auth,
                 strcmp(method, "GET") ? "Content-Length: 0\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof c->request)
        return CROW_ESPACE;
    c->request_len = (size_t)n;
    c->len = 0;
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr = bind};
    struct crow_tcp_config tc = {.in_cap = 16 * 1024, .out_cap = sizeof c->request};
    if (server->tls && !(tc.tls = tls_ctx()))
        return CROW_ETLS;
    int ret = crow_tcp_connect(c->loop, &c->conn, &from, &server->addr, &tc, &handlers, c);
    if (ret) {
        c->conn = NULL;
        return ret;
    }
    c->in_flight = true;
    uint64_t ns = (uint64_t)((timeout > 0 ? timeout : 5) * 1e9);
    c->deadline_ns = crow_loop_update_now(c->loop) + ns;
    crow_io_timeout(c->loop, &c->timer, ns);
    return 0;
}

bool crow_http_client_busy(const crow_http_client_t *c)
{
    return c && c->in_flight;
}

void crow_http_client_free(crow_http_client_t *c)
{
    if (!c)
        return;
    c->freeing = true;
    c->in_flight = false;
    if (c->conn) {
        crow_tcp_close(c->conn);
        c->conn = NULL;
    }
    if (crow_op_pending(&c->timer)) {
        crow_io_cancel(c->loop, &c->timer); /* on_timeout frees */
    } else {
        free(c->response);
        free(c);
    }
}
