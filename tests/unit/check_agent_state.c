/* The agent's state file: round trips, the edits the agent makes, and hostile files. */
#include <stdio.h>
#include <string.h>

#include "crowcast/agent_state.h"
#include "crowcast/error.h"
#include "check_main.h"

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static uint8_t buf[CROW_AGENT_STATE_MAX];

START_TEST(round_trip)
{
    static crow_agent_state_t s, t;
    memset(&s, 0, sizeof s);
    crow_agent_state_switch(&s, "app", A);
    crow_agent_state_switch(&s, "app", B);
    crow_agent_state_switch(&s, "db", A);
    crow_agent_report_t r = {.rollout = 7, .step = CROW_STEP_HEALTH, .ok = false, .detail = "exit 3"};
    crow_agent_state_queue(&s, &r, 1000);
    crow_agent_state_queue(&s, &r, 900); /* the clock went back: the numbers still grow */
    crow_agent_state_pop(&s);
    long n = crow_agent_state_encode(&s, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(crow_agent_state_decode(buf, (size_t)n, &t, NULL), 0);
    ck_assert_uint_eq(t.outbox[0].seq, 1001);
    ck_assert_uint_eq(t.seq, 1001);
    /* A state file lost: the next number still passes the last the tracker took. */
    static crow_agent_state_t fresh;
    crow_agent_state_queue(&fresh, &r, 5000);
    ck_assert_uint_eq(fresh.outbox[0].seq, 5000);
    ck_assert_uint_eq(t.release_count, 2);
    ck_assert_str_eq(t.releases[0].name, "db"); /* most recently changed first */
    crow_agent_release_t *app = crow_agent_state_find(&t, "app");
    ck_assert_ptr_nonnull(app);
    ck_assert_str_eq(app->current, B);
    ck_assert_str_eq(app->previous, A);
    ck_assert_uint_eq(t.outbox_count, 1);
    ck_assert_uint_eq(t.outbox[0].rollout, 7);
    ck_assert_int_eq(t.outbox[0].step, CROW_STEP_HEALTH);
    ck_assert(!t.outbox[0].ok);
    ck_assert_str_eq(t.outbox[0].detail, "exit 3");
    /* re-activating the same release keeps the rollback target */
    crow_agent_state_switch(&t, "app", B);
    ck_assert_str_eq(crow_agent_state_find(&t, "app")->previous, A);
    /* a rollback is not rolled back */
    crow_agent_state_rollback(&t, "app", A);
    ck_assert_str_eq(crow_agent_state_find(&t, "app")->current, A);
    ck_assert_str_eq(crow_agent_state_find(&t, "app")->previous, "");
    crow_agent_state_pop(&t);
    ck_assert_uint_eq(t.outbox_count, 0);
    crow_agent_state_pop(&t); /* harmless when empty */
}
END_TEST

START_TEST(bounded)
{
    static crow_agent_state_t s, t;
    memset(&s, 0, sizeof s);
    char name[16];
    for (int i = 0; i < CROW_AGENT_MAX_NAMES + 3; i++) {
        snprintf(name, sizeof name, "n%d", i);
        crow_agent_state_switch(&s, name, A);
    }
    ck_assert_uint_eq(s.release_count, CROW_AGENT_MAX_NAMES);
    ck_assert_ptr_null(crow_agent_state_find(&s, "n0")); /* the least recently changed went */
    for (uint32_t i = 0; i < CROW_AGENT_MAX_OUTBOX + 5; i++) {
        crow_agent_report_t r = {.rollout = i + 1, .step = CROW_STEP_DOWNLOAD, .ok = true};
        memset(r.detail, 'x', CROW_AGENT_DETAIL_MAX);
        crow_agent_state_queue(&s, &r, UINT64_C(1764700000000000) + i);
    }
    ck_assert_uint_eq(s.outbox_count, CROW_AGENT_MAX_OUTBOX);
    ck_assert_uint_eq(s.outbox[0].rollout, 6); /* the oldest were dropped */
    /* the fullest state fits the buffer the agent reads and writes */
    long n = crow_agent_state_encode(&s, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, (long)sizeof buf);
    ck_assert_int_eq(crow_agent_state_decode(buf, (size_t)n, &t, NULL), 0);
    ck_assert_uint_eq(t.outbox_count, CROW_AGENT_MAX_OUTBOX);
}
END_TEST

#define REL(n, c, p) "d7:current" c "4:name" n "8:previous" p "e"
#define ID64         "64:" A

static const struct {
    const char *text;
    int code;
} hostile[] = {
    {"", CROW_EPARSE},
    {"garbage", CROW_EPARSE},
    {"de", CROW_EPARSE},                                        /* no version */
    {"d6:outboxle8:releasesle7:versioni2ee", CROW_EPARSE},      /* unknown version */
    {"d6:outboxle8:releasesde7:versioni1ee", CROW_EPARSE},      /* releases not a list */
    {"d8:releasesle7:versioni1ee", CROW_EPARSE},                /* no outbox */
    {"d6:outboxle8:releaseslre7:versioni1ee", CROW_EPARSE},     /* bad nesting */
    {"d6:outboxle8:releaseslli1eee7:versioni1ee", CROW_EPARSE}, /* entry not a dictionary */
    {"d6:outboxle8:releasesl" REL("2:..", ID64, "0:") "e7:versioni1ee", CROW_EPARSE},     /* unsafe name */
    {"d6:outboxle8:releasesl" REL("3:a/b", ID64, "0:") "e7:versioni1ee", CROW_EPARSE},    /* a path */
    {"d6:outboxle8:releasesl" REL("3:app", "3:abc", "0:") "e7:versioni1ee", CROW_EPARSE}, /* short id */
    {"d6:outboxle8:releasesl" REL("3:app", ID64, "1:x") "e7:versioni1ee", CROW_EPARSE},   /* bad previous */
    {"d6:outboxle8:releasesl" REL("3:app", ID64, "0:") REL("3:app", ID64, "0:") "e7:versioni1ee",
     CROW_EPARSE}, /* the same name twice */
    {"d6:outboxld6:detail0:2:oki2e7:rollouti1e4:step8:downloadee8:releaseslee7:versioni1ee",
     CROW_EPARSE}, /* ok not 0/1 */
    {"d6:outboxld6:detail0:2:oki1e7:rollouti0e4:step8:downloadee8:releaseslee7:versioni1ee",
     CROW_EPARSE}, /* rollout 0 */
    {"d6:outboxld6:detail0:2:oki1e7:rollouti1e4:step5:dancee8:releaseslee7:versioni1ee",
     CROW_EPARSE}, /* unknown step */
    {"d6:outboxld2:oki1e7:rollouti1e4:step8:downloadee8:releaseslee7:versioni1ee",
     CROW_EPARSE},                                          /* no detail */
    {"d6:outboxle8:releaseslee7:versioni1e", CROW_EPARSE},  /* truncated */
    {"d6:outboxle8:releaseslle7:versioni1ee", CROW_ELIMIT}, /* placeholder: replaced by the too-many case */
};

START_TEST(state_hostile)
{
    static crow_agent_state_t s;
    char text[8192];
    const char *t = hostile[_i].text;
    int want = hostile[_i].code;
    if (want == CROW_ELIMIT) {
        /* one release entry more than the agent keeps */
        size_t n = (size_t)snprintf(text, sizeof text, "d6:outboxle8:releasesl");
        for (int i = 0; i <= CROW_AGENT_MAX_NAMES; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "d7:current0:4:name2:n%c8:previous0:e", 'a' + i);
        snprintf(text + n, sizeof text - n, "e7:versioni1ee");
        t = text;
    }
    const char *why = NULL;
    int ret = crow_agent_state_decode((const uint8_t *)t, strlen(t), &s, &why);
    ck_assert_msg(ret == want, "case %d: %d", _i, ret);
    ck_assert_ptr_nonnull(why);
    ck_assert_uint_eq(s.release_count, 0); /* nothing half-used */
    ck_assert_uint_eq(s.outbox_count, 0);
}
END_TEST

START_TEST(encode_refuses)
{
    static crow_agent_state_t s;
    memset(&s, 0, sizeof s);
    crow_agent_state_switch(&s, "app", A);
    ck_assert_int_eq(crow_agent_state_encode(&s, buf, 10), CROW_ESPACE);
    snprintf(s.releases[0].current, sizeof s.releases[0].current, "nothex");
    ck_assert_int_eq(crow_agent_state_encode(&s, buf, sizeof buf), CROW_EPARSE);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("agent_state");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, bounded);
    tcase_add_loop_test(tc, state_hostile, 0, sizeof hostile / sizeof hostile[0]);
    tcase_add_test(tc, encode_refuses);
    suite_add_tcase(s, tc);
    return s;
}
