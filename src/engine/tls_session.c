/* TLS sessions over an OpenSSL BIO pair: SSL reads and writes its end of the pair, the caller the
 * network end (zero-copy through BIO_nwrite0/BIO_nread0), so the session never blocks and never
 * sees a socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/tls_session.h"

/* A record's header, MAC or tag and padding on top of its plaintext (TLS 1.2 CBC is the largest). */
#define RECORD_OVERHEAD 512

struct crow_tls_session_ctx {
    SSL_CTX *ssl;
    bool server;
};

struct crow_tls_session {
    SSL *ssl;
    BIO *net; /* our end of the pair; SSL owns the other */
    bool server, ready, closed, failed;
    char why[160];
};

/* The reason OpenSSL left on this thread's error queue (the queue is emptied). */
static int tls_why(char *why, size_t cap, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    if (cap)
        snprintf(why, cap, "%s%s%s", what, reason ? ": " : "", reason ? reason : "");
    ERR_clear_error();
    return CROW_ETLS;
}

static int ctx_new(crow_tls_session_ctx_t **out, bool server)
{
    crow_tls_session_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->server = server;
    c->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!c->ssl || !SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION)) {
        SSL_CTX_free(c->ssl);
        free(c);
        ERR_clear_error();
        return -ENOMEM;
    }
    /* The read and write buffers of an idle connection go back to the heap (thousands of agents
     * keep connections open between polls). */
    SSL_CTX_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE);
    *out = c;
    return 0;
}

int crow_tls_session_ctx_new_server(crow_tls_session_ctx_t **out, const char *cert_pem, size_t cert_len,
                                    const char *key_pem, size_t key_len, char *why, size_t why_cap)
{
    crow_tls_session_ctx_t *c;
    int ret = ctx_new(&c, true);
    if (ret)
        return ret;
    BIO *certs = BIO_new_mem_buf(cert_pem, (int)cert_len), *keys = BIO_new_mem_buf(key_pem, (int)key_len);
    X509 *leaf = NULL, *more = NULL;
    EVP_PKEY *key = NULL;
    if (!certs || !keys) {
        ret = -ENOMEM;
        goto out;
    }
    if (!(leaf = PEM_read_bio_X509(certs, NULL, NULL, NULL)) || !SSL_CTX_use_certificate(c->ssl, leaf)) {
        ret = tls_why(why, why_cap, "certificate");
        goto out;
    }
    while ((more = PEM_read_bio_X509(certs, NULL, NULL, NULL)))
        if (!SSL_CTX_add0_chain_cert(c->ssl, more)) {
            X509_free(more);
            ret = tls_why(why, why_cap, "certificate chain");
            goto out;
        }
    ERR_clear_error(); /* the end of the chain reads as "no start line" */
    if (!(key = PEM_read_bio_PrivateKey(keys, NULL, NULL, NULL)) || !SSL_CTX_use_PrivateKey(c->ssl, key) ||
        !SSL_CTX_check_private_key(c->ssl)) {
        ret = tls_why(why, why_cap, "private key");
        goto out;
    }
    /* No session tickets: nothing resumes a session here, and they cost a message per handshake. */
    SSL_CTX_set_num_tickets(c->ssl, 0);
    *out = c;
    c = NULL;
out:
    EVP_PKEY_free(key);
    X509_free(leaf);
    BIO_free(certs);
    BIO_free(keys);
    crow_tls_session_ctx_free(c);
    return ret;
}

int crow_tls_session_ctx_new_client(crow_tls_session_ctx_t **out, const char *ca_pem, size_t ca_len,
                                    char *why, size_t why_cap)
{
    crow_tls_session_ctx_t *c;
    int ret = ctx_new(&c, false);
    if (ret)
        return ret;
    SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
    if (!ca_pem) {
        if (!SSL_CTX_set_default_verify_paths(c->ssl))
            ret = tls_why(why, why_cap, "the system's CA store");
    } else {
        BIO *b = BIO_new_mem_buf(ca_pem, (int)ca_len);
        X509_STORE *store = SSL_CTX_get_cert_store(c->ssl);
        X509 *x;
        int n = 0;
        if (!b)
            ret = -ENOMEM;
        while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
            n += X509_STORE_add_cert(store, x) == 1;
            X509_free(x);
        }
        ERR_clear_error();
        BIO_free(b);
        if (!ret && n == 0)
            ret = crow_why(why, why_cap, CROW_ETLS, "no PEM certificate in the CA file");
    }
    if (ret) {
        crow_tls_session_ctx_free(c);
        return ret;
    }
    *out = c;
    return 0;
}

void crow_tls_session_ctx_free(crow_tls_session_ctx_t *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

/* Names the server the client expects: its IP subjectAltName for an address, else its DNS name. */
static int expect_name(SSL *ssl, const char *name)
{
    struct in_addr a;
    X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
    if (inet_pton(AF_INET, name, &a) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(p, name) == 1 ? 0 : CROW_EUSAGE;
    X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(p, name, 0) != 1 || SSL_set_tlsext_host_name(ssl, name) != 1)
        return CROW_EUSAGE;
    return 0;
}

int crow_tls_session_new(crow_tls_session_t **out, const crow_tls_session_ctx_t *ctx, const char *peer_name)
{
    if (!ctx->server && (!peer_name || !*peer_name))
        return CROW_EUSAGE;
    crow_tls_session_t *s = calloc(1, sizeof *s);
    BIO *inner = NULL;
    if (!s)
        return -ENOMEM;
    s->server = ctx->server;
    int ret = -ENOMEM;
    if (!(s->ssl = SSL_new(ctx->ssl)) || !BIO_new_bio_pair(&inner, CROW_TLS_BUF, &s->net, CROW_TLS_BUF))
        goto fail;
    SSL_set_bio(s->ssl, inner, inner);
    if (s->server)
        SSL_set_accept_state(s->ssl);
    else {
        SSL_set_connect_state(s->ssl);
        if ((ret = expect_name(s->ssl, peer_name)))
            goto fail;
    }
    *out = s;
    return 0;
fail:
    ERR_clear_error();
    crow_tls_session_free(s);
    return ret;
}

void crow_tls_session_free(crow_tls_session_t *s)
{
    if (!s)
        return;
    SSL_free(s->ssl); /* frees its end of the pair */
    BIO_free(s->net);
    free(s);
}

size_t crow_tls_session_in_room(crow_tls_session_t *s, uint8_t **dst)
{
    char *p;
    ossl_ssize_t n = BIO_nwrite0(s->net, &p);
    if (n <= 0) {
        ERR_clear_error();
        return 0;
    }
    *dst = (uint8_t *)p;
    return (size_t)n;
}

void crow_tls_session_in_commit(crow_tls_session_t *s, size_t len)
{
    char *p;
    if (len)
        BIO_nwrite(s->net, &p, (int)len);
}

size_t crow_tls_session_feed(crow_tls_session_t *s, const uint8_t *data, size_t len)
{
    size_t done = 0;
    uint8_t *dst;
    size_t room;
    /* The ring may offer its room in two pieces. */
    while (done < len && (room = crow_tls_session_in_room(s, &dst))) {
        size_t n = len - done < room ? len - done : room;
        memcpy(dst, data + done, n);
        crow_tls_session_in_commit(s, n);
        done += n;
    }
    return done;
}

size_t crow_tls_session_out_peek(crow_tls_session_t *s, const uint8_t **src)
{
    char *p;
    ossl_ssize_t n = BIO_nread0(s->net, &p);
    if (n <= 0) {
        ERR_clear_error();
        return 0;
    }
    *src = (const uint8_t *)p;
    return (size_t)n;
}

void crow_tls_session_out_consume(crow_tls_session_t *s, size_t len)
{
    char *p;
    if (len)
        BIO_nread(s->net, &p, (int)len);
}

size_t crow_tls_session_out_pending(const crow_tls_session_t *s)
{
    return BIO_ctrl_pending(s->net);
}

/* Classifies a failed SSL call: CROW_EMORE when it only waits for bytes. */
static int failed(crow_tls_session_t *s, int r)
{
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return CROW_EMORE;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return CROW_ECLOSED;
    }
    s->failed = true;
    long v = SSL_get_verify_result(s->ssl);
    if (!s->server && v != X509_V_OK) {
        snprintf(s->why, sizeof s->why, "certificate verify failed: %s", X509_verify_cert_error_string(v));
        ERR_clear_error();
        return CROW_ETLS;
    }
    return tls_why(s->why, sizeof s->why, s->ready ? "bad record" : "handshake failed");
}

int crow_tls_session_handshake(crow_tls_session_t *s)
{
    if (s->ready)
        return 0;
    if (s->failed)
        return CROW_ETLS;
    ERR_clear_error();
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        s->ready = true;
        return 0;
    }
    int ret = failed(s, r);
    if (ret == CROW_ECLOSED) { /* a close_notify before the handshake finished: failed, and says so */
        s->failed = true;
        snprintf(s->why, sizeof s->why, "the peer closed the connection during the handshake");
        return CROW_ETLS;
    }
    return ret;
}

bool crow_tls_session_ready(const crow_tls_session_t *s)
{
    return s->ready;
}

long crow_tls_session_read(crow_tls_session_t *s, uint8_t *buf, size_t cap)
{
    int ret = crow_tls_session_handshake(s);
    if (ret)
        return ret;
    if (s->failed)
        return CROW_ETLS;
    if (cap == 0)
        return CROW_EMORE;
    ERR_clear_error();
    int r = SSL_read(s->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    return r > 0 ? r : failed(s, r);
}

long crow_tls_session_write(crow_tls_session_t *s, const uint8_t *data, size_t len)
{
    if (s->failed)
        return CROW_ETLS;
    if (!s->ready || s->closed || len == 0)
        return 0;
    /* Only what one record can carry into the room left, so SSL_write never stops half-way through
     * a record (a retry would have to pass the same bytes again). */
    size_t room = BIO_ctrl_get_write_guarantee(SSL_get_wbio(s->ssl));
    if (room <= RECORD_OVERHEAD)
        return 0;
    size_t n = len < room - RECORD_OVERHEAD ? len : room - RECORD_OVERHEAD;
    ERR_clear_error();
    int r = SSL_write(s->ssl, data, (int)n);
    if (r > 0)
        return r;
    int ret = failed(s, r);
    return ret == CROW_EMORE ? 0 : CROW_ETLS;
}

void crow_tls_session_close(crow_tls_session_t *s)
{
    if (s->closed || s->failed)
        return;
    s->closed = true;
    if (s->ready)
        SSL_shutdown(s->ssl);
    ERR_clear_error();
}

const char *crow_tls_session_why(const crow_tls_session_t *s)
{
    return s->why;
}

bool crow_tls_session_is_server(const crow_tls_session_t *s)
{
    return s->server;
}
