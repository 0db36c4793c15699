/* tls_session: a client and a server wired together in memory (certificates made by tls_fixture.h);
 * wrong CA and wrong name refused with their reason, hostile bytes (garbage, plaintext HTTP, a record
 * cut short) never crash or hang, buffers stay bounded, close_notify ends a session cleanly, a TLS 1.1
 * client is turned away. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/tls_session.h"
#include "tls_fixture.h"
#include "check_main.h"

static struct tls_fixture fx;
static struct tls_fixture_ctx ctx;

static void setup(void)
{
    tls_fixture_make(&fx);
    ck_assert_int_eq(tls_fixture_contexts(&fx, &ctx), 0);
}

static void teardown(void)
{
    tls_fixture_contexts_free(&ctx);
    tls_fixture_free(&fx);
}

/* Moves ciphertext from a to b, at most max bytes at a time; returns how many moved. */
static size_t transfer(crow_tls_session_t *a, crow_tls_session_t *b, size_t max)
{
    const uint8_t *p;
    size_t moved = 0, n;
    while ((n = crow_tls_session_out_peek(a, &p))) {
        if (n > max)
            n = max;
        size_t taken = crow_tls_session_feed(b, p, n);
        crow_tls_session_out_consume(a, taken);
        moved += taken;
        if (taken < n)
            break;
    }
    return moved;
}

/* Runs both sides until neither moves; returns the client's and server's last handshake results. */
static void run(crow_tls_session_t *c, crow_tls_session_t *s, size_t max, int *cr, int *sr)
{
    for (int round = 0; round < 10000; round++) {
        *cr = crow_tls_session_handshake(c);
        size_t m = transfer(c, s, max);
        *sr = crow_tls_session_handshake(s);
        m += transfer(s, c, max);
        if (!m && *cr != CROW_EMORE && *sr != CROW_EMORE)
            return;
        if (!m && *cr == CROW_EMORE && *sr == CROW_EMORE && round > 0)
            return;
    }
}

static void pair(crow_tls_session_ctx_t *cctx, const char *name, crow_tls_session_t **c,
                 crow_tls_session_t **s)
{
    ck_assert_int_eq(crow_tls_session_new(c, cctx, name), 0);
    ck_assert_int_eq(crow_tls_session_new(s, ctx.server, NULL), 0);
    ck_assert(crow_tls_session_is_server(*s));
    ck_assert(!crow_tls_session_is_server(*c));
}

/* A client and a server with the handshake done (both checked). */
static void connected(crow_tls_session_t **c, crow_tls_session_t **s)
{
    int cr, sr;
    pair(ctx.client, "127.0.0.1", c, s);
    run(*c, *s, SIZE_MAX, &cr, &sr);
    ck_assert_int_eq(cr, 0);
    ck_assert_int_eq(sr, 0);
}

static void roundtrip(crow_tls_session_t *from, crow_tls_session_t *to, const char *text)
{
    ck_assert_int_eq(crow_tls_session_write(from, (const uint8_t *)text, strlen(text)), (long)strlen(text));
    transfer(from, to, SIZE_MAX);
    uint8_t buf[256];
    long n = crow_tls_session_read(to, buf, sizeof buf);
    ck_assert_int_eq(n, (long)strlen(text));
    ck_assert(memcmp(buf, text, strlen(text)) == 0);
    ck_assert_int_eq(crow_tls_session_read(to, buf, sizeof buf), CROW_EMORE);
}

START_TEST(test_handshake_and_data)
{
    const char *names[] = {"127.0.0.1", "tracker.test"};
    crow_tls_session_t *c, *s;
    int cr, sr;
    pair(ctx.client, names[_i], &c, &s);
    ck_assert_int_eq(crow_tls_session_write(c, (const uint8_t *)"x", 1), 0); /* not ready yet */
    run(c, s, SIZE_MAX, &cr, &sr);
    ck_assert_int_eq(cr, 0);
    ck_assert_int_eq(sr, 0);
    ck_assert(crow_tls_session_ready(c) && crow_tls_session_ready(s));
    roundtrip(c, s, "GET /announce HTTP/1.1\r\n\r\n");
    roundtrip(s, c, "HTTP/1.1 200 OK\r\n\r\n");
    ck_assert_str_eq(crow_tls_session_why(c), "");
    crow_tls_session_free(c);
    crow_tls_session_free(s);
}
END_TEST

START_TEST(test_byte_by_byte)
{
    /* Every record cut into single bytes: the handshake waits (CROW_EMORE) and completes. */
    crow_tls_session_t *c, *s;
    int cr, sr;
    pair(ctx.client, "127.0.0.1", &c, &s);
    run(c, s, 1, &cr, &sr);
    ck_assert_int_eq(cr, 0);
    ck_assert_int_eq(sr, 0);
    ck_assert_int_eq(crow_tls_session_write(c, (const uint8_t *)"hello", 5), 5);
    const uint8_t *p;
    uint8_t buf[16];
    while (crow_tls_session_out_peek(c, &p)) {
        crow_tls_session_feed(s, p, 1);
        crow_tls_session_out_consume(c, 1);
        if (crow_tls_session_out_pending(c))
            ck_assert_int_eq(crow_tls_session_read(s, buf, sizeof buf), CROW_EMORE); /* record incomplete */
    }
    ck_assert_int_eq(crow_tls_session_read(s, buf, sizeof buf), 5);
    crow_tls_session_free(c);
    crow_tls_session_free(s);
}
END_TEST

START_TEST(test_wrong_ca)
{
    crow_tls_session_t *c, *s;
    int cr, sr;
    pair(ctx.stranger, "127.0.0.1", &c, &s);
    run(c, s, SIZE_MAX, &cr, &sr);
    ck_assert_int_eq(cr, CROW_ETLS);
    ck_assert_msg(strstr(crow_tls_session_why(c), "certificate verify failed"), "%s",
                  crow_tls_session_why(c));
    /* The client's alert reached the server, which failed too, saying why. */
    ck_assert_int_eq(sr, CROW_ETLS);
    ck_assert_msg(strstr(crow_tls_session_why(s), "unknown ca"), "%s", crow_tls_session_why(s));
    ck_assert_int_eq(crow_tls_session_write(c, (const uint8_t *)"x", 1), CROW_ETLS);
    crow_tls_session_free(c);
    crow_tls_session_free(s);
}
END_TEST

START_TEST(test_wrong_name)
{
    const char *names[] = {"127.0.0.2", "other.test"};
    crow_tls_session_t *c, *s;
    int cr, sr;
    pair(ctx.client, names[_i], &c, &s);
    run(c, s, SIZE_MAX, &cr, &sr);
    ck_assert_int_eq(cr, CROW_ETLS);
    ck_assert_msg(strstr(crow_tls_session_why(c), "mismatch"), "%s", crow_tls_session_why(c));
    ck_assert(!crow_tls_session_ready(c));
    crow_tls_session_free(c);
    crow_tls_session_free(s);
}
END_TEST

START_TEST(test_garbage)
{
    /* Plaintext HTTP, random-looking bytes, and a record header announcing 16 MiB: each refused. */
    static const struct {
        const char *bytes;
        size_t len;
    } inputs[] = {
        {"GET /announce?info_hash=x HTTP/1.1\r\nHost: t\r\n\r\n", 47},
        {"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10}, /* a client hello of one byte */
        {"\x17\x03\x03\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16},
    };
    crow_tls_session_t *s;
    ck_assert_int_eq(crow_tls_session_new(&s, ctx.server, NULL), 0);
    crow_tls_session_feed(s, (const uint8_t *)inputs[_i].bytes, inputs[_i].len);
    uint8_t buf[64];
    long r = crow_tls_session_read(s, buf, sizeof buf);
    ck_assert_int_eq(r, CROW_ETLS);
    ck_assert_msg(strlen(crow_tls_session_why(s)) > 4, "%s", crow_tls_session_why(s));
    if (_i == 0)
        ck_assert_msg(strstr(crow_tls_session_why(s), "http request"), "%s", crow_tls_session_why(s));
    ck_assert_int_eq(crow_tls_session_read(s, buf, sizeof buf), CROW_ETLS); /* stays failed */
    crow_tls_session_free(s);
}
END_TEST

/* Found by fuzz_tls_record: a client whose hello is answered by a close_notify alert failed without
 * a reason and did not stay failed. */
START_TEST(test_close_notify_during_the_handshake)
{
    static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00};
    crow_tls_session_t *c;
    ck_assert_int_eq(crow_tls_session_new(&c, ctx.client, "127.0.0.1"), 0);
    ck_assert_int_eq(crow_tls_session_handshake(c), CROW_EMORE);
    crow_tls_session_feed(c, alert, sizeof alert);
    uint8_t buf[64];
    ck_assert_int_eq(crow_tls_session_read(c, buf, sizeof buf), CROW_ETLS);
    ck_assert_msg(strstr(crow_tls_session_why(c), "during the handshake"), "%s", crow_tls_session_why(c));
    ck_assert_int_eq(crow_tls_session_read(c, buf, sizeof buf), CROW_ETLS); /* stays failed */
    ck_assert_int_eq(crow_tls_session_handshake(c), CROW_ETLS);
    crow_tls_session_free(c);
}
END_TEST

START_TEST(test_garbage_after_handshake)
{
    crow_tls_session_t *c, *s;
    connected(&c, &s);
    /* A well-formed application-data header with a body that does not decrypt. */
    uint8_t rec[5 + 64] = {0x17, 0x03, 0x03, 0x00, 64};
    memset(rec + 5, 0xa5, 64);
    crow_tls_session_feed(s, rec, sizeof rec);
    uint8_t buf[64];
    ck_assert_int_eq(crow_tls_session_read(s, buf, sizeof buf), CROW_ETLS);
    crow_tls_session_free(c);
    crow_tls_session_free(s);
}
END_TEST

START_TEST(test_truncated)
{
    /* A client hello cut short, then the connection ends: the server only ever waits. */
    crow_tls_session_t *c, *s;
    ck_assert_int_eq(crow_tls_session_new(&c, ctx.client, "127.0.0.1"), 0);
    ck_assert_int_eq(crow_tls_session_new(&s, ctx.server, NULL), 0);
    ck_assert_int_eq(crow_tls_session_handshake(c), CROW_EMORE);
    const uint8_t *p;
    size_t n = crow_tls_session_out_peek(c, &p);
    ck_assert_uint_gt(n, 40);
    crow_tls_session_feed(s, p, n - 20);
    uint8_t buf[16];
    ck_assert_int_eq(crow_tls_session_read(s, buf, sizeof buf), CROW_EMORE);
    ck_assert(!crow_tls_session_ready(s));
    ck_assert_uint_eq(crow_tls_session_out_pending(s), 0);
    crow_tls_session_free(c);
    crow_tls_session_free(s);
}
END_TEST

START_TEST(test_bounded_buffers)
{
    crow_tls_session_t *c, *s;
    connected(&c, &s);
    /* Input: no more than CROW_TLS_BUF bytes are taken before the session reads them. */
    static uint8_t junk[3 * CROW_TLS_BUF];
    crow_tls_session_t *idle;
    ck_assert_int_eq(crow_tls_session_new(&idle, ctx.server, NULL), 0);
    ck_assert_uint_eq(crow_tls_session_feed(idle, junk, sizeof junk), CROW_TLS_BUF);
    uint8_t *dst;
    ck_assert_uint_eq(crow_tls_session_in_room(idle, &dst), 0);
    crow_tls_session_free(idle);
    /* Output: 1 MiB of plaintext goes through in pieces, never more than CROW_TLS_BUF waiting. */
    static uint8_t big[1 << 20], got[1 << 20];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    size_t sent = 0, recvd = 0;
    while (recvd < sizeof big) {
        long w = crow_tls_session_write(c, big + sent, sizeof big - sent);
        ck_assert_int_ge(w, 0);
        sent += (size_t)w;
        ck_assert_uint_le(crow_tls_session_out_pending(c), CROW_TLS_BUF);
        transfer(c, s, SIZE_MAX);
        long r;
        while ((r = crow_tls_session_read(s, got + recvd, sizeof got - recvd)) > 0)
            recvd += (size_t)r;
        ck_assert_int_eq(r, CROW_EMORE);
    }
    ck_assert(memcmp(big, got, sizeof big) == 0);
    crow_tls_session_free(c);
    crow_tls_session_free(s);
}
END_TEST

START_TEST(test_close_notify)
{
    crow_tls_session_t *c, *s;
    connected(&c, &s);
    ck_assert_int_eq(crow_tls_session_write(s, (const uint8_t *)"bye", 3), 3);
    crow_tls_session_close(s);
    crow_tls_session_close(s); /* once */
    ck_assert_int_eq(crow_tls_session_write(s, (const uint8_t *)"more", 4), 0);
    transfer(s, c, SIZE_MAX);
    uint8_t buf[16];
    ck_assert_int_eq(crow_tls_session_read(c, buf, sizeof buf), 3); /* data before the alert is kept */
    ck_assert_int_eq(crow_tls_session_read(c, buf, sizeof buf), CROW_ECLOSED);
    crow_tls_session_free(c);
    crow_tls_session_free(s);
}
END_TEST

START_TEST(test_bad_pem)
{
    char why[160] = "";
    crow_tls_session_ctx_t *x;
    ck_assert_int_eq(
        crow_tls_session_ctx_new_server(&x, "junk", 4, fx.server.key, fx.server.key_len, why, sizeof why),
        CROW_ETLS);
    ck_assert_msg(strstr(why, "certificate"), "%s", why);
    /* The CA's key does not belong to the server's certificate. */
    ck_assert_int_eq(crow_tls_session_ctx_new_server(&x, fx.server.cert, fx.server.cert_len, fx.ca.key,
                                                     fx.ca.key_len, why, sizeof why),
                     CROW_ETLS);
    ck_assert_msg(strstr(why, "private key"), "%s", why);
    ck_assert_int_eq(crow_tls_session_ctx_new_client(&x, "no pem here", 11, why, sizeof why), CROW_ETLS);
    ck_assert_msg(strstr(why, "no PEM certificate"), "%s", why);
    /* A client must name the server it expects. */
    crow_tls_session_t *c;
    ck_assert_int_eq(crow_tls_session_new(&c, ctx.client, NULL), CROW_EUSAGE);
    ck_assert_int_eq(crow_tls_session_new(&c, ctx.client, ""), CROW_EUSAGE);
}
END_TEST

START_TEST(test_ctx_freed_under_session)
{
    /* A reloaded certificate frees the old context while its sessions still run. */
    char why[160];
    crow_tls_session_ctx_t *old;
    ck_assert_int_eq(crow_tls_session_ctx_new_server(&old, fx.server.cert, fx.server.cert_len, fx.server.key,
                                                     fx.server.key_len, why, sizeof why),
                     0);
    crow_tls_session_t *c, *s;
    ck_assert_int_eq(crow_tls_session_new(&c, ctx.client, "127.0.0.1"), 0);
    ck_assert_int_eq(crow_tls_session_new(&s, old, NULL), 0);
    crow_tls_session_ctx_free(old);
    int cr, sr;
    run(c, s, SIZE_MAX, &cr, &sr);
    ck_assert_int_eq(cr, 0);
    ck_assert_int_eq(sr, 0);
    roundtrip(c, s, "still here");
    crow_tls_session_free(c);
    crow_tls_session_free(s);
}
END_TEST

START_TEST(test_old_version_refused)
{
    /* A TLS 1.1 client (OpenSSL itself, security level 0 so that it may offer 1.1) gets no session. */
    SSL_CTX *old = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(old, 0);
    SSL_CTX_set_min_proto_version(old, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION);
    SSL *ssl = SSL_new(old);
    BIO *inner, *outer;
    BIO_new_bio_pair(&inner, 0, &outer, 0);
    SSL_set_bio(ssl, inner, inner);
    SSL_set_connect_state(ssl);
    ck_assert_int_ne(SSL_do_handshake(ssl), 1);
    uint8_t hello[4096];
    int n = BIO_read(outer, hello, sizeof hello);
    ck_assert_int_gt(n, 0);
    crow_tls_session_t *s;
    ck_assert_int_eq(crow_tls_session_new(&s, ctx.server, NULL), 0);
    crow_tls_session_feed(s, hello, (size_t)n);
    ck_assert_int_eq(crow_tls_session_handshake(s), CROW_ETLS);
    ck_assert_msg(strstr(crow_tls_session_why(s), "protocol"), "%s", crow_tls_session_why(s));
    crow_tls_session_free(s);
    SSL_free(ssl);
    BIO_free(outer);
    SSL_CTX_free(old);
    ERR_clear_error();
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("tls_session");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_handshake_and_data, 0, 2);
    tcase_add_test(tc, test_byte_by_byte);
    tcase_add_test(tc, test_wrong_ca);
    tcase_add_loop_test(tc, test_wrong_name, 0, 2);
    tcase_add_loop_test(tc, test_garbage, 0, 3);
    tcase_add_test(tc, test_close_notify_during_the_handshake);
    tcase_add_test(tc, test_garbage_after_handshake);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_bounded_buffers);
    tcase_add_test(tc, test_close_notify);
    tcase_add_test(tc, test_bad_pem);
    tcase_add_test(tc, test_ctx_freed_under_session);
    tcase_add_test(tc, test_old_version_refused);
    suite_add_tcase(s, tc);
    return s;
}
