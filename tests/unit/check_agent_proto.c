/* The agent's protocol codec: request targets, poll answers and report acknowledgements, including
 * hostile and malformed answers from a tracker. */
#include <string.h>

#include "crowcast/agent_proto.h"
#include "crowcast/error.h"
#include "check_main.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int decode(const char *text, crow_agent_order_t *o)
{
    return crow_agent_order_decode((const uint8_t *)text, strlen(text), o, NULL);
}

START_TEST(poll_answers)
{
    crow_agent_order_t o;
    ck_assert_int_eq(decode("d8:intervali7e5:order4:nonee", &o), 0);
    ck_assert_int_eq(o.order, CROW_ORDER_NONE);
    ck_assert_uint_eq(o.interval, 7);
    ck_assert_int_eq(decode("d4:name7:app.bin5:order8:download7:release64:" ID "7:rollouti3ee", &o), 0);
    ck_assert_int_eq(o.order, CROW_ORDER_DOWNLOAD);
    ck_assert_uint_eq(o.rollout, 3);
    ck_assert_str_eq(o.release, ID);
    ck_assert_str_eq(o.name, "app.bin");
    ck_assert_int_eq(decode("d4:name3:app5:order8:activate7:release64:" ID "7:rollouti1ee", &o), 0);
    ck_assert_int_eq(o.order, CROW_ORDER_ACTIVATE);
    /* a rollback to nothing (the host ran no release before) */
    ck_assert_int_eq(decode("d4:name3:app5:order8:rollback7:release0:7:rollouti1ee", &o), 0);
    ck_assert_int_eq(o.order, CROW_ORDER_ROLLBACK);
    ck_assert_str_eq(o.release, "");
    ck_assert_int_eq(decode("d14:failure reason12:no --state!!e", &o), CROW_EPROTO);
    ck_assert_str_eq(o.failure, "no --state!!");
}
END_TEST

/* Every one of these must be refused, never half-used. */
static const char *const hostile[] = {
    "",
    "de",                                                                    /* no order */
    "le",                                                                    /* not a dictionary */
    "d5:order5:dancee",                                                      /* unknown order */
    "d5:orderi1ee",                                                          /* order of another type */
    "d8:intervali-1e5:order4:nonee",                                         /* negative interval */
    "d8:intervali999999999e5:order4:nonee",                                  /* absurd interval */
    "d4:name3:app5:order8:download7:release64:" ID "e",                      /* no rollout */
    "d4:name3:app5:order8:download7:release64:" ID "7:rollouti0ee",          /* rollout 0 */
    "d4:name3:app5:order8:download7:release64:" ID "7:rollouti4294967296ee", /* rollout over 32 bits */
    "d4:name3:app5:order8:download7:release3:abc7:rollouti1ee",              /* short release id */
    "d4:name3:app5:order8:download7:release0:7:rollouti1ee",                 /* empty id for a download */
    "d4:name3:app5:order8:download7:release64:"
    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef7:"
    "rollouti1ee",                                                    /* upper-case hex */
    "d4:name2:..5:order8:download7:release64:" ID "7:rollouti1ee",    /* parent directory */
    "d4:name5:a/../5:order8:download7:release64:" ID "7:rollouti1ee", /* a path, not a name */
    "d4:name4:.app5:order8:download7:release64:" ID "7:rollouti1ee",  /* hidden name */
    "d4:name0:5:order8:download7:release64:" ID "7:rollouti1ee",      /* empty name */
    "d4:name5:a b c5:order8:download7:release64:" ID "7:rollouti1ee", /* spaces */
    "d4:name4:a\0bc5:order8:download7:release64:" ID "7:rollouti1ee", /* NUL inside (length counts it) */
    "d5:order8:download7:release64:" ID "7:rollouti1ee",              /* no name */
    "d14:failure reasoni3ee",                                         /* failure reason not a string */
    "d5:order4:none5:order4:nonee",                                   /* duplicate key */
    "d5:order4:nonee trailing",                                       /* bytes after the value */
    "d5:order4:none",                                                 /* truncated */
    "d5:order999:nonee",                                              /* length beyond the buffer */
};

START_TEST(poll_hostile)
{
    crow_agent_order_t o;
    const char *t = hostile[_i];
    /* the NUL case spans the whole literal, past its embedded NUL */
    size_t len =
        _i == 18 ? sizeof("d4:name4:a\0bc5:order8:download7:release64:" ID "7:rollouti1ee") - 1 : strlen(t);
    const char *why = NULL;
    int ret = crow_agent_order_decode((const uint8_t *)t, len, &o, &why);
    ck_assert_msg(ret == CROW_EPARSE, "case %d: %d", _i, ret);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(o.order, CROW_ORDER_NONE);
}
END_TEST

START_TEST(acks)
{
    char why[64];
    ck_assert_int_eq(crow_agent_ack_decode((const uint8_t *)"d2:oki1ee", 9, why, sizeof why), 0);
    ck_assert_int_eq(
        crow_agent_ack_decode((const uint8_t *)"d14:failure reason8:too latee", 29, why, sizeof why),
        CROW_EPROTO);
    ck_assert_str_eq(why, "too late");
    ck_assert_int_eq(crow_agent_ack_decode((const uint8_t *)"d2:oki0ee", 9, why, sizeof why), CROW_EPARSE);
    ck_assert_int_eq(crow_agent_ack_decode((const uint8_t *)"<html>", 6, why, sizeof why), CROW_EPARSE);
    ck_assert_int_eq(crow_agent_ack_decode((const uint8_t *)"", 0, why, sizeof why), CROW_EPARSE);
}
END_TEST

START_TEST(targets)
{
    char buf[512];
    long n = crow_agent_poll_target(buf, sizeof buf, "", "web 1&x", "r1", ID, 99);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(buf, "/agent/poll?host=web%201%26x&rack=r1&current=" ID "&wait=30");
    n = crow_agent_poll_target(buf, sizeof buf, "/t", "h", NULL, "", 20);
    ck_assert_str_eq(buf, "/t/agent/poll?host=h&current=&wait=20");
    n = crow_agent_report_target(buf, sizeof buf, "", "h", 4, CROW_STEP_HEALTH, false, "exit 3: disk=full",
                                 0);
    ck_assert_str_eq(
        buf, "/agent/report?host=h&rollout=4&step=health&status=failed&detail=exit%203%3A%20disk%3Dfull");
    n = crow_agent_report_target(buf, sizeof buf, "", "h", 4, CROW_STEP_HEALTH, true, "", 1764700000123456);
    ck_assert_str_eq(buf,
                     "/agent/report?host=h&rollout=4&step=health&status=ok&detail=&seq=1764700000123456");
    n = crow_agent_torrent_target(buf, sizeof buf, "", ID);
    ck_assert_str_eq(buf, "/agent/torrent?release=" ID);
    ck_assert_int_eq(crow_agent_poll_target(buf, 20, "", "h", NULL, ID, 1), CROW_ESPACE);
}
END_TEST

START_TEST(validity)
{
    ck_assert(crow_agent_release_valid(ID));
    ck_assert(!crow_agent_release_valid(ID "0"));
    ck_assert(!crow_agent_release_valid(""));
    ck_assert(crow_agent_name_valid("app-1.2_x"));
    ck_assert(!crow_agent_name_valid("."));
    ck_assert(!crow_agent_name_valid("a/b"));
    ck_assert(!crow_agent_name_valid("caf\xc3\xa9"));
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("agent_proto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, poll_answers);
    tcase_add_loop_test(tc, poll_hostile, 0, sizeof hostile / sizeof hostile[0]);
    tcase_add_test(tc, acks);
    tcase_add_test(tc, targets);
    tcase_add_test(tc, validity);
    suite_add_tcase(s, tc);
    return s;
}
