/* rollout_plan: parsing plan files (canary, waves by rack, N% and rest, defaults and per-wave
 * options), every error with its line, the limits, and assigning racks to waves (percentages rounded
 * up in name order, racks left out, unknown racks and waves that get no rack). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/racks.h"
#include "crowcast/rollout_plan.h"
#include "check_main.h"

static crow_rollout_plan_t plan;
static char names[CROW_RACKS_MAX + 1][CROW_RACK_NAME_MAX + 1];
static uint32_t wave_of[CROW_RACKS_MAX + 1];

static int parse(const char *text, crow_rollout_plan_error_t *err)
{
    return crow_rollout_plan_parse(&plan, text, strlen(text), err);
}

static const char sample[] = "# staged rollout of the web tier\n"
                             "\n"
                             "defaults healthy=90% soak=30s\n"
                             "canary r1 failures=1 soak=2m   # one rack first\n"
                             "wave\tr2,r3  parallel=2\r\n"
                             "defaults failures=3\n"
                             "   wave 25% soak=1h\n"
                             "wave rest healthy=100% soak=45\n";

START_TEST(test_parse_sample)
{
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(parse(sample, &err), 0);
    ck_assert_uint_eq(plan.wave_count, 4);
    ck_assert_uint_eq(plan.named_count, 3);
    ck_assert_str_eq(plan.named[0], "r1");
    ck_assert_str_eq(plan.named[2], "r3");

    const crow_rollout_plan_wave_t *w = plan.waves;
    ck_assert(w[0].canary);
    ck_assert_int_eq(w[0].select, CROW_WAVE_RACKS);
    ck_assert_uint_eq(w[0].first_named, 0);
    ck_assert_uint_eq(w[0].named_count, 1);
    ck_assert_uint_eq(w[0].healthy_pct, 90); /* from the defaults */
    ck_assert_uint_eq(w[0].max_failures, 1);
    ck_assert_uint_eq(w[0].soak_s, 120); /* its own option wins */
    ck_assert_uint_eq(w[0].parallel, 0);
    ck_assert_uint_eq(w[0].line, 4);

    ck_assert(!w[1].canary);
    ck_assert_int_eq(w[1].select, CROW_WAVE_RACKS);
    ck_assert_uint_eq(w[1].first_named, 1);
    ck_assert_uint_eq(w[1].named_count, 2);
    ck_assert_uint_eq(w[1].parallel, 2);
    ck_assert_uint_eq(w[1].soak_s, 30);
    ck_assert_uint_eq(w[1].max_failures, 1); /* the later defaults do not reach back */
    ck_assert_uint_eq(w[1].line, 5);

    ck_assert_int_eq(w[2].select, CROW_WAVE_PERCENT);
    ck_assert_uint_eq(w[2].percent, 25);
    ck_assert_uint_eq(w[2].soak_s, 3600);
    ck_assert_uint_eq(w[2].max_failures, 3);
    ck_assert_uint_eq(w[2].healthy_pct, 90); /* defaults accumulate */
    ck_assert_uint_eq(w[2].line, 7);

    ck_assert_int_eq(w[3].select, CROW_WAVE_REST);
    ck_assert_uint_eq(w[3].healthy_pct, 100);
    ck_assert_uint_eq(w[3].soak_s, 45);
    ck_assert_uint_eq(w[3].max_failures, 3);
}
END_TEST

START_TEST(test_defaults_and_bounds)
{
    ck_assert_int_eq(parse("wave r1", NULL), 0); /* no final newline, no error buffer */
    ck_assert_uint_eq(plan.wave_count, 1);
    ck_assert_uint_eq(plan.waves[0].healthy_pct, 100);
    ck_assert_uint_eq(plan.waves[0].max_failures, 1);
    ck_assert_uint_eq(plan.waves[0].soak_s, 0);
    ck_assert_uint_eq(plan.waves[0].parallel, 0);
    ck_assert(!plan.waves[0].canary);
    ck_assert_int_eq(parse("wave 100% healthy=1% failures=100000 soak=168h parallel=100000\n", NULL), 0);
    ck_assert_uint_eq(plan.waves[0].percent, 100);
    ck_assert_uint_eq(plan.waves[0].healthy_pct, 1);
    ck_assert_uint_eq(plan.waves[0].max_failures, 100000);
    ck_assert_uint_eq(plan.waves[0].soak_s, 7 * 24 * 3600);
    ck_assert_uint_eq(plan.waves[0].parallel, 100000);
    ck_assert_int_eq(parse("wave r1 soak=10080m\nwave r2 soak=604800s healthy=50% healthy=60%\n", NULL), 0);
    ck_assert_uint_eq(plan.waves[0].soak_s, 604800);
    ck_assert_uint_eq(plan.waves[1].healthy_pct, 60); /* the last value of a repeated option */
    /* A rejected `defaults` line changes nothing even in part (the error comes first anyway). */
    ck_assert_int_eq(parse("defaults failures=2 bogus\nwave r1\n", NULL), CROW_EPARSE);
}
END_TEST

static const struct {
    const char *text;
    int code;
    unsigned line;
    const char *message;
} broken[] = {
    {"canary r1\nbogus r2\n", CROW_EPARSE, 2, "line 2: unknown directive 'bogus'"},
    {"Wave r1\n", CROW_EPARSE, 1, "line 1: unknown directive 'Wave'"},
    {"wave r1\ncanary r2\n", CROW_EPARSE, 2, "line 2: the canary must be the first wave"},
    {"canary r1\ncanary r2\n", CROW_EPARSE, 2, "line 2: the canary must be the first wave"},
    {"canary r1,r2\n", CROW_EPARSE, 1, "line 1: a canary names one rack, not 'r1,r2'"},
    {"canary rest\n", CROW_EPARSE, 1, "line 1: a canary names one rack, not 'rest'"},
    {"canary 10%\n", CROW_EPARSE, 1, "line 1: a canary names one rack, not '10%'"},
    {"\n\ncanary\n", CROW_EPARSE, 3, "line 3: canary wants a rack"},
    {"wave   # nothing\n", CROW_EPARSE, 1, "line 1: wave wants racks, N% or rest"},
    {"wave r1 foo=1\n", CROW_EPARSE, 1, "line 1: unknown option 'foo=1'"},
    {"wave r1 healthy\n", CROW_EPARSE, 1, "line 1: expected key=value, not 'healthy'"},
    {"wave r1 healthy=0%\n", CROW_EPARSE, 1, "line 1: bad value in 'healthy=0%'"},
    {"wave r1 healthy=101%\n", CROW_EPARSE, 1, "line 1: bad value in 'healthy=101%'"},
    {"wave r1 healthy=50\n", CROW_EPARSE, 1, "line 1: bad value in 'healthy=50'"},
    {"wave r1 healthy=\n", CROW_EPARSE, 1, "line 1: bad value in 'healthy='"},
    {"wave r1 failures=0\n", CROW_EPARSE, 1, "line 1: bad value in 'failures=0'"},
    {"wave r1 failures=100001\n", CROW_EPARSE, 1, "line 1: bad value in 'failures=100001'"},
    {"wave r1 failures=01\n", CROW_EPARSE, 1, "line 1: bad value in 'failures=01'"},
    {"wave r1 failures=-1\n", CROW_EPARSE, 1, "line 1: bad value in 'failures=-1'"},
    {"wave r1 failures=99999999999\n", CROW_EPARSE, 1, "line 1: bad value in 'failures=99999999999'"},
    {"wave r1 soak=1d\n", CROW_EPARSE, 1, "line 1: bad value in 'soak=1d'"},
    {"wave r1 soak=169h\n", CROW_EPARSE, 1, "line 1: bad value in 'soak=169h'"},
    {"wave r1 soak=s\n", CROW_EPARSE, 1, "line 1: bad value in 'soak=s'"},
    {"wave r1 parallel=two\n", CROW_EPARSE, 1, "line 1: bad value in 'parallel=two'"},
    {"defaults healthy=90%\ndefaults soak=x\nwave r1\n", CROW_EPARSE, 2, "line 2: bad value in 'soak=x'"},
    {"wave 0%\n", CROW_EPARSE, 1, "line 1: bad percentage '0%'"},
    {"wave 101%\n", CROW_EPARSE, 1, "line 1: bad percentage '101%'"},
    {"wave %\n", CROW_EPARSE, 1, "line 1: bad percentage '%'"},
    {"wave 5.5%\n", CROW_EPARSE, 1, "line 1: bad percentage '5.5%'"},
    {"wave r1,,r2\n", CROW_EPARSE, 1, "line 1: bad rack name ''"},
    {"wave r1,\n", CROW_EPARSE, 1, "line 1: bad rack name ''"},
    {"wave r1/x\n", CROW_EPARSE, 1, "line 1: bad rack name 'r1/x'"},
    {"wave abcdefghijklmnopqrstuvwxyz0123456\n", CROW_EPARSE, 1, "line 1: bad rack name"},
    {"canary r1\nwave r2,r1\n", CROW_EPARSE, 2, "line 2: rack named twice 'r1'"},
    {"wave r1,r1\n", CROW_EPARSE, 1, "line 1: rack named twice 'r1'"},
    {"canary r1\nwave rest\n\nwave r9\n", CROW_EPARSE, 4, "line 4: no rack is left after line 2's wave"},
    {"wave 100%\nwave 10%\n", CROW_EPARSE, 2, "line 2: no rack is left after line 1's wave"},
    {"", CROW_EPARSE, 0, "the plan has no wave"},
    {"# just a comment\n\ndefaults soak=1m\n", CROW_EPARSE, 0, "the plan has no wave"},
};

START_TEST(test_errors_name_the_line)
{
    crow_rollout_plan_error_t err = {0};
    int ret = parse(broken[_i].text, &err);
    ck_assert_msg(ret == broken[_i].code, "%s: got %d", broken[_i].text, ret);
    ck_assert_uint_eq(err.line, broken[_i].line);
    ck_assert_msg(strncmp(err.text, broken[_i].message, strlen(broken[_i].message)) == 0,
                  "got '%s', want '%s'", err.text, broken[_i].message);
    /* A failed parse leaves an empty plan, not half of one. */
    ck_assert_uint_eq(plan.wave_count, 0);
    ck_assert_uint_eq(plan.named_count, 0);
}
END_TEST

START_TEST(test_nul_byte_and_limits)
{
    crow_rollout_plan_error_t err = {0};
    static const char nul[] = "canary r1\nwave r2 \0 soak=1\n";
    ck_assert_int_eq(crow_rollout_plan_parse(&plan, nul, sizeof nul - 1, &err), CROW_EPARSE);
    ck_assert_uint_eq(err.line, 2);

    static char text[4096];
    size_t len = 0;
    for (int i = 0; i <= CROW_PLAN_MAX_WAVES; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "wave r%d\n", i);
    ck_assert_int_le(len, CROW_PLAN_MAX_TEXT);
    ck_assert_int_eq(crow_rollout_plan_parse(&plan, text, len, &err), CROW_ELIMIT);
    ck_assert_uint_eq(err.line, CROW_PLAN_MAX_WAVES + 1);
    ck_assert_str_eq(err.text, "line 33: too many waves");
    /* Exactly the maximum is fine. */
    len = (size_t)(strrchr(text, 'w') - text);
    ck_assert_int_eq(crow_rollout_plan_parse(&plan, text, len, &err), 0);
    ck_assert_uint_eq(plan.wave_count, CROW_PLAN_MAX_WAVES);

    /* 65 racks named across two waves. */
    len = (size_t)snprintf(text, sizeof text, "wave ");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%sr%d", i ? "," : "", i);
    len += (size_t)snprintf(text + len, sizeof text - len, "\nwave ");
    for (int i = 40; i <= CROW_PLAN_MAX_NAMED; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%sr%d", i > 40 ? "," : "", i);
    ck_assert_int_le(len, CROW_PLAN_MAX_TEXT);
    ck_assert_int_eq(crow_rollout_plan_parse(&plan, text, len, &err), CROW_ELIMIT);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_str_eq(err.text, "line 2: too many racks named");

    /* A plan over 1024 bytes, even of comments. */
    memset(text, '#', CROW_PLAN_MAX_TEXT + 1);
    memcpy(text, "wave r1\n", 8);
    ck_assert_int_eq(crow_rollout_plan_parse(&plan, text, CROW_PLAN_MAX_TEXT, &err), 0);
    ck_assert_int_eq(crow_rollout_plan_parse(&plan, text, CROW_PLAN_MAX_TEXT + 1, &err), CROW_ELIMIT);
    ck_assert_uint_eq(err.line, 0);
}
END_TEST

static uint32_t set_racks(const char *list)
{
    uint32_t n = 0;
    for (const char *p = list; *p; n++) {
        size_t len = strcspn(p, " ");
        snprintf(names[n], sizeof names[n], "%.*s", (int)len, p);
        p += len + (p[len] == ' ');
    }
    return n;
}

static const struct {
    const char *plan, *racks;
    uint32_t waves[12]; /* wave of each rack, 1-based; 0 = left out */
} assignments[] = {
    {"canary r1\nwave r2\nwave r3\n", "r1 r2 r3", {1, 2, 3}},
    /* Named racks in any order of the rack table; racks the plan leaves out stay out. */
    {"canary r3\nwave r1\n", "r1 r2 r3 r4", {2, 0, 1, 0}},
    /* rest: every rack no wave names. */
    {"canary b\nwave rest\n", "d b a c", {2, 1, 2, 2}},
    /* N% of the unnamed racks, rounded up, taken in name order. */
    {"canary r0\nwave 50%\nwave rest\n", "r0 e d c b a", {1, 3, 3, 2, 2, 2}},
    {"wave 10%\nwave 10%\nwave rest\n", "a b c d e f g h i j k", {1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3}},
    /* A percentage that would take more than is left takes what is left. */
    {"wave 60%\nwave 60%\n", "a b c d", {1, 1, 1, 2}},
    {"wave x,y\nwave 100%\n", "y z x w", {1, 2, 1, 2}},
};

START_TEST(test_assign)
{
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(parse(assignments[_i].plan, &err), 0);
    uint32_t n = set_racks(assignments[_i].racks);
    ck_assert_int_eq(
        crow_rollout_plan_assign(&plan, (const char(*)[CROW_RACK_NAME_MAX + 1]) names, n, wave_of, &err), 0);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t want = assignments[_i].waves[i] ? assignments[_i].waves[i] - 1 : UINT32_MAX;
        ck_assert_msg(wave_of[i] == want, "%s: rack %s in wave %d, want %d", assignments[_i].plan, names[i],
                      (int)wave_of[i], (int)want);
    }
}
END_TEST

static const struct {
    const char *plan, *racks;
    int code;
    unsigned line;
    const char *message;
} misassigned[] = {
    {"canary r1\nwave r2\n\nwave r9,r3\n", "r1 r2 r3", CROW_EPARSE, 4, "line 4: no such rack 'r9'"},
    {"canary r1\nwave rest\n", "r1", CROW_EPARSE, 2, "line 2: this wave gets no rack"},
    {"wave r1,r2\nwave 10%\n", "r1 r2", CROW_EPARSE, 2, "line 2: this wave gets no rack"},
    {"wave 50%\nwave 50%\nwave rest\n", "a b", CROW_EPARSE, 3, "line 3: this wave gets no rack"},
    {"wave rest\n", "", CROW_EPARSE, 1, "line 1: this wave gets no rack"},
};

START_TEST(test_assign_errors)
{
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(parse(misassigned[_i].plan, &err), 0);
    uint32_t n = set_racks(misassigned[_i].racks);
    ck_assert_int_eq(
        crow_rollout_plan_assign(&plan, (const char(*)[CROW_RACK_NAME_MAX + 1]) names, n, wave_of, &err),
        misassigned[_i].code);
    ck_assert_uint_eq(err.line, misassigned[_i].line);
    ck_assert_str_eq(err.text, misassigned[_i].message);
}
END_TEST

START_TEST(test_assign_many_racks)
{
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(parse("canary rack000\nwave 1%\nwave 50%\nwave rest\n", &err), 0);
    for (int i = 0; i <= CROW_RACKS_MAX; i++)
        snprintf(names[i], sizeof names[i], "rack%03d", CROW_RACKS_MAX - i);
    ck_assert_int_eq(crow_rollout_plan_assign(&plan, (const char(*)[CROW_RACK_NAME_MAX + 1]) names,
                                              CROW_RACKS_MAX + 1, wave_of, &err),
                     CROW_ELIMIT);
    /* names[k] is rack(256-k): rack000 is the last entry. Drop rack256 (the first) to fit the limit. */
    ck_assert_int_eq(crow_rollout_plan_assign(&plan, (const char(*)[CROW_RACK_NAME_MAX + 1]) names + 1,
                                              CROW_RACKS_MAX, wave_of, &err),
                     0);
    uint32_t per_wave[4] = {0};
    for (int i = 0; i < CROW_RACKS_MAX; i++) {
        ck_assert_uint_lt(wave_of[i], 4);
        per_wave[wave_of[i]]++;
    }
    /* 255 unnamed racks: 1% -> 3 (rounded up), 50% -> 128, rest -> 124. */
    ck_assert_uint_eq(per_wave[0], 1);
    ck_assert_uint_eq(per_wave[1], 3);
    ck_assert_uint_eq(per_wave[2], 128);
    ck_assert_uint_eq(per_wave[3], 124);
    /* The 1% wave takes the first names: rack001..rack003 (names + 1 starts at rack255). */
    ck_assert_uint_eq(wave_of[CROW_RACKS_MAX - 2], 1);
    ck_assert_uint_eq(wave_of[CROW_RACKS_MAX - 4], 1);
    ck_assert_uint_eq(wave_of[CROW_RACKS_MAX - 5], 2);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("rollout_plan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_sample);
    tcase_add_test(tc, test_defaults_and_bounds);
    tcase_add_loop_test(tc, test_errors_name_the_line, 0, sizeof broken / sizeof broken[0]);
    tcase_add_test(tc, test_nul_byte_and_limits);
    tcase_add_loop_test(tc, test_assign, 0, sizeof assignments / sizeof assignments[0]);
    tcase_add_loop_test(tc, test_assign_errors, 0, sizeof misassigned / sizeof misassigned[0]);
    tcase_add_test(tc, test_assign_many_racks);
    suite_add_tcase(s, tc);
    return s;
}
