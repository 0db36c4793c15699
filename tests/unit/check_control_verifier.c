/* control_verifier and control_policy: signed requests parsed from raw HTTP and checked under a fake
 * wall clock. A good signature is accepted once (the same bytes again are a replay), timestamps outside
 * the window, unknown or revoked identities, a wrong secret and an altered request are refused; nonces
 * are forgotten once their window passed, and a table that is full refuses rather than forgets. The
 * policy: state changes are POSTs by the right kind of identity, reads GETs (closed when asked), and
 * without keys a state change is refused unless the tracker is insecure. */
#include <stdio.h>
#include <string.h>

#include "crowcast/control_policy.h"
#include "crowcast/control_verifier.h"
#include "crowcast/error.h"
#include "check_main.h"

#define T     1764700000u
#define SLOTS 8192 /* the nonce table under test (the tracker's default is larger) */
#define ALICE "operator alice 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define H1    "agent h1 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static crow_control_auth_key_t keys[2];
static crow_control_verifier_t *v;
static char raw[4096];
static crow_http_request_t req;

static void setup(void)
{
    const char *why;
    ck_assert_int_eq(crow_control_auth_key_parse(ALICE, strlen(ALICE), &keys[0], &why), 0);
    ck_assert_int_eq(crow_control_auth_key_parse(H1, strlen(H1), &keys[1], &why), 0);
    ck_assert_int_eq(crow_control_verifier_new(&v, 30, SLOTS), 0);
    ck_assert_int_eq(crow_control_verifier_set_keys(v, keys, 2), 0);
}

static void teardown(void)
{
    crow_control_verifier_free(v);
}

/* Parses "METHOD target" sent with key (NULL: unsigned), signed for signed_target at ts with nonce n. */
static void request(const char *method, const char *target, const crow_control_auth_key_t *key,
                    const char *signed_target, uint64_t ts, uint32_t n)
{
    char auth[CROW_AUTH_HEADER_MAX + 32] = "";
    if (key) {
        uint8_t nonce[CROW_AUTH_NONCE_LEN] = {0};
        memcpy(nonce, &n, sizeof n);
        char value[CROW_AUTH_HEADER_MAX];
        ck_assert_int_gt(crow_control_auth_sign(value, sizeof value, key, method, signed_target, ts, nonce),
                         0);
        snprintf(auth, sizeof auth, "Authorization: %s\r\n", value);
    }
    int len = snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n", method, target, auth);
    crow_http_parser_t p;
    crow_http_error_t err;
    crow_http_parser_init(&p, NULL);
    ck_assert_int_eq(crow_http_parse_request(&p, (const uint8_t *)raw, (size_t)len, &req, &err), len);
}

static int check(uint64_t now, crow_verdict_t *out)
{
    return crow_control_verifier_check(v, &req, now, out);
}

START_TEST(test_accepts_once)
{
    crow_verdict_t out;
    request("POST", "/rollout/pause?reason=x", &keys[0], "/rollout/pause?reason=x", T, 1);
    ck_assert_int_eq(check(T, &out), 0);
    ck_assert_str_eq(out.key->name, "alice");
    ck_assert_int_eq(out.key->kind, CROW_AUTH_OPERATOR);
    ck_assert_int_eq(check(T + 1, &out), CROW_EPROTO);
    ck_assert_int_eq(out.status, 401);
    ck_assert_str_eq(out.why, "replayed request (its nonce was seen already)");
    request("POST", "/rollout/pause?reason=x", &keys[0], "/rollout/pause?reason=x", T, 2);
    ck_assert_int_eq(check(T, &out), 0); /* the same command, freshly signed */
}
END_TEST

START_TEST(test_window)
{
    crow_verdict_t out;
    request("POST", "/agent/poll?host=h1", &keys[1], "/agent/poll?host=h1", T - 31, 1);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    ck_assert_str_eq(out.why, "timestamp outside the replay window (are the clocks in sync?)");
    request("POST", "/agent/poll?host=h1", &keys[1], "/agent/poll?host=h1", T + 31, 2);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    request("POST", "/agent/poll?host=h1", &keys[1], "/agent/poll?host=h1", T - 30, 3);
    ck_assert_int_eq(check(T, &out), 0);
    request("POST", "/agent/poll?host=h1", &keys[1], "/agent/poll?host=h1", T + 30, 4);
    ck_assert_int_eq(check(T, &out), 0);
    /* A replay is refused as long as its timestamp is inside the window, and by the window after. */
    ck_assert_int_eq(check(T + 60, &out), CROW_EPROTO);
    ck_assert_str_eq(out.why, "replayed request (its nonce was seen already)");
    ck_assert_int_eq(check(T + 61, &out), CROW_EPROTO);
    ck_assert_str_eq(out.why, "timestamp outside the replay window (are the clocks in sync?)");
}
END_TEST

START_TEST(test_refusals)
{
    crow_verdict_t out;
    request("POST", "/rollout/start?plan=x", NULL, NULL, 0, 0);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    ck_assert_int_eq(out.status, 401);
    ck_assert_ptr_nonnull(strstr(out.why, "no Authorization header"));
    crow_control_auth_key_t bob = keys[0];
    snprintf(bob.name, sizeof bob.name, "bob");
    request("POST", "/rollout/abort", &bob, "/rollout/abort", T, 1);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    ck_assert_ptr_nonnull(strstr(out.why, "unknown identity"));
    crow_control_auth_key_t wrong = keys[0];
    wrong.secret[0] ^= 0x80;
    request("POST", "/rollout/abort", &wrong, "/rollout/abort", T, 2);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    ck_assert_ptr_nonnull(strstr(out.why, "bad signature"));
    /* Signed for one thing, sent for another. */
    request("POST", "/rollout/abort", &keys[0], "/rollout/pause", T, 3);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    ck_assert_ptr_nonnull(strstr(out.why, "bad signature"));
    request("POST", "/agent/report?host=h1&status=ok", &keys[1], "/agent/report?host=h1&status=failed", T, 4);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    request("GET", "/agent/report?host=h1&status=ok", &keys[1], "/agent/report?host=h1&status=ok", T, 5);
    ck_assert_int_eq(check(T, &out), 0); /* the method is signed: a GET signed as a GET passes here */
    /* A refused request does not burn its nonce: the genuine one with it still passes. */
    request("POST", "/rollout/abort", &wrong, "/rollout/abort", T, 6);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    request("POST", "/rollout/abort", &keys[0], "/rollout/abort", T, 6);
    ck_assert_int_eq(check(T, &out), 0);
}
END_TEST

START_TEST(test_reload_revokes)
{
    crow_verdict_t out;
    ck_assert_int_eq(crow_control_verifier_key_count(v), 2);
    ck_assert_int_eq(crow_control_verifier_set_keys(v, &keys[1], 1), 0);
    request("POST", "/rollout/abort", &keys[0], "/rollout/abort", T, 1);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    ck_assert_ptr_nonnull(strstr(out.why, "unknown identity"));
    request("POST", "/agent/poll", &keys[1], "/agent/poll", T, 2);
    ck_assert_int_eq(check(T, &out), 0);
    /* Rotated: the old secret no longer signs. */
    crow_control_auth_key_t rotated = keys[1];
    memset(rotated.secret, 7, sizeof rotated.secret);
    ck_assert_int_eq(crow_control_verifier_set_keys(v, &rotated, 1), 0);
    request("POST", "/agent/poll", &keys[1], "/agent/poll", T, 3);
    ck_assert_int_eq(check(T, &out), CROW_EPROTO);
    request("POST", "/agent/poll", &rotated, "/agent/poll", T, 4);
    ck_assert_int_eq(check(T, &out), 0);
}
END_TEST

START_TEST(test_nonce_table)
{
    crow_verdict_t out;
    /* 60 requests a second for 200 s (a quarter of the table live): nonces leave with their window,
     * slots are reused. */
    uint32_t n = 0;
    for (uint64_t s = 0; s < 200; s++)
        for (int k = 0; k < 60; k++) {
            request("POST", "/agent/poll", &keys[1], "/agent/poll", T + s, ++n);
            ck_assert_msg(check(T + s, &out) == 0, "request %u: %s", n, out.why);
        }
    /* More within one window than the table holds: refused (503), never let through twice. */
    int busy = 0;
    for (uint32_t k = 0; k < SLOTS + 1000; k++) {
        request("POST", "/agent/poll", &keys[1], "/agent/poll", T + 500, ++n);
        if (check(T + 500, &out)) {
            ck_assert_int_eq(out.status, 503);
            busy++;
        }
    }
    ck_assert_int_gt(busy, 0);
    request("POST", "/agent/poll", &keys[1], "/agent/poll", T + 500, n);
    ck_assert_int_eq(check(T + 500, &out), CROW_EPROTO);
}
END_TEST

/* ---- policy ---- */

static const struct {
    const char *method, *target;
    int key;   /* -1 unsigned, else keys[] */
    bool auth; /* a verifier (--auth) */
    bool insecure, closed;
    int status; /* 0 admitted */
    const char *extra;
} cases[] = {
    {"GET", "/rollout/pause", 0, true, false, false, 405, "Allow: POST"},
    {"GET", "/agent/poll?host=h1", 1, true, false, false, 405, "Allow: POST"},
    {"POST", "/status", -1, true, false, false, 405, "Allow: GET"},
    {"DELETE", "/rollout/abort", 0, true, false, false, 405, "Allow: POST"},
    {"POST", "/rollout/pause", -1, false, false, false, 403, NULL},
    {"POST", "/rollout/pause", -1, false, true, false, 0, NULL},
    {"POST", "/agent/report", -1, false, true, false, 0, NULL},
    {"GET", "/status", -1, false, false, false, 0, NULL},
    {"POST", "/rollout/pause", -1, true, false, false, 401, "WWW-Authenticate: Crowcast-HMAC-SHA256"},
    {"POST", "/rollout/pause", 0, true, false, false, 0, NULL},
    {"POST", "/rollout/start?torrent=x", 1, true, false, false, 403, NULL},
    {"POST", "/agent/poll?host=h1", 0, true, false, false, 403, NULL},
    {"POST", "/agent/poll?host=h1", 1, true, false, false, 0, NULL},
    {"GET", "/rollout/status", -1, true, false, false, 0, NULL},
    {"GET", "/rollout/status", 0, true, false, false, 0, NULL}, /* a signed open read: its answer is signed */
    {"GET", "/rollout/status", -1, true, false, true, 401, "WWW-Authenticate: Crowcast-HMAC-SHA256"},
    {"GET", "/status", -1, true, false, true, 401, "WWW-Authenticate: Crowcast-HMAC-SHA256"},
    {"GET", "/metrics", 1, true, false, true, 0, NULL},
    {"GET", "/agent/torrent?release=x", 1, true, false, true, 0, NULL},
    {"GET", "/announce?info_hash=x", -1, true, false, true, 0, NULL},
};

START_TEST(test_policy)
{
    const crow_control_auth_key_t *key = cases[_i].key < 0 ? NULL : &keys[cases[_i].key];
    request(cases[_i].method, cases[_i].target, key, cases[_i].target, T, (uint32_t)_i + 1);
    crow_control_policy_t p = {.verifier = cases[_i].auth ? v : NULL,
                               .insecure = cases[_i].insecure,
                               .closed_reads = cases[_i].closed};
    crow_admission_t a;
    bool ok = crow_control_policy_admit(&p, &req, T, &a);
    ck_assert_msg(ok == (cases[_i].status == 0) && a.status == cases[_i].status, "%s %s: %d %s",
                  cases[_i].method, cases[_i].target, a.status, a.why);
    if (cases[_i].extra)
        ck_assert_str_eq(a.extra, cases[_i].extra);
    else
        ck_assert_ptr_null(a.extra);
    ck_assert(ok || a.why[0]);
    if (ok && key && cases[_i].auth) {
        ck_assert_ptr_nonnull(a.who);
        ck_assert_int_eq(a.who->kind, key->kind);
        ck_assert_uint_eq(strlen(a.nonce), 2 * CROW_AUTH_NONCE_LEN);
    }
}
END_TEST

START_TEST(test_secure_default_message)
{
    request("POST", "/rollout/start?torrent=x", NULL, NULL, 0, 0);
    crow_control_policy_t p = {0};
    crow_admission_t a;
    ck_assert(!crow_control_policy_admit(&p, &req, T, &a));
    ck_assert_ptr_nonnull(strstr(a.why, "no --auth FILE"));
    request("GET", "/rollout/start?torrent=x", NULL, NULL, 0, 0);
    ck_assert(!crow_control_policy_admit(&p, &req, T, &a));
    ck_assert_str_eq(a.why, "/rollout/start changes state: POST it (signed), not GET");
    ck_assert_int_eq(crow_control_policy_access((crow_http_str_t){"/rollout/startx", 15}),
                     CROW_ACCESS_PUBLIC);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("control_verifier");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_accepts_once);
    tcase_add_test(tc, test_window);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_reload_revokes);
    tcase_add_test(tc, test_nonce_table);
    tcase_add_loop_test(tc, test_policy, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_secure_default_message);
    suite_add_tcase(s, tc);
    return s;
}
