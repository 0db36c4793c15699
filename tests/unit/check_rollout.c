/* rollout: the coordinator's state machine driven in memory under a fake clock. Simulated agents
 * (3 racks x 3 hosts) pick up their orders and report; every record goes through the journal codec.
 * Covers a clean canary r1 -> r2 -> r3 rollout, a sick wave halting at its failure threshold with the
 * in-flight limit, rollback wave by wave in reverse, pause/resume/abort, soak deadlines, per-wave
 * distribution, refused records (second activation, another rollout, unknown host, full host table),
 * replay of the journal into a fresh coordinator, and hosts that stop polling expiring from a rollout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/journal.h"
#include "crowcast/racks.h"
#include "crowcast/rollout.h"
#include "check_main.h"

#define HOSTS 9
#define TABLE 4096 /* hosts of test_host_table_limit (its table is cut to this size) */
#define T0    1700000000000ull

static char old_rel[65], new_rel[65], next_rel[65];
static char journal[4 << 20];
static size_t journal_len;
static char json_a[1 << 16], json_b[1 << 16];

struct sim {
    crow_rollout_t *r;
    uint64_t now;
    /* By index in the host table (h11..h33 are 0..8). */
    bool sick[TABLE], dl_fails[TABLE];
    bool silent[TABLE];        /* its agent is gone: no poll, no report */
    bool mute_activate[TABLE]; /* goes silent when told to activate */
    int activated[TABLE], rolled_back[TABLE];
    bool unjournaled;     /* records are checked and applied only (the big tables outgrow the journal) */
    char orders[512][80]; /* "activate h21", in the order they were decided */
    int order_count;
    uint32_t max_in_flight; /* most hosts of the current wave ordered or active at once */
};

static struct sim sim;

static const char *host_name(int i)
{
    static char names[HOSTS][16];
    snprintf(names[i], sizeof names[i], "h%d%d", i / 3 + 1, i % 3 + 1);
    return names[i];
}

/* Checks, journals (through the codec) and applies a record, as the tracker does. */
static int submit(const crow_jrec_t *rec)
{
    int ret = crow_rollout_check(sim.r, rec);
    if (ret)
        return ret;
    if (!sim.unjournaled) {
        long n = crow_journal_encode(journal + journal_len, sizeof journal - journal_len, rec);
        ck_assert_int_gt(n, 0);
        journal_len += (size_t)n;
    }
    ck_assert_int_eq(crow_rollout_apply(sim.r, rec), 0);
    return 0;
}

/* Copies a test string into a record field, cut to fit (snprintf with "%s" trips -Wformat-truncation
 * at -O3 for the over-long names some cases pass on purpose). */
static void put(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int register_host(const char *host, const char *rack, const char *current)
{
    static crow_jrec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.type = CROW_JREC_HOST;
    rec.t_ms = sim.now;
    put(rec.host, sizeof rec.host, host);
    put(rec.rack, sizeof rec.rack, rack);
    put(rec.release, sizeof rec.release, current);
    return submit(&rec);
}

static int report(const char *host, uint32_t rollout, enum crow_step step, bool ok, const char *detail)
{
    static crow_jrec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.type = CROW_JREC_REPORT;
    rec.rollout = rollout;
    rec.t_ms = sim.now;
    rec.code = (int32_t)step;
    rec.status = ok ? 0 : 1;
    put(rec.host, sizeof rec.host, host);
    put(rec.text, sizeof rec.text, detail);
    return submit(&rec);
}

static int control(enum crow_control c, const char *why)
{
    static crow_jrec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.type = CROW_JREC_CONTROL;
    rec.rollout = sim.r->id;
    rec.t_ms = sim.now;
    rec.code = (int32_t)c;
    put(rec.text, sizeof rec.text, why);
    return submit(&rec);
}

static int start(const char *release, const char *plan, enum crow_distribute mode,
                 crow_rollout_plan_error_t *err)
{
    static crow_jrec_t rec;
    static crow_racks_t racks;
    static const char racks_file[] =
        "rack r1 10.0.1.0/24 239.9.0.1:7001\nrack r2 10.0.2.0/24 239.9.0.2:7001\n"
        "rack r3 10.0.3.0/24 239.9.0.3:7001\n";
    ck_assert_int_eq(crow_racks_parse(&racks, racks_file, strlen(racks_file), NULL), 0);
    int ret = crow_rollout_prepare_start(sim.r, release, "app-2.0", "/srv/state/app.torrent", plan, &racks,
                                         mode, sim.now, &rec, err);
    return ret ? ret : submit(&rec);
}

/* In-flight activations of the wave being worked on. */
static uint32_t in_flight(void)
{
    crow_wave_counts_t c;
    crow_rollout_wave_counts(sim.r, sim.r->current, &c);
    return c.ordered + c.active;
}

/* Journals and applies every decision the coordinator has now. Returns how many there were. */
static int drive(void)
{
    static crow_jrec_t rec;
    int n = 0;
    while (crow_rollout_next(sim.r, sim.now, &rec) == 1) {
        ck_assert_int_eq(submit(&rec), 0);
        if (rec.type == CROW_JREC_ORDER && sim.order_count < 512)
            snprintf(sim.orders[sim.order_count++], sizeof sim.orders[0], "%s %s", crow_order_name(rec.code),
                     rec.host);
        ck_assert_int_lt(++n, 10000);
    }
    if (sim.r->current < sim.r->wave_count && in_flight() > sim.max_in_flight)
        sim.max_in_flight = in_flight();
    return n;
}

/* Each agent does what it is told, like `crowcast agent`: activate then health, in one go. */
static int agents(void)
{
    int n = 0;
    uint32_t id = sim.r->id;
    for (uint32_t i = 0; i < sim.r->host_count; i++) {
        const char *rel, *h = sim.r->hosts[i].name;
        if (sim.silent[i])
            continue;
        crow_rollout_seen(sim.r, i, sim.now); /* its poll */
        enum crow_order o = crow_rollout_order_for(sim.r, h, &rel);
        if (o == CROW_ORDER_ACTIVATE && sim.mute_activate[i]) {
            sim.silent[i] = true;
            continue;
        }
        switch (o) {
        case CROW_ORDER_DOWNLOAD:
            ck_assert_int_eq(report(h, id, CROW_STEP_DOWNLOAD, !sim.dl_fails[i], "disk full"), 0);
            break;
        case CROW_ORDER_ACTIVATE:
            ck_assert_str_eq(rel, sim.r->release);
            sim.activated[i]++;
            ck_assert_int_eq(report(h, id, CROW_STEP_ACTIVATE, true, ""), 0);
            ck_assert_int_eq(report(h, id, CROW_STEP_HEALTH, !sim.sick[i], "http 500"), 0);
            break;
        case CROW_ORDER_ROLLBACK:
            ck_assert_str_eq(rel, sim.r->hosts[i].previous);
            sim.rolled_back[i]++;
            ck_assert_int_eq(report(h, id, CROW_STEP_ROLLBACK, true, ""), 0);
            break;
        default:
            continue;
        }
        n++;
    }
    return n;
}

/* Decisions and agents in turns until nothing moves. */
static void settle(void)
{
    for (int round = 0; round < 1000; round++)
        if (drive() + agents() == 0)
            return;
    ck_abort_msg("the rollout never settled");
}

static const crow_rollout_host_t *host(int i)
{
    uint32_t k = crow_rollout_find_host(sim.r, host_name(i));
    ck_assert_uint_ne(k, UINT32_MAX);
    return &sim.r->hosts[k];
}

static int order_index(const char *what)
{
    for (int k = 0; k < sim.order_count; k++)
        if (strcmp(sim.orders[k], what) == 0)
            return k;
    return -1;
}

static void setup(void)
{
    memset(old_rel, 'a', 64);
    memset(new_rel, 'b', 64);
    memset(next_rel, 'c', 64);
    journal_len = 0;
    crow_rollout_t *r = NULL;
    ck_assert_int_eq(crow_rollout_new(&r), 0);
    memset(&sim, 0, sizeof sim);
    sim.r = r;
    sim.now = T0;
    for (int i = 0; i < HOSTS; i++) {
        char rack[8];
        snprintf(rack, sizeof rack, "r%d", i / 3 + 1);
        ck_assert_int_eq(register_host(host_name(i), rack, old_rel), 0);
    }
}

static void teardown(void)
{
    crow_rollout_free(sim.r);
}

static const char three_waves[] = "canary r1\nwave r2 failures=1\nwave r3\n";

START_TEST(test_clean_rollout_done)
{
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(crow_rollout_status_text(sim.r, sim.now, json_a, sizeof json_a),
                     strlen("no rollout yet\n"));
    ck_assert_int_eq(start(new_rel, three_waves, CROW_DISTRIBUTE_ALL, &err), 0);
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_RUNNING);
    ck_assert_uint_eq(sim.r->id, 1);
    ck_assert_uint_eq(sim.r->wave_count, 3);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    ck_assert_str_eq(sim.r->end_reason, "every wave done");
    for (int i = 0; i < HOSTS; i++) {
        ck_assert_int_eq(sim.activated[i], 1);
        ck_assert_int_eq(host(i)->act, CROW_ACT_HEALTHY);
        ck_assert_str_eq(host(i)->current, new_rel);
        ck_assert_str_eq(host(i)->previous, old_rel);
    }
    for (uint32_t w = 0; w < 3; w++)
        ck_assert_int_eq(sim.r->waves[w].state, CROW_WAVE_DONE);
    ck_assert_uint_eq(sim.r->activations_ordered, HOSTS);
    /* Every host downloaded before any activated (distribution to all), and the waves activated in order,
     * one host at a time (failures=1 allows one in flight). */
    ck_assert_int_lt(order_index("download h33"), order_index("activate h11"));
    ck_assert_int_lt(order_index("activate h13"), order_index("activate h21"));
    ck_assert_int_lt(order_index("activate h23"), order_index("activate h31"));
    ck_assert_uint_eq(sim.max_in_flight, 1);
    /* Nothing is left to do or to hand out. */
    static crow_jrec_t rec;
    ck_assert_int_eq(crow_rollout_next(sim.r, sim.now + 3600000, &rec), 0);
    const char *rel;
    ck_assert_int_eq(crow_rollout_order_for(sim.r, "h22", &rel), CROW_ORDER_NONE);
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), UINT64_MAX);

    long n = crow_rollout_status_json(sim.r, sim.now, json_a, sizeof json_a);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(json_a, "\"state\":\"done\""));
    ck_assert_ptr_nonnull(strstr(json_a, "{\"host\":\"h31\",\"state\":\"healthy\",\"current\":\"bbbb"));
    ck_assert_int_eq(crow_rollout_status_json(sim.r, sim.now, json_a, (size_t)n), CROW_ESPACE);
    n = crow_rollout_status_text(sim.r, sim.now, json_a, sizeof json_a);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(json_a, "rollout 1: app-2.0 (bbbbbbbbbbbb) done"));
    ck_assert_ptr_nonnull(strstr(json_a, "rack r2 (wave 2): h21=healthy h22=healthy h23=healthy"));
    n = crow_rollout_metrics(sim.r, json_a, sizeof json_a);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(json_a, "crowcast_rollout_state{state=\"done\"} 1"));
    ck_assert_ptr_nonnull(strstr(json_a, "crowcast_rollout_activations_total 9"));
    ck_assert_ptr_nonnull(strstr(json_a, "crowcast_rollout_wave_hosts{wave=\"3\",state=\"healthy\"} 3"));
}
END_TEST

/* A sick r2: the wave stops at its threshold, with no more hosts activated than the plan allows. */
static const struct {
    const char *plan;
    int sick_in_r2;         /* the first N hosts of r2 fail their health check */
    int activated_in_r2;    /* hosts of r2 told to activate before the halt */
    uint32_t max_in_flight; /* hosts of r2 ordered or active at once */
    const char *reason;
} sick[] = {
    {"canary r1\nwave r2 failures=1\nwave r3\n", 3, 1, 1, "1 of 3 hosts failed (threshold 1)"},
    /* With 100% healthy (the default) the first failure halts; 1% isolates the failure threshold. */
    {"canary r1\nwave r2 failures=2 parallel=1\nwave r3\n", 3, 1, 1,
     "1 of 3 hosts failed: 100% healthy is out of reach"},
    {"canary r1\nwave r2 failures=2 healthy=1%\nwave r3\n", 3, 2, 2, "2 of 3 hosts failed (threshold 2)"},
    {"canary r1\nwave r2 failures=2 healthy=1% parallel=1\nwave r3\n", 3, 2, 1,
     "2 of 3 hosts failed (threshold 2)"},
    /* 34% of 3 is 2 healthy hosts: out of reach after the second failure. */
    {"canary r1\nwave r2 failures=3 healthy=34% parallel=1\nwave r3\n", 3, 2, 1,
     "2 of 3 hosts failed: 34% healthy is out of reach"},
    /* One sick host of three with two failures allowed and 60% healthy: the wave goes on. */
    {"canary r1\nwave r2 failures=2 healthy=60%\nwave r3\n", 1, 3, 2, NULL},
};

static void run_sick(int k)
{
    crow_rollout_plan_error_t err = {0};
    for (int i = 0; i < sick[k].sick_in_r2; i++)
        sim.sick[3 + i] = true;
    ck_assert_int_eq(start(new_rel, sick[k].plan, CROW_DISTRIBUTE_ALL, &err), 0);
    settle();
}

START_TEST(test_sick_wave_halts_at_threshold)
{
    run_sick(_i);
    int in_r2 = 0;
    for (int i = 3; i < 6; i++)
        in_r2 += sim.activated[i];
    ck_assert_int_eq(in_r2, sick[_i].activated_in_r2);
    ck_assert_uint_eq(sim.max_in_flight, sick[_i].max_in_flight);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(host(i)->act, CROW_ACT_HEALTHY);
        ck_assert_str_eq(host(i)->current, new_rel);
    }
    if (!sick[_i].reason) {
        ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
        ck_assert_int_eq(host(3)->act, CROW_ACT_FAILED);
        ck_assert_str_eq(host(3)->detail, "health: http 500");
        ck_assert_int_eq(sim.r->waves[2].state, CROW_WAVE_DONE);
        return;
    }
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_HALTED);
    ck_assert_int_eq(sim.r->waves[0].state, CROW_WAVE_DONE);
    ck_assert_int_eq(sim.r->waves[1].state, CROW_WAVE_HALTED);
    ck_assert_int_eq(sim.r->waves[2].state, CROW_WAVE_PENDING);
    ck_assert_str_eq(sim.r->waves[1].reason, sick[_i].reason);
    ck_assert_str_eq(sim.r->end_reason, sick[_i].reason);
    /* r3 downloaded (distribution to all) but was never told to activate and still runs the old release. */
    for (int i = 6; i < 9; i++) {
        ck_assert_int_eq(sim.activated[i], 0);
        ck_assert_int_eq(host(i)->dl, CROW_HS_OK);
        ck_assert_int_eq(host(i)->act, CROW_ACT_NONE);
        ck_assert_str_eq(host(i)->current, old_rel);
        ck_assert_int_lt(order_index("activate h31"), 0);
    }
    ck_assert_uint_eq(sim.r->decisions_by_kind[1], 1); /* one halt */
    long n = crow_rollout_status_json(sim.r, sim.now, json_a, sizeof json_a);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(json_a, "\"state\":\"halted\""));
    ck_assert_ptr_nonnull(strstr(json_a, "{\"host\":\"h21\",\"state\":\"failed\""));
    ck_assert_ptr_nonnull(strstr(json_a, "\"detail\":\"health: http 500\""));
    ck_assert_ptr_nonnull(strstr(json_a, "wave 2 (r2) halted: "));
}
END_TEST

/* Rollback after the halt: r2's activated hosts first, then r1's, each back to the old release. */
START_TEST(test_rollback_in_reverse_wave_order)
{
    run_sick(0);
    int before = sim.order_count;
    ck_assert_int_eq(control(CROW_CONTROL_ROLLBACK, "r2 is sick"), 0);
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_ROLLING_BACK);
    ck_assert_int_eq(control(CROW_CONTROL_ROLLBACK, "again"), 1); /* a repeat changes nothing */
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_ROLLED_BACK);
    ck_assert_str_eq(sim.r->end_reason, "every wave rolled back");
    /* Exactly the four activated hosts, r2's one before r1's three. */
    ck_assert_int_eq(sim.order_count - before, 4);
    ck_assert_str_eq(sim.orders[before], "rollback h21");
    for (int k = 1; k < 4; k++)
        ck_assert_ptr_nonnull(strstr(sim.orders[before + k], "rollback h1"));
    for (int i = 0; i < 9; i++) {
        ck_assert_int_eq(sim.rolled_back[i], i < 4 ? 1 : 0);
        ck_assert_str_eq(host(i)->current, old_rel);
        ck_assert_int_le(sim.activated[i], 1);
    }
    ck_assert_int_eq(sim.r->waves[1].state, CROW_WAVE_ROLLED_BACK);
    ck_assert_int_eq(sim.r->waves[0].state, CROW_WAVE_ROLLED_BACK);
    ck_assert_int_eq(sim.r->waves[2].state, CROW_WAVE_PENDING);
    /* In the journal, r2's wave was rolled back before r1's first rollback order. */
    size_t wave2_back = 0, first_r1 = 0;
    static crow_jrec_t rec;
    for (size_t pos = 0; pos < journal_len;) {
        int n = crow_journal_decode(journal + pos, journal_len - pos, &rec);
        ck_assert_int_gt(n, 0);
        if (rec.type == CROW_JREC_WAVE && rec.wave == 1 && rec.code == CROW_WAVE_ROLLED_BACK)
            wave2_back = pos;
        if (rec.type == CROW_JREC_ORDER && rec.code == CROW_ORDER_ROLLBACK && rec.host[1] == '1' &&
            !first_r1) {
            first_r1 = pos;
            ck_assert_str_eq(rec.release, old_rel);
        }
        pos += (size_t)n;
    }
    ck_assert_uint_gt(wave2_back, 0);
    ck_assert_uint_gt(first_r1, wave2_back);
    /* Rolled back: nothing to hand out, no second rollback, and a new rollout may start. */
    const char *rel;
    ck_assert_int_eq(crow_rollout_order_for(sim.r, "h11", &rel), CROW_ORDER_NONE);
    ck_assert_int_eq(control(CROW_CONTROL_ROLLBACK, ""), CROW_EUSAGE);
    ck_assert_int_eq(control(CROW_CONTROL_RESUME, ""), CROW_EUSAGE);
    ck_assert_uint_eq(sim.r->decisions_by_kind[2], 3); /* the command and two waves */

    /* The clean rollout afterwards completes, and a host's rollback target is what it ran then. */
    memset(sim.sick, 0, sizeof sim.sick);
    memset(sim.activated, 0, sizeof sim.activated);
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(start(next_rel, three_waves, CROW_DISTRIBUTE_ALL, &err), 0);
    ck_assert_uint_eq(sim.r->id, 2);
    ck_assert_uint_eq(sim.r->activations_ordered, 0);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    for (int i = 0; i < HOSTS; i++) {
        ck_assert_int_eq(sim.activated[i], 1);
        ck_assert_str_eq(host(i)->current, next_rel);
        ck_assert_str_eq(host(i)->previous, old_rel);
    }
    /* A finished rollout may be rolled back too: every wave, last first. */
    before = sim.order_count;
    ck_assert_int_eq(control(CROW_CONTROL_ROLLBACK, ""), 0);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_ROLLED_BACK);
    ck_assert_int_eq(sim.order_count - before, HOSTS);
    ck_assert_str_eq(sim.orders[before], "rollback h31");
    ck_assert_str_eq(sim.orders[sim.order_count - 1], "rollback h13");
}
END_TEST

/* Rollback while the canary's hosts are still being told to activate: every host with an order gets a
 * rollback order, and no activation is handed out any more. */
START_TEST(test_rollback_while_activating)
{
    crow_rollout_plan_error_t err = {0};
    const char *rel;
    ck_assert_int_eq(start(new_rel, "canary r1 failures=3\nwave rest\n", CROW_DISTRIBUTE_ALL, &err), 0);
    drive();
    agents();
    drive();
    ck_assert_int_eq(report("h11", 1, CROW_STEP_ACTIVATE, true, ""), 0);
    ck_assert_int_eq(control(CROW_CONTROL_ROLLBACK, ""), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(crow_rollout_order_for(sim.r, host_name(i), &rel), CROW_ORDER_NONE);
    drive();
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(crow_rollout_order_for(sim.r, host_name(i), &rel), CROW_ORDER_ROLLBACK);
        ck_assert_str_eq(rel, old_rel);
    }
    /* While its rollback is pending, h13 reports the activation it was doing: taken, then rolled back. */
    ck_assert_int_eq(report("h13", 1, CROW_STEP_ACTIVATE, true, ""), 0);
    ck_assert_str_eq(host(2)->current, new_rel);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_ROLLED_BACK);
    for (int i = 0; i < HOSTS; i++) {
        ck_assert_int_eq(sim.activated[i], 0);
        ck_assert_int_eq(sim.rolled_back[i], i < 3);
        ck_assert_str_eq(host(i)->current, old_rel);
        ck_assert_int_eq(crow_rollout_order_for(sim.r, host_name(i), &rel), CROW_ORDER_NONE);
    }
    /* Stale news from before the rollback changes nothing: h12 runs what the rollback left. */
    ck_assert_int_eq(report("h12", 1, CROW_STEP_ACTIVATE, true, ""), 1);
    ck_assert_int_eq(report("h12", 1, CROW_STEP_HEALTH, false, ""), 1);
    ck_assert_str_eq(host(1)->current, old_rel);
    ck_assert_int_eq(crow_rollout_order_for(sim.r, "h12", &rel), CROW_ORDER_NONE);
}
END_TEST

START_TEST(test_pause_resume_abort)
{
    crow_rollout_plan_error_t err = {0};
    static crow_jrec_t rec;
    const char *rel;
    ck_assert_int_eq(control(CROW_CONTROL_PAUSE, ""), CROW_ESESSION); /* no rollout yet */
    ck_assert_int_eq(start(new_rel, "canary r1 failures=3\nwave rest\n", CROW_DISTRIBUTE_ALL, &err), 0);
    ck_assert_int_eq(control(CROW_CONTROL_RESUME, ""), 1);
    /* Downloads, then the three canary hosts are told to activate at once. */
    drive();
    agents();
    drive();
    ck_assert_int_eq(crow_rollout_order_for(sim.r, "h11", &rel), CROW_ORDER_ACTIVATE);
    ck_assert_int_eq(host(2)->act, CROW_ACT_ORDERED);
    ck_assert_int_eq(control(CROW_CONTROL_PAUSE, "looks odd"), 0);
    ck_assert_int_eq(control(CROW_CONTROL_PAUSE, "again"), 1);
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_PAUSED);
    /* Paused: no decision, and the activations not yet picked up wait. */
    ck_assert_int_eq(crow_rollout_next(sim.r, sim.now, &rec), 0);
    ck_assert_int_eq(crow_rollout_order_for(sim.r, "h11", &rel), CROW_ORDER_NONE);
    /* A host that had picked its order up before the pause still reports. */
    ck_assert_int_eq(report("h12", 1, CROW_STEP_ACTIVATE, true, ""), 0);
    ck_assert_int_eq(report("h12", 1, CROW_STEP_HEALTH, true, ""), 0);
    ck_assert_int_eq(control(CROW_CONTROL_RESUME, ""), 0);
    ck_assert_int_eq(crow_rollout_order_for(sim.r, "h11", &rel), CROW_ORDER_ACTIVATE);
    ck_assert_str_eq(rel, new_rel);
    agents();
    ck_assert_int_eq(sim.activated[1], 0); /* h12 did it already: not told twice */
    ck_assert_int_eq(control(CROW_CONTROL_ABORT, "wrong build"), 0);
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_ABORTED);
    ck_assert_str_eq(sim.r->end_reason, "aborted by the operator");
    ck_assert_int_eq(crow_rollout_next(sim.r, sim.now, &rec), 0);
    ck_assert_int_eq(crow_rollout_order_for(sim.r, "h21", &rel), CROW_ORDER_NONE);
    ck_assert_int_eq(control(CROW_CONTROL_ABORT, ""), 1);
    ck_assert_int_eq(control(CROW_CONTROL_RESUME, ""), CROW_EUSAGE);
    ck_assert_int_eq(control(CROW_CONTROL_PAUSE, ""), CROW_EUSAGE);
    ck_assert_int_eq(control((enum crow_control)9, ""), CROW_EPROTO);
    ck_assert_int_eq(sim.r->waves[0].state, CROW_WAVE_ACTIVATING);
    /* An aborted rollout can be followed by a new one, or rolled back. */
    ck_assert_int_eq(start(new_rel, "wave r1\n", CROW_DISTRIBUTE_ALL, &err), 0);
    ck_assert_uint_eq(sim.r->id, 2);
    /* A start while one runs is refused and says why. */
    ck_assert_int_eq(start(new_rel, "wave r1\n", CROW_DISTRIBUTE_ALL, &err), CROW_EUSAGE);
    ck_assert_str_eq(err.text, "rollout 2 is running: abort it first");
    ck_assert_int_eq(control(CROW_CONTROL_ABORT, ""), 0);
    ck_assert_int_eq(control(CROW_CONTROL_ROLLBACK, "undo"), 0);
}
END_TEST

START_TEST(test_soak_deadlines)
{
    crow_rollout_plan_error_t err = {0};
    static crow_jrec_t rec;
    ck_assert_int_eq(
        start(new_rel, "canary r1 soak=30s\nwave r2 soak=1m\nwave r3\n", CROW_DISTRIBUTE_ALL, &err), 0);
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), UINT64_MAX);
    settle();
    ck_assert_int_eq(sim.r->waves[0].state, CROW_WAVE_SOAKING);
    uint64_t until = crow_rollout_deadline(sim.r);
    ck_assert_uint_eq(until, T0 + 30000);
    ck_assert_int_eq(crow_rollout_next(sim.r, until - 1, &rec), 0);
    long n = crow_rollout_status_text(sim.r, until - 10000, json_a, sizeof json_a);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(json_a, "soaking 10s"));
    ck_assert_int_eq(crow_rollout_status_json(sim.r, until - 10000, json_a, sizeof json_a) > 0, 1);
    ck_assert_ptr_nonnull(strstr(json_a, "\"soak_left_s\":10"));
    /* Paused while soaking: no deadline until resumed. */
    ck_assert_int_eq(control(CROW_CONTROL_PAUSE, ""), 0);
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), UINT64_MAX);
    ck_assert_int_eq(control(CROW_CONTROL_RESUME, ""), 0);
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), until);
    sim.now = until;
    settle();
    ck_assert_int_eq(sim.r->waves[0].state, CROW_WAVE_DONE);
    ck_assert_int_eq(sim.r->waves[1].state, CROW_WAVE_SOAKING);
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), until + 60000);
    /* A health check failing while the wave soaks halts it. */
    ck_assert_int_eq(report("h22", 1, CROW_STEP_HEALTH, false, "latency"), 0);
    ck_assert_int_eq(crow_rollout_next(sim.r, sim.now, &rec), 1);
    ck_assert_int_eq(rec.type, CROW_JREC_WAVE);
    ck_assert_int_eq(rec.code, CROW_WAVE_HALTED);
    ck_assert_int_eq(submit(&rec), 0);
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_HALTED);
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), UINT64_MAX);
    ck_assert_int_eq(sim.activated[6], 0);
}
END_TEST

START_TEST(test_per_wave_distribution)
{
    crow_rollout_plan_error_t err = {0};
    const char *rel;
    ck_assert_int_eq(start(new_rel, three_waves, CROW_DISTRIBUTE_PER_WAVE, &err), 0);
    ck_assert_int_eq(sim.r->distribute, CROW_DISTRIBUTE_PER_WAVE);
    drive();
    for (int i = 0; i < HOSTS; i++)
        ck_assert_int_eq(crow_rollout_order_for(sim.r, host_name(i), &rel),
                         i < 3 ? CROW_ORDER_DOWNLOAD : CROW_ORDER_NONE);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    /* r2's hosts were told to download only after r1 was done, r3's only after r2. */
    ck_assert_int_lt(order_index("activate h13"), order_index("download h21"));
    ck_assert_int_lt(order_index("activate h23"), order_index("download h31"));

    /* With distribution to all, every host is told at once. */
    teardown();
    setup();
    ck_assert_int_eq(start(new_rel, three_waves, CROW_DISTRIBUTE_ALL, &err), 0);
    drive();
    for (int i = 0; i < HOSTS; i++)
        ck_assert_int_eq(crow_rollout_order_for(sim.r, host_name(i), &rel), CROW_ORDER_DOWNLOAD);
}
END_TEST

/* A host whose download fails counts as a failure of its wave. */
START_TEST(test_download_failure_halts)
{
    crow_rollout_plan_error_t err = {0};
    sim.dl_fails[4] = true;
    ck_assert_int_eq(start(new_rel, three_waves, CROW_DISTRIBUTE_PER_WAVE, &err), 0);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_HALTED);
    ck_assert_int_eq(sim.r->waves[1].state, CROW_WAVE_HALTED);
    ck_assert_str_eq(host(4)->detail, "download: disk full");
    /* The wave never reached activation: none of r2 was told to activate. */
    ck_assert_int_eq(sim.activated[3] + sim.activated[4] + sim.activated[5], 0);
}
END_TEST

/* A wave whose racks have no agent halts instead of waiting forever. */
START_TEST(test_empty_wave_halts)
{
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(register_host("h41", "r4", old_rel), 0);
    ck_assert_int_eq(start(new_rel, "canary r1\nwave r5\nwave r4\n", CROW_DISTRIBUTE_ALL, &err), CROW_EPARSE);
    ck_assert_str_eq(err.text, "line 2: no such rack 'r5'");
    /* r4 is known from its agent only; r9 is in neither. */
    ck_assert_int_eq(start(new_rel, "canary r4\nwave rest\n", CROW_DISTRIBUTE_ALL, &err), 0);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    ck_assert_int_eq(sim.activated[0], 1);
    ck_assert_int_eq(start(new_rel, "wave r1\n", CROW_DISTRIBUTE_ALL, &err), 0);
    teardown();
    setup();
    /* The racks file's r3 has hosts, but a rack the file lists with no agent halts its wave. */
    static crow_jrec_t rec;
    static crow_racks_t racks;
    static const char file[] = "rack r1 10.0.1.0/24 239.9.0.1:7001\nrack r7 10.0.7.0/24 239.9.0.7:7001\n";
    ck_assert_int_eq(crow_racks_parse(&racks, file, strlen(file), NULL), 0);
    ck_assert_int_eq(crow_rollout_prepare_start(sim.r, new_rel, "app", "/t", "canary r1\nwave r7\nwave r2\n",
                                                &racks, CROW_DISTRIBUTE_ALL, sim.now, &rec, &err),
                     0);
    ck_assert_str_eq(rec.extra, "r1,r7");
    ck_assert_int_eq(submit(&rec), 0);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_HALTED);
    ck_assert_str_eq(sim.r->waves[1].reason, "no agent has registered in racks r7");
    ck_assert_int_eq(sim.activated[3], 0);
}
END_TEST

START_TEST(test_refused_records)
{
    crow_rollout_plan_error_t err = {0};
    static crow_jrec_t rec;
    ck_assert_int_eq(report("h11", 1, CROW_STEP_DOWNLOAD, true, ""), CROW_ESESSION); /* no rollout yet */
    ck_assert_int_eq(start(new_rel, three_waves, CROW_DISTRIBUTE_ALL, &err), 0);
    /* A report before the order, for another rollout, from an unknown host, for an unknown step. */
    ck_assert_int_eq(report("h11", 1, CROW_STEP_ACTIVATE, true, ""), CROW_EPROTO);
    ck_assert_int_eq(report("h11", 1, CROW_STEP_DOWNLOAD, true, ""), CROW_EPROTO);
    ck_assert_int_eq(report("h11", 2, CROW_STEP_DOWNLOAD, true, ""), CROW_ESESSION);
    ck_assert_int_eq(report("h11", 0, CROW_STEP_DOWNLOAD, true, ""), CROW_ESESSION);
    ck_assert_int_eq(report("ghost", 1, CROW_STEP_DOWNLOAD, true, ""), CROW_EPROTO);
    drive();
    ck_assert_int_eq(report("h11", 1, (enum crow_step)9, true, ""), CROW_EPROTO);
    ck_assert_int_eq(report("h11", 1, CROW_STEP_DOWNLOAD, true, ""), 0);
    ck_assert_int_eq(report("h11", 1, CROW_STEP_DOWNLOAD, true, ""), 1);              /* a repeat */
    ck_assert_int_eq(report("h11", 1, CROW_STEP_DOWNLOAD, false, "no"), CROW_EPROTO); /* contradicts */
    ck_assert_int_eq(report("h11", 1, CROW_STEP_HEALTH, true, ""), CROW_EPROTO);      /* not activated */
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    /* A second activation of the same host in the same rollout is refused, by check and by apply. */
    memset(&rec, 0, sizeof rec);
    rec.type = CROW_JREC_ORDER;
    rec.rollout = 1;
    rec.code = CROW_ORDER_ACTIVATE;
    snprintf(rec.host, sizeof rec.host, "h21");
    put(rec.release, sizeof rec.release, new_rel);
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
    ck_assert_int_eq(crow_rollout_apply(sim.r, &rec), CROW_EPROTO);
    ck_assert_uint_eq(sim.r->activations_ordered, HOSTS);
    ck_assert_int_eq(host(3)->act, CROW_ACT_HEALTHY);
    snprintf(rec.host, sizeof rec.host, "ghost");
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
    /* Orders, waves and ends that do not fit. */
    rec.code = 7;
    snprintf(rec.host, sizeof rec.host, "h21");
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
    rec.code = CROW_ORDER_DOWNLOAD;
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
    memset(&rec, 0, sizeof rec);
    rec.type = CROW_JREC_WAVE;
    rec.rollout = 1;
    rec.wave = 3;
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
    rec.type = CROW_JREC_END;
    rec.code = CROW_ROLLOUT_RUNNING;
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
    rec.type = (enum crow_jrec_type)42;
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
    /* Hosts: bad names, an unchanged registration, a move and a new current release. */
    ck_assert_int_eq(register_host("bad host", "r1", ""), CROW_EPROTO);
    ck_assert_int_eq(register_host("", "r1", ""), CROW_EPROTO);
    ck_assert_int_eq(register_host("h99", "r/1", ""), CROW_EPROTO);
    ck_assert_int_eq(register_host("h11", "r1", new_rel), 1);
    ck_assert_int_eq(register_host("h11", "r1", next_rel), 0);
    ck_assert_str_eq(host(0)->current, next_rel);
    ck_assert_str_eq(host(0)->previous, old_rel);
    ck_assert_int_eq(register_host("h11", "r2", next_rel), 0);
    ck_assert_int_eq(host(0)->rack, host(3)->rack);
    /* START records that do not fit. */
    ck_assert_int_eq(start("abc", three_waves, CROW_DISTRIBUTE_ALL, &err), CROW_ELIMIT);
    ck_assert_int_eq(start(new_rel, "canary r1\nwav r2\n", CROW_DISTRIBUTE_ALL, &err), CROW_EPARSE);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_str_eq(err.text, "line 2: unknown directive 'wav'");
    /* Found by fuzz_rollout_start: a release named as manifests allow but agents refuse ("my app",
     * ".x"): every poll answer would be refused by the agents, and the first wave never finished. */
    ck_assert_int_eq(crow_rollout_prepare_start(sim.r, new_rel, "my app", "/t", "wave r1\n", NULL,
                                                CROW_DISTRIBUTE_ALL, sim.now, &rec, &err),
                     CROW_EPARSE);
    ck_assert(strstr(err.text, "'my app'") != NULL);
    ck_assert_int_eq(crow_rollout_prepare_start(sim.r, new_rel, ".x", "/t", "wave r1\n", NULL,
                                                CROW_DISTRIBUTE_ALL, sim.now, &rec, NULL),
                     CROW_EPARSE);
    ck_assert_int_eq(crow_rollout_prepare_start(sim.r, new_rel, "n", "/t", "wave r1\n", NULL,
                                                CROW_DISTRIBUTE_ALL, sim.now, &rec, NULL),
                     0);
    rec.rollout = 1; /* not newer than the last */
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
    rec.rollout = 2;
    memset(rec.release, 'B', 64); /* not lower-case hex */
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
}
END_TEST

START_TEST(test_host_table_limit)
{
    char name[16];
    sim.r->host_limit = TABLE;
    for (int i = HOSTS; i < TABLE; i++) {
        snprintf(name, sizeof name, "x%d", i);
        ck_assert_int_eq(register_host(name, i % 2 ? "r1" : "r9", ""), 0);
    }
    ck_assert_uint_eq(sim.r->host_count, TABLE);
    ck_assert_int_eq(register_host("one-too-many", "r1", ""), CROW_ELIMIT);
    ck_assert_int_eq(register_host("h11", "r1", old_rel), 1);
    ck_assert_int_eq(register_host("h11", "r2", old_rel), 0);
    ck_assert_uint_eq(crow_rollout_find_host(sim.r, "one-too-many"), UINT32_MAX);
    /* A rollout over the full table still works: r9 left out of the plan. */
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(start(new_rel, "canary r1 failures=100\nwave r2\n", CROW_DISTRIBUTE_PER_WAVE, &err), 0);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    crow_wave_counts_t c;
    crow_rollout_wave_counts(sim.r, 0, &c);
    ck_assert_uint_eq(c.hosts, 2 + (TABLE - HOSTS + 1) / 2);
    ck_assert_uint_eq(c.healthy, c.hosts);
    ck_assert_uint_eq(sim.max_in_flight, 100);
}
END_TEST

/* Decides until nothing is left, each order carried out at once by its agent (which polls for it).
 * Returns the calls into the coordinator (decisions, polls, reports). */
static uint64_t drive_at_once(void)
{
    static crow_jrec_t rec;
    uint64_t calls = 0;
    uint32_t id = sim.r->id;
    for (uint32_t n = 0; n < 1000000; n++) {
        calls++;
        if (crow_rollout_next(sim.r, sim.now, &rec) != 1)
            return calls;
        ck_assert_int_eq(submit(&rec), 0);
        if (rec.type != CROW_JREC_ORDER)
            continue;
        const char *rel;
        calls += 3;
        ck_assert_int_eq(crow_rollout_order_for(sim.r, rec.host, &rel), rec.code);
        if (rec.code == CROW_ORDER_DOWNLOAD) {
            ck_assert_int_eq(report(rec.host, id, CROW_STEP_DOWNLOAD, true, ""), 0);
        } else if (rec.code == CROW_ORDER_ACTIVATE) {
            ck_assert_int_eq(report(rec.host, id, CROW_STEP_ACTIVATE, true, ""), 0);
            ck_assert_int_eq(report(rec.host, id, CROW_STEP_HEALTH, true, ""), 0);
        } else {
            ck_assert_int_eq(report(rec.host, id, CROW_STEP_ROLLBACK, true, ""), 0);
        }
    }
    ck_abort_msg("the rollout never settled");
    return calls;
}

/* 20,000 hosts in 50 racks (past the 4096 the table once held): registered, found, given a rollout in
 * 10 waves and a rollback, with every decision, poll and report doing work that does not grow with
 * the hosts (the walks over the table it replaced did some 10,000 steps each). Hosts that stop
 * polling expire in table order, as the walk found them. */
START_TEST(test_twenty_thousand_hosts)
{
    enum { N = 20000, RACKS = 50 };
    char name[16], rack[8];
    sim.unjournaled = true;
    uint64_t w0 = crow_rollout_work(sim.r);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "s%d", i);
        snprintf(rack, sizeof rack, "s%d", i % RACKS);
        ck_assert_int_eq(register_host(name, rack, old_rel), 0);
    }
    ck_assert_uint_eq(sim.r->host_count, N + HOSTS);
    /* Each registration looks its name up (twice: check, apply); the table's doublings rebuild the
     * indexes (2 x the hosts in all). */
    ck_assert_uint_lt(crow_rollout_work(sim.r) - w0, 2 * 4 * (uint64_t)N + 2 * (N + HOSTS));
    w0 = crow_rollout_work(sim.r);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "s%d", i);
        ck_assert_uint_eq(crow_rollout_find_host(sim.r, name), (uint32_t)(HOSTS + i));
    }
    ck_assert_uint_eq(crow_rollout_find_host(sim.r, "s20000"), UINT32_MAX);
    ck_assert_uint_lt(crow_rollout_work(sim.r) - w0, 3 * (uint64_t)N); /* probes per lookup: under 3 */

    char plan[512];
    int len = snprintf(plan, sizeof plan, "canary s0 failures=5 healthy=90%%\n");
    for (int k = 0; k < 8; k++)
        len += snprintf(plan + len, sizeof plan - (size_t)len, "wave 10%% failures=5 healthy=90%%\n");
    snprintf(plan + len, sizeof plan - (size_t)len, "wave rest failures=5 healthy=90%%\n");
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(start(new_rel, plan, CROW_DISTRIBUTE_ALL, &err), 0);
    ck_assert_uint_eq(sim.r->wave_count, 10);

    /* Every host polls at +30 s but those of every 997th index; at +61 s those expire (60 s), first. */
    sim.r->host_expiry_ms = 60000;
    sim.now = T0 + 30000;
    for (uint32_t i = 0; i < sim.r->host_count; i++)
        if (i % 997 != 5)
            crow_rollout_seen(sim.r, i, sim.now);
    sim.now = T0 + 61000;
    static crow_jrec_t rec;
    uint32_t expired = 0;
    for (uint32_t i = 5; i < sim.r->host_count; i += 997, expired++) {
        ck_assert_int_eq(crow_rollout_next(sim.r, sim.now, &rec), 1);
        ck_assert_int_eq(rec.type, CROW_JREC_EXPIRE);
        ck_assert_str_eq(rec.host, sim.r->hosts[i].name);
        ck_assert_int_eq(submit(&rec), 0);
    }
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), T0 + 90000);

    w0 = crow_rollout_work(sim.r);
    uint64_t calls = drive_at_once();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    /* Planned: the 20,000 in s0..s49 and r1..r3's nine, less the expired. */
    ck_assert_uint_eq(sim.r->activations_ordered, N + HOSTS - expired);
    ck_assert_int_eq(control(CROW_CONTROL_ROLLBACK, "at scale"), 0);
    calls += drive_at_once();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_ROLLED_BACK);
    uint32_t back = 0;
    for (uint32_t w = 0; w < sim.r->wave_count; w++) {
        crow_wave_counts_t c;
        crow_rollout_wave_counts(sim.r, w, &c);
        back += c.rolled_back;
    }
    ck_assert_uint_eq(back, N + HOSTS - expired);
    /* At most 10 waves x a few words for a decision of the `all` distribution, a couple of probes for a
     * lookup: a bound that the table's size does not enter. */
    ck_assert_uint_lt(crow_rollout_work(sim.r) - w0, 48 * calls);
    ck_assert_uint_gt(calls, 5 * (uint64_t)N);
}
END_TEST

static int apply_one(void *ctx, const crow_jrec_t *rec)
{
    return crow_rollout_apply(ctx, rec);
}

/* A fresh coordinator fed the journal; returns it. */
static crow_rollout_t *replay(size_t len)
{
    crow_rollout_t *r = NULL;
    size_t good = 0;
    ck_assert_int_eq(crow_rollout_new(&r), 0);
    ck_assert_int_eq(crow_journal_scan(journal, len, &good, apply_one, r), 0);
    ck_assert_uint_eq(good, len);
    return r;
}

static void assert_same_status(const crow_rollout_t *a, const crow_rollout_t *b)
{
    long na = crow_rollout_status_json(a, sim.now, json_a, sizeof json_a);
    long nb = crow_rollout_status_json(b, sim.now, json_b, sizeof json_b);
    ck_assert_int_gt(na, 0);
    ck_assert_str_eq(json_a, json_b);
    na = crow_rollout_metrics(a, json_a, sizeof json_a);
    nb = crow_rollout_metrics(b, json_b, sizeof json_b);
    ck_assert_int_eq(na, nb);
    ck_assert_str_eq(json_a, json_b);
}

START_TEST(test_replay_rebuilds_state)
{
    run_sick(0);
    ck_assert_int_eq(control(CROW_CONTROL_ROLLBACK, "sick"), 0);
    settle();
    memset(sim.sick, 0, sizeof sim.sick);
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(
        start(next_rel, "canary r1 soak=10s\nwave rest failures=2\n", CROW_DISTRIBUTE_PER_WAVE, &err), 0);
    settle();
    crow_rollout_t *copy = replay(journal_len);
    assert_same_status(sim.r, copy);
    ck_assert_int_eq(memcmp(copy->hosts, sim.r->hosts, sizeof copy->hosts[0] * sim.r->host_count), 0);
    ck_assert_uint_eq(crow_rollout_deadline(copy), crow_rollout_deadline(sim.r));
    crow_rollout_free(copy);
    /* The original finishes after the soak; so does the copy replayed from the same journal. */
    sim.now += 10000;
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    copy = replay(journal_len);
    assert_same_status(sim.r, copy);
    crow_rollout_free(copy);
}
END_TEST

/* Cut the journal right after each activation order (the tracker dying before the agent reported):
 * the restarted coordinator hands the same order out again but never issues a second one. */
START_TEST(test_replay_never_reissues_an_activation)
{
    crow_rollout_plan_error_t err = {0};
    ck_assert_int_eq(
        start(new_rel, "canary r1 failures=2\nwave r2,r3 failures=3\n", CROW_DISTRIBUTE_ALL, &err), 0);
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    size_t full = journal_len;
    int cuts = 0;
    static crow_jrec_t rec;
    for (size_t pos = 0; pos < full;) {
        int n = crow_journal_decode(journal + pos, full - pos, &rec);
        ck_assert_int_gt(n, 0);
        pos += (size_t)n;
        if (rec.type != CROW_JREC_ORDER || rec.code != CROW_ORDER_ACTIVATE)
            continue;
        cuts++;
        crow_rollout_t *r = replay(pos);
        const char *rel;
        ck_assert_int_eq(crow_rollout_order_for(r, rec.host, &rel), CROW_ORDER_ACTIVATE);
        ck_assert_str_eq(rel, new_rel);
        /* Whatever the restarted coordinator decides next, it is not this host's activation again. */
        static crow_jrec_t next;
        for (int k = 0; k < 20 && crow_rollout_next(r, sim.now, &next) == 1; k++) {
            ck_assert(!(next.type == CROW_JREC_ORDER && strcmp(next.host, rec.host) == 0));
            ck_assert_int_eq(crow_rollout_apply(r, &next), 0);
        }
        /* The agent re-reports on reconnect; its report is accepted once. */
        static crow_jrec_t rep;
        memset(&rep, 0, sizeof rep);
        rep.type = CROW_JREC_REPORT;
        rep.rollout = 1;
        rep.code = CROW_STEP_ACTIVATE;
        snprintf(rep.host, sizeof rep.host, "%s", rec.host);
        ck_assert_int_eq(crow_rollout_apply(r, &rep), 0);
        ck_assert_int_eq(crow_rollout_apply(r, &rep), 1);
        ck_assert_int_eq(crow_rollout_check(r, &rec), CROW_EPROTO);
        crow_rollout_free(r);
    }
    ck_assert_int_eq(cuts, HOSTS);
    /* A torn last record is dropped by the scan; the state is that of the records before it. */
    size_t good = 0;
    crow_rollout_t *r = NULL;
    ck_assert_int_eq(crow_rollout_new(&r), 0);
    ck_assert_int_eq(crow_journal_scan(journal, full - 1, &good, apply_one, r), 0);
    ck_assert_uint_lt(good, full);
    ck_assert_int_eq(r->state, CROW_ROLLOUT_RUNNING);
    static crow_jrec_t end;
    ck_assert_int_eq(crow_rollout_next(r, sim.now, &end), 1);
    ck_assert_int_eq(end.type, CROW_JREC_END);
    crow_rollout_free(r);
}
END_TEST

/* A host that never answers its download order would keep the canary distributing for ever: it
 * expires after host_expiry_ms without a poll (a journaled decision with its reason) and the rollout
 * goes on without it; its next poll brings it back. */
START_TEST(test_silent_host_expires)
{
    crow_rollout_plan_error_t err = {0};
    static crow_jrec_t rec;
    sim.r->host_expiry_ms = 60000;
    sim.silent[1] = true; /* h12 */
    ck_assert_int_eq(start(new_rel, three_waves, CROW_DISTRIBUTE_ALL, &err), 0);
    settle();
    ck_assert_int_eq(sim.r->waves[0].state, CROW_WAVE_DISTRIBUTING);
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), T0 + 60000);
    sim.now = T0 + 59999;
    settle();
    ck_assert_int_eq(sim.r->waves[0].state, CROW_WAVE_DISTRIBUTING);
    ck_assert_int_eq(crow_rollout_next(sim.r, sim.now, &rec), 0);
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), T0 + 60000); /* the others polled: h12 is first */
    sim.now = T0 + 60000;
    ck_assert_int_eq(crow_rollout_next(sim.r, sim.now, &rec), 1);
    ck_assert_int_eq(rec.type, CROW_JREC_EXPIRE);
    ck_assert_str_eq(rec.host, "h12");
    ck_assert_str_eq(rec.text, "no poll for 60 s (host expiry 60 s)");
    settle();
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_DONE);
    ck_assert(host(1)->gone);
    ck_assert_int_eq(sim.activated[1], 0);
    crow_wave_counts_t c;
    crow_rollout_wave_counts(sim.r, 0, &c);
    ck_assert_uint_eq(c.hosts, 2);
    ck_assert_uint_eq(c.healthy, 2);
    const char *rel;
    ck_assert_int_eq(crow_rollout_order_for(sim.r, "h12", &rel), CROW_ORDER_NONE);
    long n = crow_rollout_status_text(sim.r, sim.now, json_a, sizeof json_a);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(json_a, "h12=expired"));
    ck_assert_int_gt(crow_rollout_status_json(sim.r, sim.now, json_a, sizeof json_a), 0);
    ck_assert_ptr_nonnull(
        strstr(json_a, "\"text\":\"host h12 expired: no poll for 60 s (host expiry 60 s)\""));
    /* Expired once, not again; its next poll (a registration) brings it back. */
    ck_assert_int_eq(register_host("h12", "r1", old_rel), 0);
    ck_assert(!host(1)->gone);
    ck_assert_int_eq(register_host("h12", "r1", old_rel), 1);
    /* The journal replays into the same state. */
    crow_rollout_t *again = replay(journal_len);
    assert_same_status(sim.r, again);
    crow_rollout_free(again);
}
END_TEST

/* A host that goes silent after it was told to activate is not healthy: it expires as failed, and the
 * wave's threshold decides. Expiry waits while a rollout is paused or over. */
START_TEST(test_silent_activation_counts_failed)
{
    crow_rollout_plan_error_t err = {0};
    static crow_jrec_t rec;
    sim.r->host_expiry_ms = 30000;
    sim.mute_activate[0] = true; /* h11: the canary's first activation */
    ck_assert_int_eq(start(new_rel, three_waves, CROW_DISTRIBUTE_ALL, &err), 0);
    settle();
    ck_assert_int_eq(sim.r->waves[0].state, CROW_WAVE_ACTIVATING);
    ck_assert_int_eq(host(0)->act, CROW_ACT_ORDERED);
    ck_assert_int_eq(control(CROW_CONTROL_PAUSE, ""), 0);
    ck_assert_uint_eq(crow_rollout_deadline(sim.r), UINT64_MAX);
    sim.now = T0 + 31000;
    ck_assert_int_eq(crow_rollout_next(sim.r, sim.now, &rec), 0);
    ck_assert_int_eq(agents(), 0); /* the others poll on while paused; nothing to do */
    ck_assert_int_eq(control(CROW_CONTROL_RESUME, ""), 0);
    settle();
    ck_assert(host(0)->gone);
    ck_assert_int_eq(host(0)->act, CROW_ACT_FAILED);
    ck_assert_str_eq(host(0)->detail, "expired: no poll for 31 s (host expiry 30 s)");
    ck_assert_int_eq(sim.r->state, CROW_ROLLOUT_HALTED);
    ck_assert_str_eq(sim.r->end_reason, "1 of 3 hosts failed (threshold 1)");
}
END_TEST

/* Reports carry the agent's sequence: a replayed older one (a captured "health ok") cannot undo the
 * failure the host reported since; the same one again is a harmless repeat. */
START_TEST(test_report_sequence)
{
    crow_rollout_plan_error_t err = {0};
    static crow_jrec_t rec;
    ck_assert_int_eq(start(new_rel, three_waves, CROW_DISTRIBUTE_ALL, &err), 0);
    drive();
    for (int i = 0; i < HOSTS; i++)
        ck_assert_int_eq(report(host_name(i), 1, CROW_STEP_DOWNLOAD, true, ""), 0);
    drive();
    const char *rel;
    ck_assert_int_eq(crow_rollout_order_for(sim.r, "h11", &rel), CROW_ORDER_ACTIVATE);
    memset(&rec, 0, sizeof rec);
    rec.type = CROW_JREC_REPORT;
    rec.rollout = 1;
    rec.t_ms = sim.now;
    put(rec.host, sizeof rec.host, "h11");
    rec.code = CROW_STEP_ACTIVATE;
    rec.seq = 100;
    ck_assert_int_eq(submit(&rec), 0);
    rec.code = CROW_STEP_HEALTH;
    rec.status = 1;
    rec.seq = 102;
    ck_assert_int_eq(submit(&rec), 0);
    ck_assert_int_eq(host(0)->act, CROW_ACT_FAILED);
    ck_assert_uint_eq(host(0)->report_seq, 102);
    rec.status = 0; /* "health ok", numbered before the failure: a replay */
    rec.seq = 101;
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), CROW_EPROTO);
    rec.status = 1;
    rec.seq = 102;
    ck_assert_int_eq(crow_rollout_check(sim.r, &rec), 1);
    ck_assert_int_eq(host(0)->act, CROW_ACT_FAILED);
    /* Through the journal codec: the sequence survives a replay. */
    long n = crow_journal_encode(json_a, sizeof json_a, &rec);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(json_a, "&q=102&"));
    static crow_jrec_t back;
    ck_assert_int_eq(crow_journal_decode(json_a, (size_t)n, &back), n);
    ck_assert_uint_eq(back.seq, 102);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(crow_rollout_state_name(CROW_ROLLOUT_ROLLING_BACK), "rolling-back");
    ck_assert_str_eq(crow_rollout_state_name((enum crow_rollout_state)99), "?");
    ck_assert_str_eq(crow_wave_state_name(CROW_WAVE_SOAKING), "soaking");
    ck_assert_str_eq(crow_order_name(CROW_ORDER_ROLLBACK), "rollback");
    ck_assert_str_eq(crow_step_name(CROW_STEP_HEALTH), "health");
    for (int s = CROW_STEP_DOWNLOAD; s <= CROW_STEP_ROLLBACK; s++)
        ck_assert_int_eq(crow_step_parse(crow_step_name(s)), s);
    ck_assert_int_eq(crow_step_parse("Health"), 0);
    ck_assert_int_eq(crow_step_parse(""), 0);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("rollout");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_clean_rollout_done);
    tcase_add_loop_test(tc, test_sick_wave_halts_at_threshold, 0, sizeof sick / sizeof sick[0]);
    tcase_add_test(tc, test_rollback_in_reverse_wave_order);
    tcase_add_test(tc, test_rollback_while_activating);
    tcase_add_test(tc, test_pause_resume_abort);
    tcase_add_test(tc, test_soak_deadlines);
    tcase_add_test(tc, test_per_wave_distribution);
    tcase_add_test(tc, test_download_failure_halts);
    tcase_add_test(tc, test_empty_wave_halts);
    tcase_add_test(tc, test_refused_records);
    tcase_add_test(tc, test_host_table_limit);
    tcase_add_test(tc, test_twenty_thousand_hosts);
    tcase_add_test(tc, test_replay_rebuilds_state);
    tcase_add_test(tc, test_replay_never_reissues_an_activation);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_silent_host_expires);
    tcase_add_test(tc, test_report_sequence);
    tcase_add_test(tc, test_silent_activation_counts_failed);
    suite_add_tcase(s, tc);
    return s;
}
