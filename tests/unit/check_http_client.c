/* HTTP client: the tracker URLs it accepts (crow_http_client_parse_server), table-driven. An announce URL
 * comes from the manifest, anyone's file, and its path is written into the request line. https: a
 * request to a TLS server on loopback is answered when its CA is trusted and refused (CROW_ETLS)
 * when not, or when the server speaks plain HTTP. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/app/http_client.h"
#include "crowcast/error.h"
#include "crowcast/tcp.h"
#include "tls_fixture.h"
#include "check_main.h"

static const struct {
    const char *url;
    int ret;
    const char *host, *path;
    uint16_t port;
    bool tls;
} cases[] = {
    {"http://127.0.0.1:6969/announce", 0, "127.0.0.1:6969", "/announce", 6969, false},
    {"http://10.1.2.3", 0, "10.1.2.3", "", 80, false},
    {"http://10.1.2.3/", 0, "10.1.2.3", "/", 80, false},
    {"http://10.1.2.3:8080/a/b?x=1", 0, "10.1.2.3:8080", "/a/b?x=1", 8080, false},
    {"https://10.1.2.3/announce", 0, "10.1.2.3", "/announce", 443, true},
    {"https://127.0.0.1:7443", 0, "127.0.0.1:7443", "", 7443, true},
    {"https:/10.1.2.3/announce", CROW_EUSAGE, NULL, NULL, 0, false},
    {"HTTPS://10.1.2.3/announce", CROW_EUSAGE, NULL, NULL, 0, false},
    {"httpss://10.1.2.3/announce", CROW_EUSAGE, NULL, NULL, 0, false},
    {"http://tracker.example/announce", CROW_EUSAGE, NULL, NULL, 0, false},
    {"http:///announce", CROW_EUSAGE, NULL, NULL, 0, false},
    {"http://10.1.2.3:0/", CROW_EUSAGE, NULL, NULL, 0, false},
    {"http://10.1.2.3:65536/", CROW_EUSAGE, NULL, NULL, 0, false},
    /* Found by fuzz_tracker_url: bytes that end the request line were copied into the path, so a
     * .torrent could make every client send a request of its choosing (a header, a second request). */
    {"http://127.0.0.1:6969/a\x1ann", CROW_EUSAGE, NULL, NULL, 0, false},
    {"http://127.0.0.1:6969/announce\r\nX-Injected: 1\r\n", CROW_EUSAGE, NULL, NULL, 0, false},
    {"http://127.0.0.1:6969/announce HTTP/1.0", CROW_EUSAGE, NULL, NULL, 0, false},
    {"http://127.0.0.1:6969/a\x7f", CROW_EUSAGE, NULL, NULL, 0, false},
    {"http://0.0.0.1:\v9/a", CROW_EUSAGE, NULL, NULL, 0, false}, /* a control byte in the Host header */
};

START_TEST(test_server_parse)
{
    struct crow_http_client_server s;
    int ret = crow_http_client_parse_server(cases[_i].url, &s);
    ck_assert_msg(ret == cases[_i].ret, "%s: %d", cases[_i].url, ret);
    if (ret == 0) {
        ck_assert_str_eq(s.host, cases[_i].host);
        ck_assert_str_eq(s.path, cases[_i].path);
        ck_assert_uint_eq(ntohs(s.addr.sin_port), cases[_i].port);
        ck_assert(s.tls == cases[_i].tls);
    }
}
END_TEST

/* A one-request HTTP server on loopback, TLS or not, answering "ok". */
struct server {
    crow_loop_t *loop;
    crow_tcp_listener_t *listener;
    struct crow_tcp_config cfg;
    int err, status;
};

static long server_data(void *ctx, crow_tcp_conn_t *c, const uint8_t *data, size_t len)
{
    struct server *sv = ctx;
    if (sv->cfg.tls && !memmem(data, len, "\r\n\r\n", 4))
        return 0; /* a plain server answers whatever comes: a client hello, too */
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    ck_assert_int_eq(crow_tcp_write(c, answer, sizeof answer - 1), 0);
    crow_tcp_close_after_flush(c);
    return (long)len;
}

static void server_close(void *ctx, crow_tcp_conn_t *c, int err)
{
    (void)ctx;
    (void)c;
    (void)err;
}

static void on_accepted(void *ctx, int fd, const struct sockaddr_in *peer)
{
    (void)peer;
    struct server *sv = ctx;
    static const struct crow_tcp_handlers h = {.on_data = server_data, .on_close = server_close};
    crow_tcp_conn_t *c;
    ck_assert_int_eq(crow_tcp_adopt(sv->loop, &c, fd, &sv->cfg, &h, sv), 0);
}

static void on_answer(void *ctx, int err, const crow_http_response_t *res)
{
    struct server *sv = ctx;
    sv->err = err;
    sv->status = res ? res->status : 0;
    crow_tcp_listener_close(sv->listener);
}

/* Requests https://127.0.0.1:PORT/x from a server with TLS (server_tls) or without (NULL) while the
 * process trusts ca_pem. */
static void https_round(struct server *sv, const crow_tls_session_ctx_t *server_tls, const char *ca_pem,
                        size_t ca_len)
{
    char why[160], url[64];
    crow_tls_session_ctx_t *client;
    ck_assert_int_eq(crow_tls_session_ctx_new_client(&client, ca_pem, ca_len, why, sizeof why), 0);
    crow_http_client_set_tls(client);
    int ret = crow_loop_new(&sv->loop, 64);
    if (ret) {
        fprintf(stderr, "io_uring unavailable here: %s\n", crow_strerror(ret));
        exit(77);
    }
    sv->cfg = (struct crow_tcp_config){.in_cap = 4096, .out_cap = 4096, .tls = server_tls};
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(crow_tcp_listen(sv->loop, &sv->listener, &any, 4, on_accepted, sv), 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%u", ntohs(crow_tcp_listener_addr(sv->listener)->sin_port));
    struct crow_http_client_server server;
    ck_assert_int_eq(crow_http_client_parse_server(url, &server), 0);
    crow_http_client_t *hc;
    ck_assert_int_eq(crow_http_client_new(&hc, sv->loop, 4096, on_answer, sv), 0);
    struct in_addr lo = {htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(crow_http_client_get(hc, &server, lo, "/x", 5), 0);
    ck_assert_int_ge(crow_loop_run(sv->loop), 0);
    crow_http_client_free(hc);
    crow_loop_drain(sv->loop, 1000000000ull);
    crow_loop_free(sv->loop);
}

START_TEST(test_https)
{
    struct tls_fixture fx;
    struct tls_fixture_ctx x;
    tls_fixture_make(&fx);
    ck_assert_int_eq(tls_fixture_contexts(&fx, &x), 0);
    const crow_tls_session_ctx_t *server_tls = x.server;
    struct server sv = {0};
    switch (_i) {
    case 0: /* trusted */
        https_round(&sv, server_tls, fx.ca.cert, fx.ca.cert_len);
        ck_assert_int_eq(sv.err, 0);
        ck_assert_int_eq(sv.status, 200);
        break;
    case 1: /* a certificate from a CA the client does not trust */
        https_round(&sv, server_tls, fx.other_ca.cert, fx.other_ca.cert_len);
        ck_assert_int_eq(sv.err, CROW_ETLS);
        break;
    case 2: /* an https URL, a plain HTTP server: its answer is no TLS record */
        https_round(&sv, NULL, fx.ca.cert, fx.ca.cert_len);
        ck_assert_int_eq(sv.err, CROW_ETLS);
        break;
    }
    tls_fixture_contexts_free(&x);
    tls_fixture_free(&fx);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("http_client");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_server_parse, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_loop_test(tc, test_https, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}
