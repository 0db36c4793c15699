/* http: request heads (valid, hostile, byte by byte, pipelined), keep-alive rules, limits mapped to
 * 414/431, query iteration and percent-coding, response writing and the client's response parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/http.h"
#include "check_main.h"

static int parse(const char *text, crow_http_request_t *req, crow_http_error_t *err)
{
    crow_http_parser_t p;
    crow_http_parser_init(&p, NULL);
    return crow_http_parse_request(&p, (const uint8_t *)text, strlen(text), req, err);
}

static bool str_is(crow_http_str_t s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

START_TEST(test_request_fields)
{
    const char *text = "GET /announce?info_hash=%01&port=1 HTTP/1.1\r\nHost: t:1\r\nX-Empty:\r\n"
                       "User-Agent:  aria2/1.36 \r\n\r\nNEXT";
    crow_http_request_t req;
    crow_http_error_t err = {0};
    int n = parse(text, &req, &err);
    ck_assert_int_eq(n, (int)(strlen(text) - 4));
    ck_assert(str_is(req.method, "GET"));
    ck_assert(str_is(req.path, "/announce"));
    ck_assert(str_is(req.query, "info_hash=%01&port=1"));
    ck_assert_int_eq(req.minor_version, 1);
    ck_assert(req.keep_alive);
    ck_assert_uint_eq(req.header_count, 3);
    const crow_http_str_t *ua = crow_http_find_header(req.headers, req.header_count, "user-agent");
    ck_assert_ptr_nonnull(ua);
    ck_assert(str_is(*ua, "aria2/1.36"));
    ck_assert(str_is(*crow_http_find_header(req.headers, req.header_count, "X-EMPTY"), ""));
    ck_assert_ptr_null(crow_http_find_header(req.headers, req.header_count, "Cookie"));
}
END_TEST

static const struct {
    const char *text;
    bool keep_alive;
} keep_alive_cases[] = {
    {"GET / HTTP/1.1\r\n\r\n", true},
    {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
    {"GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
    {"GET / HTTP/1.0\r\n\r\n", false},
    {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
    {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
    {"GET / HTTP/1.1\nHost: x\n\n", true},
    {"\r\n\r\nGET /x HTTP/1.1\r\n\r\n", true},
};

START_TEST(test_keep_alive_rules)
{
    crow_http_request_t req;
    crow_http_error_t err = {0};
    int n = parse(keep_alive_cases[_i].text, &req, &err);
    ck_assert_msg(n == (int)strlen(keep_alive_cases[_i].text), "case %d: %d (%s)", _i, n, err.why);
    ck_assert_int_eq(req.keep_alive, keep_alive_cases[_i].keep_alive);
}
END_TEST

static const struct {
    const char *text;
    int code, status;
} bad_requests[] = {
    {"GET  / HTTP/1.1\r\n\r\n", CROW_EPARSE, 400},
    {"GET /\r\n\r\n", CROW_EPARSE, 400},
    {"GET announce HTTP/1.1\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/1.1 \r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTX/1.1\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/2.0\r\n\r\n", CROW_EPARSE, 505},
    {"GET / HTTP/1.2\r\n\r\n", CROW_EPARSE, 505},
    {"G(T / HTTP/1.1\r\n\r\n", CROW_EPARSE, 400},
    {"GET /a\x01 HTTP/1.1\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/1.1\r\nHost x\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/1.1\r\n: x\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", CROW_EPARSE, 400},
    {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", CROW_EPARSE, 400},
    {"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", CROW_ELIMIT, 413},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", CROW_EUNSUPPORTED, 501},
};

START_TEST(test_bad_requests_map_to_status)
{
    crow_http_request_t req;
    crow_http_error_t err = {0};
    int n = parse(bad_requests[_i].text, &req, &err);
    ck_assert_msg(n == bad_requests[_i].code, "case %d: got %d", _i, n);
    ck_assert_int_eq(err.status, bad_requests[_i].status);
    ck_assert_ptr_nonnull(err.why);
}
END_TEST

START_TEST(test_zero_content_length_is_fine)
{
    crow_http_request_t req;
    crow_http_error_t err = {0};
    ck_assert_int_gt(parse("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &req, &err), 0);
}
END_TEST

/* Feeds a request one byte at a time: CROW_EMORE until the last byte, then the full length. */
START_TEST(test_byte_by_byte)
{
    const char *text = "GET /scrape?info_hash=abc HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n";
    size_t len = strlen(text);
    crow_http_parser_t p;
    crow_http_request_t req;
    crow_http_error_t err = {0};
    crow_http_parser_init(&p, NULL);
    for (size_t i = 1; i < len; i++)
        ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)text, i, &req, &err), CROW_EMORE);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)text, len, &req, &err), (int)len);
    ck_assert(str_is(req.path, "/scrape"));
    ck_assert_uint_eq(p.scanned, 0);
}
END_TEST

START_TEST(test_pipelined_requests)
{
    const char *text = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
    crow_http_parser_t p;
    crow_http_request_t req;
    crow_http_error_t err = {0};
    crow_http_parser_init(&p, NULL);
    int n = crow_http_parse_request(&p, (const uint8_t *)text, strlen(text), &req, &err);
    ck_assert_int_gt(n, 0);
    ck_assert(str_is(req.path, "/a"));
    ck_assert(req.keep_alive);
    int m = crow_http_parse_request(&p, (const uint8_t *)text + n, strlen(text) - (size_t)n, &req, &err);
    ck_assert_int_eq((size_t)(n + m), strlen(text));
    ck_assert(str_is(req.path, "/b"));
    ck_assert(!req.keep_alive);
}
END_TEST

/* An endless request line is refused with 414 as soon as it exceeds the limit, before any CRLF. */
START_TEST(test_long_request_line_is_414_early)
{
    static char buf[4096];
    crow_http_limits_t lim = {.max_request_line = 100};
    crow_http_parser_t p;
    crow_http_request_t req;
    crow_http_error_t err = {0};
    crow_http_parser_init(&p, &lim);
    memcpy(buf, "GET /", 5);
    memset(buf + 5, 'a', sizeof(buf) - 5);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)buf, 101, &req, &err), CROW_EMORE);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)buf, 102, &req, &err), CROW_ELIMIT);
    ck_assert_int_eq(err.status, 414);
    /* Complete, but one byte too long. */
    char line[160];
    snprintf(line, sizeof(line), "GET /%.*s HTTP/1.1\r\n\r\n", 101 - 14, buf + 5);
    crow_http_parser_init(&p, &lim);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)line, strlen(line), &req, &err),
                     CROW_ELIMIT);
    ck_assert_int_eq(err.status, 414);
    snprintf(line, sizeof(line), "GET /%.*s HTTP/1.1\r\n\r\n", 100 - 14, buf + 5);
    crow_http_parser_init(&p, &lim);
    ck_assert_int_gt(crow_http_parse_request(&p, (const uint8_t *)line, strlen(line), &req, &err), 0);
}
END_TEST

START_TEST(test_oversized_head_is_431)
{
    static char buf[20000];
    size_t len = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
    while (len < 9000)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "X-Filler: %0100d\r\n", 7);
    crow_http_request_t req;
    crow_http_error_t err = {0};
    crow_http_parser_t p;
    crow_http_parser_init(&p, NULL);
    /* Still unterminated: refused by size alone. */
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)buf, len, &req, &err), CROW_ELIMIT);
    ck_assert_int_eq(err.status, 431);
}
END_TEST

START_TEST(test_too_many_headers_is_431)
{
    char buf[2048];
    size_t len = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 5; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "H%d: v\r\n", i);
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\r\n");
    crow_http_limits_t lim = {.max_headers = 4};
    crow_http_parser_t p;
    crow_http_request_t req;
    crow_http_error_t err = {0};
    crow_http_parser_init(&p, &lim);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)buf, len, &req, &err), CROW_ELIMIT);
    ck_assert_int_eq(err.status, 431);
    lim.max_headers = 5;
    crow_http_parser_init(&p, &lim);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)buf, len, &req, &err), (int)len);
}
END_TEST

START_TEST(test_endless_blank_lines_are_bounded)
{
    static char buf[9000];
    memset(buf, '\n', sizeof(buf));
    crow_http_parser_t p;
    crow_http_request_t req;
    crow_http_error_t err = {0};
    crow_http_parser_init(&p, NULL);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)buf, 100, &req, &err), CROW_EMORE);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)buf, sizeof(buf), &req, &err), CROW_ELIMIT);
    ck_assert_int_eq(err.status, 431);
}
END_TEST

START_TEST(test_query_iteration)
{
    const char *q = "a=1&&b=&c&=x&d=%41";
    crow_http_query_t it;
    crow_http_str_t k, v;
    static const char *const keys[] = {"a", "b", "c", "", "d"};
    static const char *const vals[] = {"1", "", "", "x", "%41"};
    crow_http_query_init(&it, (crow_http_str_t){q, strlen(q)});
    for (int i = 0; i < 5; i++) {
        ck_assert(crow_http_query_next(&it, &k, &v));
        ck_assert_msg(str_is(k, keys[i]) && str_is(v, vals[i]), "pair %d", i);
    }
    ck_assert(!crow_http_query_next(&it, &k, &v));
}
END_TEST

static const struct {
    const char *in;
    long ret;
} pct_cases[] = {
    {"%", CROW_EPARSE},    {"%4", CROW_EPARSE},        {"%G0", CROW_EPARSE}, {"ab%zz", CROW_EPARSE},
    {"%%41", CROW_EPARSE}, {"abcdefghi", CROW_ELIMIT}, {"a+b", 3},           {"%00%ff%Fe", 3},
};

START_TEST(test_pct_decode_cases)
{
    uint8_t out[8];
    ck_assert_int_eq(crow_http_pct_decode(pct_cases[_i].in, strlen(pct_cases[_i].in), out, sizeof(out)),
                     pct_cases[_i].ret);
}
END_TEST

START_TEST(test_pct_roundtrip_binary)
{
    uint8_t bytes[256], back[256];
    char enc[800];
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t)i;
    long n = crow_http_pct_encode(bytes, sizeof(bytes), enc, sizeof(enc));
    ck_assert_int_gt(n, 256);
    ck_assert_uint_eq(strlen(enc), (size_t)n);
    ck_assert_ptr_null(strchr(enc, '&'));
    ck_assert_ptr_null(strchr(enc, '+'));
    ck_assert_int_eq(crow_http_pct_decode(enc, (size_t)n, back, sizeof(back)), 256);
    ck_assert_mem_eq(bytes, back, 256);
    ck_assert_int_eq(crow_http_pct_encode(bytes, 10, enc, 10), CROW_ESPACE);
}
END_TEST

START_TEST(test_write_head_and_error)
{
    char buf[256];
    long n = crow_http_write_head(buf, sizeof(buf), 200, "text/plain", 42, true);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 42\r\n"
                          "Connection: keep-alive\r\n\r\n");
    ck_assert_int_eq(crow_http_write_head(buf, 20, 200, "text/plain", 42, true), CROW_ESPACE);
    n = crow_http_write_error(buf, sizeof(buf), 431, "header section too large");
    ck_assert_int_eq(n, (long)strlen(buf));
    ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    ck_assert_ptr_nonnull(
        strstr(buf, "Content-Length: 25\r\nConnection: close\r\n\r\nheader section too large\n"));
}
END_TEST

START_TEST(test_response_with_length)
{
    char buf[512];
    long n = crow_http_write_head(buf, sizeof(buf), 200, "text/plain", 5, false);
    memcpy(buf + n, "hello", 5);
    crow_http_response_t res;
    crow_http_error_t err = {0};
    ck_assert_int_eq(crow_http_parse_response((uint8_t *)buf, (size_t)n + 4, false, NULL, &res, &err),
                     CROW_EMORE);
    ck_assert_int_eq(crow_http_parse_response((uint8_t *)buf, (size_t)n + 4, true, NULL, &res, &err),
                     CROW_EPARSE);
    ck_assert_int_eq(crow_http_parse_response((uint8_t *)buf, (size_t)n + 5, false, NULL, &res, &err), n + 5);
    ck_assert_int_eq(res.status, 200);
    ck_assert(str_is(res.reason, "OK"));
    ck_assert(!res.keep_alive);
    ck_assert_uint_eq(res.body_len, 5);
    ck_assert_mem_eq(res.body, "hello", 5);
}
END_TEST

START_TEST(test_response_until_eof_and_limits)
{
    const char *text = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nd8:intervali5ee";
    crow_http_response_t res;
    crow_http_error_t err = {0};
    size_t len = strlen(text);
    ck_assert_int_eq(crow_http_parse_response((const uint8_t *)text, len, false, NULL, &res, &err),
                     CROW_EMORE);
    ck_assert_int_eq(crow_http_parse_response((const uint8_t *)text, len, true, NULL, &res, &err), (int)len);
    ck_assert_uint_eq(res.body_len, 15);
    crow_http_limits_t lim = {.max_body = 10};
    ck_assert_int_eq(crow_http_parse_response((const uint8_t *)text, len, true, &lim, &res, &err),
                     CROW_ELIMIT);
    const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    ck_assert_int_eq(
        crow_http_parse_response((const uint8_t *)chunked, strlen(chunked), true, NULL, &res, &err),
        CROW_EUNSUPPORTED);
    const char *bad = "HTTP/1.1 2x0 OK\r\n\r\n";
    ck_assert_int_eq(crow_http_parse_response((const uint8_t *)bad, strlen(bad), true, NULL, &res, &err),
                     CROW_EPARSE);
    const char *no_reason = "HTTP/1.1 204\r\n\r\n";
    ck_assert_int_eq(
        crow_http_parse_response((const uint8_t *)no_reason, strlen(no_reason), false, NULL, &res, &err),
        (int)strlen(no_reason));
    ck_assert_int_eq(res.status, 204);
    ck_assert(res.keep_alive);
}
END_TEST

START_TEST(test_write_get)
{
    char buf[256];
    long n = crow_http_write_get(buf, sizeof(buf), "127.0.0.1:6969", "/announce?x=1", false);
    ck_assert_int_gt(n, 0);
    crow_http_parser_t p;
    crow_http_request_t req;
    crow_http_error_t err = {0};
    crow_http_parser_init(&p, NULL);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)buf, (size_t)n, &req, &err), n);
    ck_assert(str_is(req.target, "/announce?x=1"));
    ck_assert(!req.keep_alive);
    ck_assert(str_is(*crow_http_find_header(req.headers, req.header_count, "host"), "127.0.0.1:6969"));
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_request_fields);
    tcase_add_loop_test(tc, test_keep_alive_rules, 0, sizeof(keep_alive_cases) / sizeof(keep_alive_cases[0]));
    tcase_add_loop_test(tc, test_bad_requests_map_to_status, 0,
                        sizeof(bad_requests) / sizeof(bad_requests[0]));
    tcase_add_test(tc, test_zero_content_length_is_fine);
    tcase_add_test(tc, test_byte_by_byte);
    tcase_add_test(tc, test_pipelined_requests);
    tcase_add_test(tc, test_long_request_line_is_414_early);
    tcase_add_test(tc, test_oversized_head_is_431);
    tcase_add_test(tc, test_too_many_headers_is_431);
    tcase_add_test(tc, test_endless_blank_lines_are_bounded);
    tcase_add_test(tc, test_query_iteration);
    tcase_add_loop_test(tc, test_pct_decode_cases, 0, sizeof(pct_cases) / sizeof(pct_cases[0]));
    tcase_add_test(tc, test_pct_roundtrip_binary);
    tcase_add_test(tc, test_write_head_and_error);
    tcase_add_test(tc, test_response_with_length);
    tcase_add_test(tc, test_response_until_eof_and_limits);
    tcase_add_test(tc, test_write_get);
    suite_add_tcase(s, tc);
    return s;
}
