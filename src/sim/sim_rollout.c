/* The rollout coordinator under simulated agents (sim_rollout.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crowcast/clock.h"
#include "crowcast/error.h"
#include "crowcast/rollout.h"
#include "sim_rollout.h"
#include "sim_sched.h"
#include "sim_world.h"

enum { EV_REGISTER, EV_START, EV_ORDER, EV_REPORT, EV_DEADLINE };

/* What an agent is doing. */
struct agent {
    char name[24];
    uint32_t rack;
    uint64_t seq;       /* its report numbers */
    bool busy;          /* carrying out an order */
    uint8_t step, fail; /* the report due */
};

struct rollout_sim {
    const sim_rollout_config_t *cfg;
    sim_sched_t sched;
    crow_rollout_t *co;
    crow_racks_t racks;
    struct agent *agents;
    uint32_t nagents;
    sim_rollout_result_t *res;
    double poll_wall, next_wall;
    uint64_t next_calls, poll_work, next_work; /* crow_rollout_work in polls and decision steps */
    int error;
};

static double wall_ns(void)
{
    return (double)crow_clock_mono_ns();
}

/* Simulated ms on an epoch of its own (the coordinator wants wall-clock ms; any origin will do). */
static uint64_t now_ms(const struct rollout_sim *s)
{
    return 1000000 + s->sched.now / 1000000;
}

static void at(struct rollout_sim *s, uint64_t t, uint32_t kind, uint32_t obj, uint64_t arg)
{
    if (sim_sched_at(&s->sched, t, kind, obj, arg) && !s->error)
        s->error = -ENOMEM;
}

static uint32_t agent_of(const struct rollout_sim *s, const char *host)
{
    /* Names are "hN": the simulator's own lookup, not the coordinator's. */
    unsigned long i = strtoul(host + 1, NULL, 10);
    return i < s->nagents ? (uint32_t)i : UINT32_MAX;
}

/* Journals (not simulated) and applies a record; an ORDER answers its agent's held poll. */
static int take(struct rollout_sim *s, const crow_jrec_t *rec)
{
    int ret = crow_rollout_check(s->co, rec);
    if (ret != 0)
        return ret;
    if ((ret = crow_rollout_apply(s->co, rec)))
        return ret;
    s->res->records++;
    if (rec->type == CROW_JREC_ORDER) {
        uint32_t a = agent_of(s, rec->host);
        if (a != UINT32_MAX && !s->agents[a].busy)
            at(s, s->sched.now + s->cfg->rtt_ns / 2, EV_ORDER, a, 0);
    }
    return 0;
}

/* Every decision due now, then a wake-up at the coordinator's next deadline. */
static void decide(struct rollout_sim *s)
{
    crow_jrec_t rec;
    for (;;) {
        double t0 = wall_ns();
        uint64_t w0 = crow_rollout_work(s->co);
        int more = crow_rollout_next(s->co, now_ms(s), &rec);
        s->next_wall += wall_ns() - t0;
        s->next_work += crow_rollout_work(s->co) - w0;
        s->next_calls++;
        if (more != 1 || take(s, &rec))
            break;
    }
    uint64_t d = crow_rollout_deadline(s->co);
    if (d != UINT64_MAX && d > now_ms(s))
        at(s, (d - 1000000) * 1000000, EV_DEADLINE, 0, 0);
}

static void poll_agent(struct rollout_sim *s, uint32_t a)
{
    struct agent *g = &s->agents[a];
    const char *release;
    double t0 = wall_ns();
    uint64_t w0 = crow_rollout_work(s->co);
    enum crow_order o = crow_rollout_order_for(s->co, g->name, &release);
    s->poll_wall += wall_ns() - t0;
    s->poll_work += crow_rollout_work(s->co) - w0;
    s->res->polls++;
    uint64_t t = s->sched.now;
    switch (o) {
    case CROW_ORDER_DOWNLOAD:
        g->step = CROW_STEP_DOWNLOAD, g->fail = 0, t += s->cfg->download_ns;
        break;
    case CROW_ORDER_ACTIVATE:
        g->step = CROW_STEP_ACTIVATE, g->fail = 0, t += s->cfg->activate_ns;
        break;
    case CROW_ORDER_ROLLBACK:
        g->step = CROW_STEP_ROLLBACK, g->fail = 0, t += s->cfg->activate_ns;
        break;
    default:
        return; /* the poll is held until an order for it appears */
    }
    g->busy = true;
    at(s, t + s->cfg->rtt_ns / 2, EV_REPORT, a, 0);
}

static void report(struct rollout_sim *s, uint32_t a)
{
    struct agent *g = &s->agents[a];
    crow_jrec_t rec = {.type = CROW_JREC_REPORT,
                       .rollout = s->co->id,
                       .t_ms = now_ms(s),
                       .code = g->step,
                       .status = g->fail,
                       .seq = ++g->seq};
    snprintf(rec.host, sizeof rec.host, "%s", g->name);
    snprintf(rec.release, sizeof rec.release, "%s", s->co->release);
    s->res->reports++;
    if (take(s, &rec) == 0)
        decide(s);
    if (g->step == CROW_STEP_ACTIVATE && !g->fail) { /* then its health check */
        g->step = CROW_STEP_HEALTH;
        g->fail = g->rack == s->cfg->sick_rack;
        at(s, s->sched.now + s->cfg->health_ns, EV_REPORT, a, 0);
        return;
    }
    g->busy = false;
    at(s, s->sched.now + s->cfg->rtt_ns / 2, EV_ORDER, a, 0); /* it polls again */
}

static void registration(struct rollout_sim *s, uint32_t a)
{
    struct agent *g = &s->agents[a];
    crow_jrec_t rec = {.type = CROW_JREC_HOST, .t_ms = now_ms(s)};
    snprintf(rec.host, sizeof rec.host, "%s", g->name);
    snprintf(rec.rack, sizeof rec.rack, "%s", s->racks.racks[g->rack].name);
    if (take(s, &rec) == CROW_ELIMIT)
        s->res->refused++;
}

static void start(struct rollout_sim *s)
{
    static const char release[] = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    crow_jrec_t rec;
    crow_rollout_plan_error_t err;
    int ret = crow_rollout_prepare_start(s->co, release, "app.bin", "/srv/app.torrent", s->cfg->plan,
                                         &s->racks, CROW_DISTRIBUTE_ALL, now_ms(s), &rec, &err);
    if (ret || (ret = take(s, &rec))) {
        s->error = ret;
        return;
    }
    decide(s);
}

static void tally(struct rollout_sim *s, sim_rollout_result_t *r)
{
    const crow_rollout_t *co = s->co;
    snprintf(r->state, sizeof r->state, "%s", crow_rollout_state_name(co->state));
    snprintf(r->reason, sizeof r->reason, "%s", co->end_reason);
    r->registered = co->host_count;
    r->activations = co->activations_ordered;
    for (uint32_t w = 0; w < co->wave_count; w++) {
        crow_wave_counts_t k;
        crow_rollout_wave_counts(co, w, &k);
        r->healthy += k.healthy;
        r->failed += k.failed;
    }
    r->poll_ns = r->polls ? s->poll_wall / (double)r->polls : 0;
    r->next_ns = s->next_calls ? s->next_wall / (double)s->next_calls : 0;
    r->poll_work = r->polls ? (double)s->poll_work / (double)r->polls : 0;
    r->next_work = s->next_calls ? (double)s->next_work / (double)s->next_calls : 0;
    r->sim_s = (double)s->sched.now / 1e9;
    r->events = s->sched.popped;
    r->hash = s->sched.hash;
}

void sim_rollout_default_plan(char *buf, size_t cap, uint32_t racks)
{
    /* Each 10 % wave takes ceil(10 % of the racks after the canary); the last wave takes the rest. */
    uint32_t left = racks > 1 ? racks - 1 : 0, k = (left + 9) / 10;
    int n = snprintf(buf, cap, "canary r0 healthy=90%% failures=5\n");
    for (; left > k && n > 0 && (size_t)n < cap; left -= k)
        n += snprintf(buf + n, cap - (size_t)n, "wave 10%% healthy=90%% failures=5\n");
    if (left && n > 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "wave rest healthy=90%% failures=5\n");
}

int sim_rollout_run(const sim_rollout_config_t *c, sim_rollout_result_t *r, FILE *status)
{
    *r = (sim_rollout_result_t){0};
    struct rollout_sim s = {.cfg = c, .res = r};
    s.nagents = c->racks * c->hosts_per_rack;
    int ret;
    if ((ret = sim_sched_init(&s.sched)) || (ret = sim_racks_make(&s.racks, c->racks)) ||
        (ret = crow_rollout_new(&s.co)) || !(s.agents = calloc(s.nagents, sizeof *s.agents))) {
        ret = ret ? ret : -ENOMEM;
        goto out;
    }
    sim_rng_t rng;
    sim_rng_seed(&rng, c->seed);
    for (uint32_t a = 0; a < s.nagents; a++) {
        snprintf(s.agents[a].name, sizeof s.agents[a].name, "h%u", a);
        s.agents[a].rack = a / c->hosts_per_rack;
        at(&s, sim_rng_below(&rng, SIM_NS), EV_REGISTER, a, 0); /* the agents come up within a second */
    }
    at(&s, 2 * SIM_NS, EV_START, 0, 0);
    sim_event_t e;
    while (!s.error && sim_sched_peek(&s.sched) <= c->limit_ns && sim_sched_pop(&s.sched, &e)) {
        switch (e.kind) {
        case EV_REGISTER:
            registration(&s, e.obj);
            break;
        case EV_START:
            start(&s);
            break;
        case EV_ORDER:
            if (!s.agents[e.obj].busy)
                poll_agent(&s, e.obj);
            break;
        case EV_REPORT:
            report(&s, e.obj);
            break;
        default:
            decide(&s);
            break;
        }
    }
    ret = s.error;
    tally(&s, r);
    if (status) {
        size_t cap = 1u << 20;
        char *text = malloc(cap);
        long n = text ? crow_rollout_status_text(s.co, now_ms(&s), text, cap) : -1;
        if (n > 0)
            fwrite(text, 1, (size_t)n, status);
        free(text);
    }
out:
    free(s.agents);
    crow_rollout_free(s.co);
    sim_sched_dispose(&s.sched);
    return ret;
}
