/* control_auth: key lines and keys files (comments, blanks, every malformed field, a name given twice),
 * a signature that round-trips through the Authorization header, a MAC that changes with every signed
 * field, and malformed headers refused. */
#include <stdio.h>
#include <string.h>

#include "crowcast/control_auth.h"
#include "crowcast/error.h"
#include "check_main.h"

#define SECRET "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const struct {
    const char *line;
    int ret;
} lines[] = {
    {"operator alice " SECRET, 0},
    {"  agent web-17.rack_2\t" SECRET "  ", 0},
    {"admin alice " SECRET, CROW_EPARSE},
    {"operator " SECRET, CROW_EPARSE},
    {"operator al/ice " SECRET, CROW_EPARSE},
    {"operator alice " SECRET "0", CROW_EPARSE},
    {"operator alice 00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff", 0},
    {"operator alice 0011223344556677889gaabbccddeeff00112233445566778899aabbccddeeff", CROW_EPARSE},
    {"operator alice " SECRET " extra", CROW_EPARSE},
    {"operator", CROW_EPARSE},
    {"", CROW_EPARSE},
    {"operator aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa " SECRET, CROW_EPARSE},
};

START_TEST(test_key_lines)
{
    crow_control_auth_key_t k;
    const char *why = NULL;
    int ret = crow_control_auth_key_parse(lines[_i].line, strlen(lines[_i].line), &k, &why);
    ck_assert_msg(ret == lines[_i].ret, "%s: %d", lines[_i].line, ret);
    if (ret) {
        ck_assert_ptr_nonnull(why);
        return;
    }
    char out[CROW_AUTH_LINE_MAX];
    long n = crow_control_auth_key_format(&k, out, sizeof out);
    ck_assert_int_gt(n, 0);
    crow_control_auth_key_t back;
    ck_assert_int_eq(crow_control_auth_key_parse(out, (size_t)n - 1, &back, &why), 0);
    ck_assert_mem_eq(&k, &back, sizeof k);
    ck_assert_uint_eq(k.secret[1], 0x11);
}
END_TEST

START_TEST(test_keys_file)
{
    static const char text[] = "# the fleet\n\noperator alice " SECRET "  # on call\nagent h1 " SECRET
                               "\r\nagent alice " SECRET "\n   \n";
    crow_control_auth_key_t keys[4];
    size_t count;
    unsigned line;
    const char *why;
    ck_assert_int_eq(crow_control_auth_keys_parse(text, strlen(text), keys, 4, &count, &line, &why), 0);
    ck_assert_uint_eq(count, 3);
    ck_assert_int_eq(keys[0].kind, CROW_AUTH_OPERATOR);
    ck_assert_str_eq(keys[2].name, "alice");
    ck_assert_int_eq(keys[2].kind, CROW_AUTH_AGENT);
    ck_assert_int_eq(crow_control_auth_keys_parse(text, strlen(text), keys, 2, &count, &line, &why),
                     CROW_ELIMIT);
    static const char twice[] = "agent h1 " SECRET "\n\nagent h1 " SECRET "\n";
    ck_assert_int_eq(crow_control_auth_keys_parse(twice, strlen(twice), keys, 4, &count, &line, &why),
                     CROW_EPARSE);
    ck_assert_uint_eq(line, 3);
    ck_assert_str_eq(why, "this identity is given twice");
    static const char bad[] = "agent h1 " SECRET "\nagent h2 nothex\n";
    ck_assert_int_eq(crow_control_auth_keys_parse(bad, strlen(bad), keys, 4, &count, &line, &why),
                     CROW_EPARSE);
    ck_assert_uint_eq(line, 2);
}
END_TEST

static crow_control_auth_key_t alice(void)
{
    crow_control_auth_key_t k;
    const char *why;
    static const char line[] = "operator alice " SECRET;
    ck_assert_int_eq(crow_control_auth_key_parse(line, strlen(line), &k, &why), 0);
    return k;
}

static const uint8_t nonce[CROW_AUTH_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static crow_http_str_t str(const char *s)
{
    return (crow_http_str_t){s, strlen(s)};
}

START_TEST(test_sign_and_check)
{
    crow_control_auth_key_t k = alice();
    char value[CROW_AUTH_HEADER_MAX];
    long n = crow_control_auth_sign(value, sizeof value, &k, "POST", "/rollout/pause?reason=x%20y",
                                    1764700000, nonce);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(value, "Crowcast-HMAC-SHA256 id=operator:alice,ts=1764700000,"
                                        "nonce=0102030405060708090a0b0c0d0e0f10,sig="));
    crow_control_auth_claim_t c;
    const char *why;
    ck_assert_int_eq(crow_control_auth_claim_parse(value, (size_t)n, &c, &why), 0);
    ck_assert_int_eq(c.kind, CROW_AUTH_OPERATOR);
    ck_assert_str_eq(c.name, "alice");
    ck_assert_uint_eq(c.ts, 1764700000);
    uint8_t mac[CROW_HMAC_SHA256_LEN];
    crow_control_auth_mac(k.secret, &c, str("POST"), str("/rollout/pause"), str("reason=x%20y"), mac);
    ck_assert_mem_eq(mac, c.sig, sizeof mac);
    /* Every signed field changes the MAC. */
    const crow_http_str_t variants[][3] = {
        {str("GET"), str("/rollout/pause"), str("reason=x%20y")},
        {str("POST"), str("/rollout/abort"), str("reason=x%20y")},
        {str("POST"), str("/rollout/pause"), str("reason=x%20z")},
        {str("POST"), str("/rollout/pause"), str("")},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        crow_control_auth_mac(k.secret, &c, variants[i][0], variants[i][1], variants[i][2], mac);
        ck_assert_msg(memcmp(mac, c.sig, sizeof mac) != 0, "variant %zu", i);
    }
    crow_control_auth_claim_t other = c;
    other.ts++;
    crow_control_auth_mac(k.secret, &other, str("POST"), str("/rollout/pause"), str("reason=x%20y"), mac);
    ck_assert(memcmp(mac, c.sig, sizeof mac) != 0);
    other = c;
    other.kind = CROW_AUTH_AGENT;
    crow_control_auth_mac(k.secret, &other, str("POST"), str("/rollout/pause"), str("reason=x%20y"), mac);
    ck_assert(memcmp(mac, c.sig, sizeof mac) != 0);
    other = c;
    other.nonce[0] = '1';
    crow_control_auth_mac(k.secret, &other, str("POST"), str("/rollout/pause"), str("reason=x%20y"), mac);
    ck_assert(memcmp(mac, c.sig, sizeof mac) != 0);
    k.secret[31] ^= 1;
    crow_control_auth_mac(k.secret, &c, str("POST"), str("/rollout/pause"), str("reason=x%20y"), mac);
    ck_assert(memcmp(mac, c.sig, sizeof mac) != 0);
    /* A target without a query signs an empty one. */
    n = crow_control_auth_sign(value, sizeof value, &k, "POST", "/agent/poll", 1, nonce);
    ck_assert_int_eq(crow_control_auth_claim_parse(value, (size_t)n, &c, &why), 0);
    crow_control_auth_mac(k.secret, &c, str("POST"), str("/agent/poll"), str(""), mac);
    ck_assert_mem_eq(mac, c.sig, sizeof mac);
    ck_assert_int_eq(crow_control_auth_sign(value, 40, &k, "POST", "/agent/poll", 1, nonce), CROW_ESPACE);
}
END_TEST

/* The tracker's answer MAC binds the request's nonce, the status and every byte of the body. */
START_TEST(test_answer_mac)
{
    crow_control_auth_key_t k = alice();
    static const uint8_t body[] = "d5:order8:activatee";
    const char *req = "0102030405060708090a0b0c0d0e0f10";
    char a[2 * CROW_HMAC_SHA256_LEN + 1], b[2 * CROW_HMAC_SHA256_LEN + 1];
    crow_control_auth_answer_mac(k.secret, req, 200, body, sizeof body - 1, a);
    ck_assert_uint_eq(strlen(a), 64);
    crow_control_auth_answer_mac(k.secret, req, 200, body, sizeof body - 1, b);
    ck_assert_str_eq(a, b);
    crow_control_auth_answer_mac(k.secret, "0102030405060708090a0b0c0d0e0f11", 200, body, sizeof body - 1, b);
    ck_assert_str_ne(a, b);
    crow_control_auth_answer_mac(k.secret, req, 201, body, sizeof body - 1, b);
    ck_assert_str_ne(a, b);
    crow_control_auth_answer_mac(k.secret, req, 200, body, sizeof body - 2, b);
    ck_assert_str_ne(a, b);
    k.secret[0] ^= 1;
    crow_control_auth_answer_mac(k.secret, req, 200, body, sizeof body - 1, b);
    ck_assert_str_ne(a, b);
}
END_TEST

#define SIG   "0000000000000000000000000000000000000000000000000000000000000000"
#define NONCE "0102030405060708090a0b0c0d0e0f10"
static const char *const bad_headers[] = {
    "",
    "Basic YWxpY2U6cGFzcw==",
    "Crowcast-HMAC-SHA256",
    "Crowcast-HMAC-SHA256 id=operator:alice,ts=1,nonce=" NONCE,
    "Crowcast-HMAC-SHA256 id=root:alice,ts=1,nonce=" NONCE ",sig=" SIG,
    "Crowcast-HMAC-SHA256 id=operator:,ts=1,nonce=" NONCE ",sig=" SIG,
    "Crowcast-HMAC-SHA256 id=operator:a b,ts=1,nonce=" NONCE ",sig=" SIG,
    "Crowcast-HMAC-SHA256 id=operator:alice,ts=,nonce=" NONCE ",sig=" SIG,
    "Crowcast-HMAC-SHA256 id=operator:alice,ts=-1,nonce=" NONCE ",sig=" SIG,
    "Crowcast-HMAC-SHA256 id=operator:alice,ts=9999999999999,nonce=" NONCE ",sig=" SIG,
    "Crowcast-HMAC-SHA256 id=operator:alice,ts=1,nonce=0102,sig=" SIG,
    "Crowcast-HMAC-SHA256 id=operator:alice,ts=1,nonce=" NONCE ",sig=" SIG "00",
    "Crowcast-HMAC-SHA256 id=operator:alice,ts=1,nonce=" NONCE ",sig=" SIG ",x=1",
    "Crowcast-HMAC-SHA256 ts=1,id=operator:alice,nonce=" NONCE ",sig=" SIG,
    "Crowcast-HMAC-SHA256 id=operator:alice,ts=1,nonce=0102030405060708090A0B0C0D0E0F10,sig=" SIG,
};

START_TEST(test_bad_headers)
{
    crow_control_auth_claim_t c;
    const char *why = NULL;
    /* Exactly the bytes of the value, not NUL-terminated beyond them. */
    char copy[512];
    size_t n = strlen(bad_headers[_i]);
    memcpy(copy, bad_headers[_i], n);
    memset(copy + n, 'f', sizeof copy - n);
    ck_assert_msg(crow_control_auth_claim_parse(copy, n, &c, &why) == CROW_EPARSE, "%s", bad_headers[_i]);
    ck_assert_ptr_nonnull(why);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("control_auth");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_key_lines, 0, sizeof lines / sizeof lines[0]);
    tcase_add_test(tc, test_keys_file);
    tcase_add_test(tc, test_sign_and_check);
    tcase_add_test(tc, test_answer_mac);
    tcase_add_loop_test(tc, test_bad_headers, 0, sizeof bad_headers / sizeof bad_headers[0]);
    suite_add_tcase(s, tc);
    return s;
}
