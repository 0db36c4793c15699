/* rollout_query: the tracker's parsing of /agent/poll, /agent/report and /rollout/start query strings
 * (percent-decoding, mandatory keys, ranges, embedded NULs, lengths), single values, and the bencoded
 * poll answer read back with the bencode decoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/bencode.h"
#include "crowcast/error.h"
#include "crowcast/rollout_query.h"
#include "check_main.h"

#define REL "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static crow_http_str_t q(const char *text)
{
    return (crow_http_str_t){text, strlen(text)};
}

START_TEST(test_poll_ok)
{
    crow_poll_query_t p;
    const char *why = NULL;
    ck_assert_int_eq(crow_poll_query_parse(q("wait=30&host=web%2D1&rack=r1&current=" REL "&x=1"), &p, &why),
                     0);
    ck_assert_str_eq(p.host, "web-1");
    ck_assert_str_eq(p.rack, "r1");
    ck_assert_str_eq(p.current, REL);
    ck_assert_uint_eq(p.wait_s, 30);
    /* Only host is mandatory; empty values are "absent". */
    ck_assert_int_eq(crow_poll_query_parse(q("host=h&rack=&current="), &p, &why), 0);
    ck_assert_str_eq(p.rack, "");
    ck_assert_str_eq(p.current, "");
    ck_assert_uint_eq(p.wait_s, 0);
}
END_TEST

START_TEST(test_report_ok)
{
    crow_report_query_t r;
    const char *why = NULL;
    ck_assert_int_eq(crow_report_query_parse(
                         q("host=h1&rollout=12&step=health&status=failed&detail=exit%20code%203"), &r, &why),
                     0);
    ck_assert_str_eq(r.host, "h1");
    ck_assert_uint_eq(r.rollout, 12);
    ck_assert_int_eq(r.step, CROW_STEP_HEALTH);
    ck_assert(!r.ok);
    ck_assert_str_eq(r.detail, "exit code 3");
    ck_assert_int_eq(crow_report_query_parse(q("host=h1&rollout=1&step=download&status=ok"), &r, &why), 0);
    ck_assert(r.ok);
    ck_assert_int_eq(r.step, CROW_STEP_DOWNLOAD);
    ck_assert_str_eq(r.detail, "");
}
END_TEST

/* Refused queries: which parser (0 poll, 1 report), the query, a word the reason must contain. */
static const struct {
    int kind;
    const char *query, *why_has;
} bad[] = {
    {0, "", "host"},
    {0, "host=", "host"},
    {0, "rack=r1", "host"},
    {0, "host=a%00b", "host"},
    {0, "host=a%zz", "host"},
    {0, "host=h&wait=31", "wait"},
    {0, "host=h&wait=-1", "wait"},
    {0, "host=h&wait=1x", "wait"},
    {0, "host=h&wait=", "wait"},
    {0, "host=h&current=ABC", "current"},
    {0, "host=h&current=" REL "0", "current"},
    {0, "host=h&current=0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "current"},
    {0, "host=h&rack=0123456789012345678901234567890123", "rack"},
    {1, "rollout=1&step=download&status=ok", "host"},
    {1, "host=h&step=download&status=ok", "rollout"},
    {1, "host=h&rollout=0&step=download&status=ok", "rollout"},
    {1, "host=h&rollout=1x&step=download&status=ok", "rollout"},
    {1, "host=h&rollout=9999999999&step=download&status=ok", "rollout"},
    {1, "host=h&rollout=1&step=install&status=ok", "step"},
    {1, "host=h&rollout=1&status=ok", "step"},
    {1, "host=h&rollout=1&step=activate&status=OK", "status"},
    {1, "host=h&rollout=1&step=activate", "status"},
    {1, "host=h&rollout=1&step=activate&status=ok&detail=%0", "detail"},
};

START_TEST(test_bad)
{
    crow_poll_query_t p;
    crow_report_query_t r;
    const char *why = NULL;
    int ret = bad[_i].kind == 0 ? crow_poll_query_parse(q(bad[_i].query), &p, &why)
                                : crow_report_query_parse(q(bad[_i].query), &r, &why);
    ck_assert_int_eq(ret, CROW_EPARSE);
    ck_assert_msg(why && strstr(why, bad[_i].why_has), "'%s': why '%s'", bad[_i].query, why);
}
END_TEST

START_TEST(test_start)
{
    crow_start_query_t s;
    const char *why = NULL;
    ck_assert_int_eq(
        crow_start_query_parse(q("torrent=%2Fsrv%2Fa%20b.torrent&plan=canary%20r1%0Awave%20rest%0A"
                                 "&distribute=per-wave"),
                               &s, &why),
        0);
    ck_assert_str_eq(s.torrent, "/srv/a b.torrent");
    ck_assert_str_eq(s.plan, "canary r1\nwave rest\n");
    ck_assert_int_eq(s.distribute, CROW_DISTRIBUTE_PER_WAVE);
    ck_assert_int_eq(crow_start_query_parse(q("torrent=/x&plan=wave%20rest"), &s, &why), 0);
    ck_assert_int_eq(s.distribute, CROW_DISTRIBUTE_ALL);
    /* A relative path means nothing to the tracker; the plan and distribute values are checked. */
    ck_assert_int_eq(crow_start_query_parse(q("torrent=x.torrent&plan=wave%20rest"), &s, &why), CROW_EPARSE);
    ck_assert_ptr_nonnull(strstr(why, "torrent"));
    ck_assert_int_eq(crow_start_query_parse(q("torrent=/x"), &s, &why), CROW_EPARSE);
    ck_assert_ptr_nonnull(strstr(why, "plan"));
    ck_assert_int_eq(crow_start_query_parse(q("torrent=/x&plan=w&distribute=some"), &s, &why), CROW_EPARSE);
    ck_assert_ptr_nonnull(strstr(why, "distribute"));
    /* A plan of 1024 bytes fits, 1025 does not. */
    static char query[8192];
    int n = snprintf(query, sizeof query, "torrent=/x&plan=");
    memset(query + n, 'a', 1024);
    query[n + 1024] = '\0';
    ck_assert_int_eq(crow_start_query_parse(q(query), &s, &why), 0);
    ck_assert_uint_eq(strlen(s.plan), 1024);
    strcat(query, "a");
    ck_assert_int_eq(crow_start_query_parse(q(query), &s, &why), CROW_EPARSE);
    ck_assert_ptr_nonnull(strstr(why, "1024"));
}
END_TEST

START_TEST(test_value)
{
    char out[8];
    ck_assert_int_eq(crow_query_value(q("a=1&b=x%41y&b=2"), "b", out, sizeof out), 0);
    ck_assert_str_eq(out, "xAy");
    ck_assert_int_eq(crow_query_value(q("a=1&ab=2"), "b", out, sizeof out), 1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(crow_query_value(q("b=1234567"), "b", out, sizeof out), 0);
    ck_assert_int_eq(crow_query_value(q("b=12345678"), "b", out, sizeof out), CROW_ELIMIT);
    ck_assert_int_eq(crow_query_value(q("b=%4"), "b", out, sizeof out), CROW_EPARSE);
    ck_assert_int_eq(crow_query_value(q("b=a%00"), "b", out, sizeof out), CROW_EPARSE);
    ck_assert_int_eq(crow_query_value(q("b"), "b", out, sizeof out), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

static void expect_str(const crow_bencode_doc_t *doc, const char *key, const char *want)
{
    const uint8_t *s;
    size_t n;
    ck_assert_msg(crow_bencode_dict_str(doc, 0, key, &s, &n), "no %s", key);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert(memcmp(s, want, n) == 0);
}

START_TEST(test_poll_answer)
{
    uint8_t buf[512];
    crow_bencode_node_t nodes[32];
    crow_bencode_doc_t doc;
    int64_t v;
    long n = crow_poll_answer_encode(buf, sizeof buf, CROW_ORDER_ROLLBACK, 7, REL, "app", 5);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(crow_bencode_decode(buf, (size_t)n, nodes, 32, &doc, NULL), 0);
    expect_str(&doc, "order", "rollback");
    expect_str(&doc, "release", REL);
    expect_str(&doc, "name", "app");
    ck_assert(crow_bencode_dict_int(&doc, 0, "rollout", &v) && v == 7);
    ck_assert(crow_bencode_dict_int(&doc, 0, "interval", &v) && v == 5);
    n = crow_poll_answer_encode(buf, sizeof buf, CROW_ORDER_NONE, 0, "", "", 5);
    ck_assert_int_eq(crow_bencode_decode(buf, (size_t)n, nodes, 32, &doc, NULL), 0);
    expect_str(&doc, "order", "none");
    expect_str(&doc, "release", "");
    ck_assert_int_eq(crow_poll_answer_encode(buf, 20, CROW_ORDER_NONE, 0, "", "", 5), CROW_ESPACE);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("rollout_query");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_poll_ok);
    tcase_add_test(tc, test_report_ok);
    tcase_add_loop_test(tc, test_bad, 0, sizeof bad / sizeof bad[0]);
    tcase_add_test(tc, test_start);
    tcase_add_test(tc, test_value);
    tcase_add_test(tc, test_poll_answer);
    suite_add_tcase(s, tc);
    return s;
}
