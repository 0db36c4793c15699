/* The rollout coordinator's state machine: records in, decisions out (see rollout.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/agent_proto.h"
#include "crowcast/error.h"
#include "crowcast/rollout.h"
#include "rollout_index.h"

enum { KIND_ADVANCE, KIND_HALT, KIND_ROLLBACK, KIND_END };

#define FIRST_CAP 64 /* hosts the table has room for at first; it doubles when full */

static void reindex(crow_rollout_t *r);

/* Room for cap hosts in the table and its indexes (rebuilt from the table). */
static int make_room(crow_rollout_t *r, uint32_t cap)
{
    struct rollout_index *ix;
    crow_rollout_host_t *hosts = realloc(r->hosts, (size_t)cap * sizeof *hosts);
    if (!hosts)
        return -ENOMEM;
    r->hosts = hosts;
    if (rollout_index_new(&ix, cap))
        return -ENOMEM;
    if (r->index)
        ix->work = r->index->work;
    rollout_index_free(r->index);
    r->index = ix;
    r->host_cap = cap;
    reindex(r);
    return 0;
}

int crow_rollout_new(crow_rollout_t **out)
{
    crow_rollout_t *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return -ENOMEM;
    r->host_limit = CROW_ROLLOUT_MAX_HOSTS;
    if (make_room(r, FIRST_CAP)) {
        crow_rollout_free(r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

void crow_rollout_free(crow_rollout_t *r)
{
    if (!r)
        return;
    rollout_index_free(r->index);
    free(r->hosts);
    free(r);
}

int crow_rollout_copy(crow_rollout_t *dst, const crow_rollout_t *src)
{
    if (dst->host_cap < src->host_count && make_room(dst, src->host_cap))
        return -ENOMEM;
    crow_rollout_host_t *hosts = dst->hosts;
    struct rollout_index *ix = dst->index;
    uint32_t cap = dst->host_cap;
    *dst = *src;
    dst->hosts = hosts;
    dst->index = ix;
    dst->host_cap = cap;
    memcpy(dst->hosts, src->hosts, (size_t)src->host_count * sizeof *hosts);
    reindex(dst);
    return 0;
}

uint64_t crow_rollout_work(const crow_rollout_t *r)
{
    return r->index->work;
}

static const char *const rollout_states[] = {"idle",    "running", "paused",       "halted",
                                             "aborted", "done",    "rolling-back", "rolled-back"};
static const char *const wave_states[] = {"pending", "distributing", "activating", "soaking",
                                          "done",    "halted",       "rolled-back"};
static const char *const order_names[] = {"none", "download", "activate", "rollback"};
static const char *const step_names[] = {"", "download", "activate", "health", "rollback"};

const char *crow_rollout_state_name(enum crow_rollout_state s)
{
    return (unsigned)s < 8 ? rollout_states[s] : "?";
}
const char *crow_wave_state_name(enum crow_wave_state s)
{
    return (unsigned)s < 7 ? wave_states[s] : "?";
}
const char *crow_order_name(enum crow_order o)
{
    return (unsigned)o < 4 ? order_names[o] : "?";
}
const char *crow_step_name(enum crow_step s)
{
    return (unsigned)s < 5 ? step_names[s] : "?";
}
enum crow_step crow_step_parse(const char *name)
{
    for (int i = 1; i < 5; i++)
        if (strcmp(name, step_names[i]) == 0)
            return (enum crow_step)i;
    return 0;
}

/* Bounded copy that always terminates dst (a longer src is cut). */
static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memmove(dst, src, n);
    dst[n] = '\0';
}

uint32_t crow_rollout_find_host(const crow_rollout_t *r, const char *host)
{
    return rollout_index_find(r->index, r->hosts, host, &r->index->work);
}

static uint32_t find_rack(const crow_rollout_t *r, const char *name)
{
    for (uint32_t i = 0; i < r->rack_count; i++)
        if (strcmp(r->racks[i], name) == 0)
            return i;
    return UINT32_MAX;
}

/* Adds a rack name to the table (which only grows: hosts refer to racks by index). */
static uint32_t add_rack(crow_rollout_t *r, const char *name)
{
    uint32_t i = find_rack(r, name);
    if (i != UINT32_MAX || !name[0] || r->rack_count == CROW_RACKS_MAX)
        return i;
    copy(r->racks[r->rack_count], sizeof r->racks[0], name);
    r->wave_of[r->rack_count] = UINT32_MAX;
    return r->rack_count++;
}

static uint32_t wave_of_host(const crow_rollout_t *r, const crow_rollout_host_t *h)
{
    return h->rack < r->rack_count ? r->wave_of[h->rack] : UINT32_MAX;
}

static void count(uint32_t *n, int sign, bool cond)
{
    if (cond)
        *n += (uint32_t)sign; /* -1 wraps to a decrement */
}

/* Takes host i's part out of its wave's counts, sets and the poll tree (sign -1), or puts it in (+1)
 * as it is now. Every change to a host's steps, rack or silence goes between the two, so the indexes
 * answer what a walk over the hosts would (the walks this replaced are the rules written here). */
static void track(crow_rollout_t *r, uint32_t i, int sign)
{
    const crow_rollout_host_t *h = &r->hosts[i];
    struct rollout_index *ix = r->index;
    uint32_t w = wave_of_host(r, h);
    if (w >= CROW_PLAN_MAX_WAVES)
        return; /* out of the plan: no order, no expiry, no count */
    int in = sign > 0 && !h->gone;
    rollout_index_poll(ix, i, in ? h->seen_ms : UINT64_MAX);
    rollout_index_put(ix, SET_DOWNLOAD, w, i, in && h->dl == CROW_HS_NONE);
    rollout_index_put(ix, SET_ACTIVATE, w, i, in && h->act == CROW_ACT_NONE && h->dl == CROW_HS_OK);
    rollout_index_put(ix, SET_ROLLBACK, w, i, in && h->act != CROW_ACT_NONE && h->rb == CROW_HS_NONE);
    if (h->act != CROW_ACT_NONE) {
        /* What a rollback of the wave waits for: every host told to activate back, failed or silent. */
        count(&ix->rb_involved[w], sign, true);
        count(&ix->rb_back[w], sign, h->rb == CROW_HS_OK);
        count(&ix->rb_failed[w], sign, h->rb == CROW_HS_FAILED || (h->gone && h->rb == CROW_HS_NONE));
    }
    /* An expired host that was never told to activate is out of its wave; one that was keeps
     * counting (as failed, unless it reported healthy before it went silent). */
    if (h->gone && h->act == CROW_ACT_NONE)
        return;
    crow_wave_counts_t *c = &ix->counts[w];
    count(&c->hosts, sign, true);
    count(&c->downloaded, sign, h->dl == CROW_HS_OK);
    count(&c->download_failed, sign, h->dl == CROW_HS_FAILED);
    count(&c->ordered, sign, h->act == CROW_ACT_ORDERED);
    count(&c->active, sign, h->act == CROW_ACT_ACTIVE);
    count(&c->healthy, sign, h->act == CROW_ACT_HEALTHY);
    count(&c->failed, sign, h->act == CROW_ACT_FAILED);
    count(&c->rolled_back, sign, h->rb == CROW_HS_OK);
}

/* Rebuilds every index from the host table (after a start re-plans the waves, a copy, a growth). */
static void reindex(crow_rollout_t *r)
{
    rollout_index_clear(r->index);
    for (uint32_t i = 0; i < r->host_count; i++) {
        rollout_index_add(r->index, r->hosts, i);
        track(r, i, 1);
    }
    r->index->work += r->host_count;
}

static bool valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

void crow_rollout_wave_counts(const crow_rollout_t *r, uint32_t wave, crow_wave_counts_t *c)
{
    if (wave < CROW_PLAN_MAX_WAVES)
        *c = r->index->counts[wave];
    else
        memset(c, 0, sizeof *c);
}

/* "r1,r2" for a wave. */
static void wave_racks(const crow_rollout_t *r, uint32_t wave, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < r->rack_count && len < cap; i++)
        if (r->wave_of[i] == wave)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", r->racks[i]);
}

/* The plan of a START record and the wave of every rack: the racks known now, then the ones the record
 * lists (the order apply_start builds r->racks in, so both see the same assignment). */
static int plan_racks(const crow_rollout_t *r, const crow_jrec_t *rec, crow_rollout_plan_t *plan,
                      char (*names)[CROW_RACK_NAME_MAX + 1], uint32_t *count, uint32_t *wave_of,
                      crow_rollout_plan_error_t *err)
{
    int ret = crow_rollout_plan_parse(plan, rec->text, strlen(rec->text), err);
    if (ret)
        return ret;
    *count = 0;
    for (uint32_t i = 0; i < r->rack_count; i++)
        copy(names[(*count)++], sizeof names[0], r->racks[i]);
    for (const char *p = rec->extra; *p;) {
        size_t n = strcspn(p, ",");
        char name[CROW_RACK_NAME_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        p += n + (p[n] == ',');
        bool seen = !valid_name(name, CROW_RACK_NAME_MAX);
        for (uint32_t k = 0; k < *count && !seen; k++)
            seen = strcmp(names[k], name) == 0;
        if (!seen && *count < CROW_RACKS_MAX)
            copy(names[(*count)++], sizeof names[0], name);
    }
    return crow_rollout_plan_assign(plan, (const char(*)[CROW_RACK_NAME_MAX + 1]) names, *count, wave_of,
                                    err);
}

/* What a START record amounts to: its plan, every rack known and the wave of each (about 12 KiB). */
struct start_plan {
    crow_rollout_plan_t plan;
    char names[CROW_RACKS_MAX][CROW_RACK_NAME_MAX + 1];
    uint32_t wave_of[CROW_RACKS_MAX], count;
};

static int check_start(const crow_rollout_t *r, const crow_jrec_t *rec, struct start_plan *sp,
                       crow_rollout_plan_error_t *err)
{
    if (r->state == CROW_ROLLOUT_RUNNING || r->state == CROW_ROLLOUT_PAUSED ||
        r->state == CROW_ROLLOUT_ROLLING_BACK) {
        snprintf(err->text, sizeof err->text, "rollout %u is %s: abort it first", r->id,
                 crow_rollout_state_name(r->state));
        return CROW_EUSAGE;
    }
    if (rec->rollout <= r->id || strlen(rec->release) != 64 ||
        strspn(rec->release, "0123456789abcdef") != 64) {
        snprintf(err->text, sizeof err->text, "not a new rollout, or not a release id");
        return CROW_EPROTO;
    }
    return plan_racks(r, rec, &sp->plan, sp->names, &sp->count, sp->wave_of, err);
}

int crow_rollout_prepare_start(const crow_rollout_t *r, const char *release, const char *name,
                               const char *torrent, const char *plan_text, const crow_racks_t *racks,
                               enum crow_distribute mode, uint64_t now_ms, crow_jrec_t *rec,
                               crow_rollout_plan_error_t *err)
{
    crow_rollout_plan_error_t spare;
    if (!err)
        err = &spare;
    memset(err, 0, sizeof *err);
    memset(rec, 0, sizeof *rec);
    if (strlen(torrent) > CROW_JREC_PATH_MAX || strlen(name) > CROW_JREC_NAME_MAX ||
        strlen(plan_text) > CROW_PLAN_MAX_TEXT || strlen(release) != 64) {
        snprintf(err->text, sizeof err->text,
                 "torrent path, release name or plan too long, or not a release id");
        return CROW_ELIMIT;
    }
    /* The name comes from the manifest and becomes a directory on every host: an agent refuses an
     * order it cannot use that way, so such a rollout would never get past its first wave. */
    if (!crow_agent_name_valid(name)) {
        snprintf(err->text, sizeof err->text,
                 "release name '%.40s' cannot be a directory on the hosts (printable ASCII, no space "
                 "or '/', no leading '.')",
                 name);
        return CROW_EPARSE;
    }
    size_t len = 0;
    for (uint32_t i = 0; racks && i < racks->count && len < sizeof rec->extra; i++)
        len += (size_t)snprintf(rec->extra + len, sizeof rec->extra - len, "%s%s", len ? "," : "",
                                racks->racks[i].name);
    rec->type = CROW_JREC_START;
    rec->rollout = r->id + 1;
    rec->t_ms = now_ms;
    rec->code = (int32_t)mode;
    copy(rec->release, sizeof rec->release, release);
    copy(rec->name, sizeof rec->name, name);
    copy(rec->path, sizeof rec->path, torrent);
    copy(rec->text, sizeof rec->text, plan_text);
    struct start_plan sp;
    return check_start(r, rec, &sp, err);
}

static int check_host(const crow_rollout_t *r, const crow_jrec_t *rec)
{
    if (!valid_name(rec->host, CROW_JREC_HOST_MAX) ||
        (rec->rack[0] && !valid_name(rec->rack, CROW_RACK_NAME_MAX)))
        return CROW_EPROTO;
    uint32_t i = crow_rollout_find_host(r, rec->host);
    if (i == UINT32_MAX)
        return r->host_count >= r->host_limit || r->host_count >= CROW_ROLLOUT_MAX_HOSTS ? CROW_ELIMIT : 0;
    const crow_rollout_host_t *h = &r->hosts[i];
    const char *rack = h->rack < r->rack_count ? r->racks[h->rack] : "";
    return strcmp(rack, rec->rack) == 0 && strcmp(h->current, rec->release) == 0 && !h->gone ? 1 : 0;
}

static int check_order(const crow_rollout_t *r, const crow_jrec_t *rec, const crow_rollout_host_t *h)
{
    switch (rec->code) {
    case CROW_ORDER_DOWNLOAD:
        return h->dl == CROW_HS_NONE ? 0 : CROW_EPROTO;
    case CROW_ORDER_ACTIVATE:
        /* Never twice in one rollout, and only a release the host verified. */
        return h->act == CROW_ACT_NONE && h->dl == CROW_HS_OK && r->state == CROW_ROLLOUT_RUNNING
                   ? 0
                   : CROW_EPROTO;
    case CROW_ORDER_ROLLBACK:
        return h->rb == CROW_HS_NONE && h->act != CROW_ACT_NONE ? 0 : CROW_EPROTO;
    default:
        return CROW_EPROTO;
    }
}

/* A report: 0 it moves the host on, 1 it repeats what is known, CROW_EPROTO it does not fit. */
static int check_report(const crow_jrec_t *rec, const crow_rollout_host_t *h)
{
    bool ok = rec->status == 0;
    /* Agents number their reports in the order they send them: an older one than the last taken is a
     * replay (or a forgery) that must not undo what the host reported since. */
    if (rec->seq && rec->seq <= h->report_seq)
        return rec->seq == h->report_seq ? 1 : CROW_EPROTO;
    switch (rec->code) {
    case CROW_STEP_DOWNLOAD:
        if (h->dl == CROW_HS_ORDERED)
            return 0;
        return (h->dl == CROW_HS_OK && ok) || (h->dl == CROW_HS_FAILED && !ok) ? 1 : CROW_EPROTO;
    case CROW_STEP_ACTIVATE:
        if (h->rb == CROW_HS_OK || h->rb == CROW_HS_FAILED)
            return 1; /* late news from before the rollback: the host runs what the rollback left */
        if (h->act == CROW_ACT_ORDERED)
            return 0;
        if (ok)
            return h->act == CROW_ACT_ACTIVE || h->act == CROW_ACT_HEALTHY || h->act == CROW_ACT_FAILED
                       ? 1
                       : CROW_EPROTO;
        return h->act == CROW_ACT_FAILED ? 1 : CROW_EPROTO;
    case CROW_STEP_HEALTH:
        if (h->rb == CROW_HS_OK || h->rb == CROW_HS_FAILED)
            return 1;
        if (h->act == CROW_ACT_ACTIVE || (h->act == CROW_ACT_HEALTHY && !ok))
            return 0; /* a health check may fail late, while the wave soaks */
        return (h->act == CROW_ACT_HEALTHY && ok) || h->act == CROW_ACT_FAILED ? 1 : CROW_EPROTO;
    case CROW_STEP_ROLLBACK:
        if (h->rb == CROW_HS_ORDERED)
            return 0;
        return (h->rb == CROW_HS_OK && ok) || (h->rb == CROW_HS_FAILED && !ok) ? 1 : CROW_EPROTO;
    default:
        return CROW_EPROTO;
    }
}

static int check_control(const crow_rollout_t *r, const crow_jrec_t *rec)
{
    enum crow_rollout_state s = r->state;
    switch (rec->code) {
    case CROW_CONTROL_PAUSE:
        return s == CROW_ROLLOUT_PAUSED ? 1 : s == CROW_ROLLOUT_RUNNING ? 0 : CROW_EUSAGE;
    case CROW_CONTROL_RESUME:
        return s == CROW_ROLLOUT_RUNNING ? 1 : s == CROW_ROLLOUT_PAUSED ? 0 : CROW_EUSAGE;
    case CROW_CONTROL_ABORT:
        return s == CROW_ROLLOUT_ABORTED ? 1
               : s == CROW_ROLLOUT_RUNNING || s == CROW_ROLLOUT_PAUSED || s == CROW_ROLLOUT_HALTED ||
                       s == CROW_ROLLOUT_ROLLING_BACK
                   ? 0
                   : CROW_EUSAGE;
    case CROW_CONTROL_ROLLBACK:
        return s == CROW_ROLLOUT_ROLLING_BACK                            ? 1
               : s == CROW_ROLLOUT_IDLE || s == CROW_ROLLOUT_ROLLED_BACK ? CROW_EUSAGE
                                                                         : 0;
    default:
        return CROW_EPROTO;
    }
}

int crow_rollout_check(const crow_rollout_t *r, const crow_jrec_t *rec)
{
    if (rec->type == CROW_JREC_START) {
        struct start_plan sp;
        crow_rollout_plan_error_t err;
        return check_start(r, rec, &sp, &err);
    }
    if (rec->type == CROW_JREC_HOST)
        return check_host(r, rec);
    if (rec->rollout != r->id || r->state == CROW_ROLLOUT_IDLE)
        return CROW_ESESSION;
    uint32_t i;
    switch (rec->type) {
    case CROW_JREC_EXPIRE:
        i = crow_rollout_find_host(r, rec->host);
        return i != UINT32_MAX && !r->hosts[i].gone ? 0 : CROW_EPROTO;
    case CROW_JREC_ORDER:
    case CROW_JREC_REPORT:
        if ((i = crow_rollout_find_host(r, rec->host)) == UINT32_MAX)
            return CROW_EPROTO;
        return rec->type == CROW_JREC_ORDER ? check_order(r, rec, &r->hosts[i])
                                            : check_report(rec, &r->hosts[i]);
    case CROW_JREC_WAVE:
        return rec->wave < r->wave_count && rec->code >= CROW_WAVE_PENDING &&
                       rec->code <= CROW_WAVE_ROLLED_BACK
                   ? 0
                   : CROW_EPROTO;
    case CROW_JREC_CONTROL:
        return check_control(r, rec);
    case CROW_JREC_END:
        return rec->code >= CROW_ROLLOUT_HALTED && rec->code <= CROW_ROLLOUT_ROLLED_BACK ? 0 : CROW_EPROTO;
    default:
        return CROW_EPROTO;
    }
}

static void decide(crow_rollout_t *r, int kind, uint64_t t_ms, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void decide(crow_rollout_t *r, int kind, uint64_t t_ms, const char *fmt, ...)
{
    crow_rollout_decision_t *d = &r->decisions[r->decision_count % CROW_ROLLOUT_MAX_DECISIONS];
    d->t_ms = t_ms;
    d->rollout = r->id;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text, sizeof d->text, fmt, ap);
    va_end(ap);
    r->decision_count++;
    if (kind >= 0)
        r->decisions_by_kind[kind]++;
}

static void apply_start(crow_rollout_t *r, const crow_jrec_t *rec, const struct start_plan *sp)
{
    memcpy(r->racks, sp->names, sizeof r->racks[0] * sp->count);
    memcpy(r->wave_of, sp->wave_of, sizeof r->wave_of[0] * sp->count);
    r->rack_count = sp->count;
    const crow_rollout_plan_t *plan = &sp->plan;
    r->id = rec->rollout;
    r->state = CROW_ROLLOUT_RUNNING;
    r->distribute = rec->code == CROW_DISTRIBUTE_PER_WAVE ? CROW_DISTRIBUTE_PER_WAVE : CROW_DISTRIBUTE_ALL;
    copy(r->release, sizeof r->release, rec->release);
    copy(r->name, sizeof r->name, rec->name);
    copy(r->torrent, sizeof r->torrent, rec->path);
    copy(r->plan_text, sizeof r->plan_text, rec->text);
    r->end_reason[0] = '\0';
    r->wave_count = plan->wave_count;
    r->current = 0;
    r->activations_ordered = 0;
    for (uint32_t w = 0; w < plan->wave_count; w++)
        r->waves[w] = (crow_rollout_wave_t){.spec = plan->waves[w], .state = CROW_WAVE_PENDING};
    for (uint32_t i = 0; i < r->host_count; i++) {
        crow_rollout_host_t *h = &r->hosts[i];
        h->dl = h->rb = CROW_HS_NONE;
        h->act = CROW_ACT_NONE;
        h->previous[0] = h->detail[0] = '\0';
    }
    reindex(r); /* every host's wave may have changed */
    decide(r, -1, rec->t_ms, "rollout %u started: %s (%.12s) in %u wave(s), distribute %s", r->id, r->name,
           r->release, r->wave_count, r->distribute == CROW_DISTRIBUTE_ALL ? "all" : "per-wave");
}

static int apply_host(crow_rollout_t *r, const crow_jrec_t *rec)
{
    uint32_t i = crow_rollout_find_host(r, rec->host);
    if (i == UINT32_MAX) {
        if (r->host_count == r->host_cap && make_room(r, 2 * r->host_cap))
            return -ENOMEM;
        i = r->host_count++;
        memset(&r->hosts[i], 0, sizeof r->hosts[i]);
        copy(r->hosts[i].name, sizeof r->hosts[i].name, rec->host);
        rollout_index_add(r->index, r->hosts, i);
    } else {
        track(r, i, -1);
    }
    /* The agent knows best what it runs (it may have been switched by hand); the rollback target
     * stays what it ran when it was told to activate. */
    copy(r->hosts[i].current, sizeof r->hosts[i].current, rec->release);
    r->hosts[i].rack = add_rack(r, rec->rack);
    r->hosts[i].gone = false;
    r->hosts[i].seen_ms = rec->t_ms > r->hosts[i].seen_ms ? rec->t_ms : r->hosts[i].seen_ms;
    track(r, i, 1);
    return 0;
}

static void apply_expire(crow_rollout_t *r, const crow_jrec_t *rec, crow_rollout_host_t *h)
{
    h->gone = true;
    if (h->act == CROW_ACT_ORDERED || h->act == CROW_ACT_ACTIVE) {
        h->act = CROW_ACT_FAILED;
        snprintf(h->detail, sizeof h->detail, "expired: %.80s", rec->text);
    }
    if (h->rb == CROW_HS_ORDERED) {
        h->rb = CROW_HS_FAILED;
        snprintf(h->detail, sizeof h->detail, "expired: %.80s", rec->text);
    }
    decide(r, -1, rec->t_ms, "host %s expired: %s", h->name, rec->text);
}

void crow_rollout_seen(crow_rollout_t *r, uint32_t host, uint64_t now_ms)
{
    if (host >= r->host_count || now_ms <= r->hosts[host].seen_ms)
        return;
    crow_rollout_host_t *h = &r->hosts[host];
    h->seen_ms = now_ms;
    if (wave_of_host(r, h) < CROW_PLAN_MAX_WAVES && !h->gone)
        rollout_index_poll(r->index, host, now_ms);
}

static void apply_order(crow_rollout_t *r, const crow_jrec_t *rec, crow_rollout_host_t *h)
{
    if (rec->code == CROW_ORDER_DOWNLOAD) {
        h->dl = CROW_HS_ORDERED;
    } else if (rec->code == CROW_ORDER_ACTIVATE) {
        h->act = CROW_ACT_ORDERED;
        copy(h->previous, sizeof h->previous, h->current);
        r->activations_ordered++;
    } else {
        h->rb = CROW_HS_ORDERED;
    }
}

static void apply_report(crow_rollout_t *r, const crow_jrec_t *rec, crow_rollout_host_t *h)
{
    bool ok = rec->status == 0;
    if (rec->seq > h->report_seq)
        h->report_seq = rec->seq;
    if (!ok)
        snprintf(h->detail, sizeof h->detail, "%s: %.80s", crow_step_name(rec->code),
                 rec->text[0] ? rec->text : "failed");
    switch (rec->code) {
    case CROW_STEP_DOWNLOAD:
        h->dl = ok ? CROW_HS_OK : CROW_HS_FAILED;
        break;
    case CROW_STEP_ACTIVATE:
        h->act = ok ? CROW_ACT_ACTIVE : CROW_ACT_FAILED;
        if (ok)
            copy(h->current, sizeof h->current, r->release);
        break;
    case CROW_STEP_HEALTH:
        h->act = ok ? CROW_ACT_HEALTHY : CROW_ACT_FAILED;
        break;
    default:
        h->rb = ok ? CROW_HS_OK : CROW_HS_FAILED;
        if (ok && h->previous[0])
            copy(h->current, sizeof h->current, h->previous);
        break;
    }
}

static void apply_wave(crow_rollout_t *r, const crow_jrec_t *rec)
{
    crow_rollout_wave_t *w = &r->waves[rec->wave];
    char racks[256];
    wave_racks(r, rec->wave, racks, sizeof racks);
    w->state = (enum crow_wave_state)rec->code;
    copy(w->reason, sizeof w->reason, rec->text);
    int kind = w->state == CROW_WAVE_HALTED                                       ? KIND_HALT
               : w->state == CROW_WAVE_ROLLED_BACK                                ? KIND_ROLLBACK
               : w->state == CROW_WAVE_DISTRIBUTING || w->state == CROW_WAVE_DONE ? KIND_ADVANCE
                                                                                  : -1;
    decide(r, kind, rec->t_ms, "wave %u (%s) %s: %s", rec->wave + 1, racks, crow_wave_state_name(w->state),
           rec->text);
    switch (w->state) {
    case CROW_WAVE_SOAKING:
        w->soak_until_ms = rec->t_ms + (uint64_t)w->spec.soak_s * 1000;
        break;
    case CROW_WAVE_DONE:
        if (rec->wave == r->current)
            r->current = rec->wave + 1;
        break;
    case CROW_WAVE_HALTED:
        r->state = CROW_ROLLOUT_HALTED;
        copy(r->end_reason, sizeof r->end_reason, rec->text);
        break;
    case CROW_WAVE_ROLLED_BACK:
        if (rec->wave == r->current && rec->wave > 0)
            r->current = rec->wave - 1;
        break;
    default:
        break;
    }
}

static void apply_control(crow_rollout_t *r, const crow_jrec_t *rec)
{
    static const char *const names[] = {"", "pause", "resume", "abort", "rollback"};
    decide(r, rec->code == CROW_CONTROL_ROLLBACK ? KIND_ROLLBACK : -1, rec->t_ms, "operator: %s%s%s",
           names[rec->code], rec->text[0] ? ": " : "", rec->text);
    switch (rec->code) {
    case CROW_CONTROL_PAUSE:
        r->state = CROW_ROLLOUT_PAUSED;
        break;
    case CROW_CONTROL_RESUME:
        r->state = CROW_ROLLOUT_RUNNING;
        break;
    case CROW_CONTROL_ABORT:
        r->state = CROW_ROLLOUT_ABORTED;
        copy(r->end_reason, sizeof r->end_reason, "aborted by the operator");
        break;
    default:
        r->state = CROW_ROLLOUT_ROLLING_BACK;
        /* From the last wave that started down to the canary. */
        r->current = 0;
        for (uint32_t w = 0; w < r->wave_count; w++)
            if (r->waves[w].state != CROW_WAVE_PENDING)
                r->current = w;
        break;
    }
}

int crow_rollout_apply(crow_rollout_t *r, const crow_jrec_t *rec)
{
    if (rec->type == CROW_JREC_START) {
        struct start_plan sp;
        crow_rollout_plan_error_t err;
        int ret = check_start(r, rec, &sp, &err);
        if (ret == 0)
            apply_start(r, rec, &sp);
        return ret;
    }
    int ret = crow_rollout_check(r, rec);
    if (ret)
        return ret;
    uint32_t i = rec->host[0] ? crow_rollout_find_host(r, rec->host) : UINT32_MAX;
    bool of_host =
        rec->type == CROW_JREC_ORDER || rec->type == CROW_JREC_REPORT || rec->type == CROW_JREC_EXPIRE;
    if (of_host)
        track(r, i, -1);
    switch (rec->type) {
    case CROW_JREC_HOST:
        return apply_host(r, rec);
    case CROW_JREC_ORDER:
        apply_order(r, rec, &r->hosts[i]);
        break;
    case CROW_JREC_REPORT:
        apply_report(r, rec, &r->hosts[i]);
        break;
    case CROW_JREC_WAVE:
        apply_wave(r, rec);
        break;
    case CROW_JREC_CONTROL:
        apply_control(r, rec);
        break;
    case CROW_JREC_EXPIRE:
        apply_expire(r, rec, &r->hosts[i]);
        break;
    default:
        r->state = (enum crow_rollout_state)rec->code;
        copy(r->end_reason, sizeof r->end_reason, rec->text);
        decide(r, KIND_END, rec->t_ms, "rollout %u %s: %s", r->id, crow_rollout_state_name(r->state),
               rec->text);
        break;
    }
    if (of_host)
        track(r, i, 1);
    return 0;
}

static int emit(const crow_rollout_t *r, crow_jrec_t *rec, enum crow_jrec_type type, uint64_t now_ms)
{
    memset(rec, 0, sizeof *rec);
    rec->type = type;
    rec->rollout = r->id;
    rec->t_ms = now_ms;
    return 1;
}

static int order(const crow_rollout_t *r, crow_jrec_t *rec, uint64_t now_ms, const crow_rollout_host_t *h,
                 enum crow_order o)
{
    emit(r, rec, CROW_JREC_ORDER, now_ms);
    rec->code = (int32_t)o;
    copy(rec->host, sizeof rec->host, h->name);
    copy(rec->release, sizeof rec->release, o == CROW_ORDER_ROLLBACK ? h->previous : r->release);
    return 1;
}

static int wave_to(const crow_rollout_t *r, crow_jrec_t *rec, uint64_t now_ms, enum crow_wave_state s,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int wave_to(const crow_rollout_t *r, crow_jrec_t *rec, uint64_t now_ms, enum crow_wave_state s,
                   const char *fmt, ...)
{
    emit(r, rec, CROW_JREC_WAVE, now_ms);
    rec->wave = r->current;
    rec->code = (int32_t)s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->text, sizeof rec->text, fmt, ap);
    va_end(ap);
    return 1;
}

/* The first host (in table order) of a wave's set, or NULL. */
static const crow_rollout_host_t *first_of(const crow_rollout_t *r, enum rollout_set kind, uint32_t wave)
{
    uint32_t i = rollout_index_first(r->index, kind, wave, &r->index->work);
    return i == UINT32_MAX ? NULL : &r->hosts[i];
}

/* The first host of the wave still to be told to download (`all` distribution: of every planned
 * wave, the first in table order). */
static const crow_rollout_host_t *to_download(const crow_rollout_t *r, bool all)
{
    if (!all)
        return first_of(r, SET_DOWNLOAD, r->current);
    const crow_rollout_host_t *first = NULL, *h;
    for (uint32_t w = 0; w < r->wave_count; w++)
        if ((h = first_of(r, SET_DOWNLOAD, w)) && (!first || h < first))
            first = h;
    return first;
}

/* Halts the current wave when its failures reached the threshold or the healthy share is out of reach. */
static int gate(const crow_rollout_t *r, crow_jrec_t *rec, uint64_t now_ms, const crow_wave_counts_t *c)
{
    const crow_rollout_plan_wave_t *s = &r->waves[r->current].spec;
    uint32_t failed = c->failed + c->download_failed;
    uint32_t need = (uint32_t)(((uint64_t)c->hosts * s->healthy_pct + 99) / 100);
    if (failed >= s->max_failures)
        return wave_to(r, rec, now_ms, CROW_WAVE_HALTED, "%u of %u hosts failed (threshold %u)", failed,
                       c->hosts, s->max_failures);
    if (c->hosts - failed < need)
        return wave_to(r, rec, now_ms, CROW_WAVE_HALTED,
                       "%u of %u hosts failed: %u%% healthy is out of reach", failed, c->hosts,
                       s->healthy_pct);
    return 0;
}

/* The first host of the plan (in table order) that has been silent past the expiry, or NULL. */
static const crow_rollout_host_t *silent_host(const crow_rollout_t *r, uint64_t now_ms)
{
    if (!r->host_expiry_ms || now_ms < r->host_expiry_ms)
        return NULL;
    uint32_t i = rollout_index_first_polled_by(r->index, now_ms - r->host_expiry_ms, &r->index->work);
    return i == UINT32_MAX ? NULL : &r->hosts[i];
}

static int expire(const crow_rollout_t *r, crow_jrec_t *rec, uint64_t now_ms, const crow_rollout_host_t *h)
{
    emit(r, rec, CROW_JREC_EXPIRE, now_ms);
    copy(rec->host, sizeof rec->host, h->name);
    snprintf(rec->text, sizeof rec->text, "no poll for %" PRIu64 " s (host expiry %" PRIu64 " s)",
             (now_ms - h->seen_ms) / 1000, r->host_expiry_ms / 1000);
    return 1;
}

static int next_running(const crow_rollout_t *r, uint64_t now_ms, crow_jrec_t *rec)
{
    const crow_rollout_host_t *h;
    if ((h = silent_host(r, now_ms)))
        return expire(r, rec, now_ms, h);
    if (r->distribute == CROW_DISTRIBUTE_ALL && (h = to_download(r, true)))
        return order(r, rec, now_ms, h, CROW_ORDER_DOWNLOAD);
    if (r->current >= r->wave_count) {
        emit(r, rec, CROW_JREC_END, now_ms);
        rec->code = CROW_ROLLOUT_DONE;
        snprintf(rec->text, sizeof rec->text, "every wave done");
        return 1;
    }
    const crow_rollout_wave_t *w = &r->waves[r->current];
    crow_wave_counts_t c;
    crow_rollout_wave_counts(r, r->current, &c);
    char racks[256];
    switch (w->state) {
    case CROW_WAVE_PENDING:
        if (c.hosts == 0) {
            wave_racks(r, r->current, racks, sizeof racks);
            return wave_to(r, rec, now_ms, CROW_WAVE_HALTED, "no agent has registered in racks %s", racks);
        }
        return wave_to(r, rec, now_ms, CROW_WAVE_DISTRIBUTING, "starting with %u host(s)", c.hosts);
    case CROW_WAVE_DISTRIBUTING:
        if ((h = to_download(r, false)))
            return order(r, rec, now_ms, h, CROW_ORDER_DOWNLOAD);
        if (gate(r, rec, now_ms, &c))
            return 1;
        if (c.downloaded + c.download_failed == c.hosts)
            return wave_to(r, rec, now_ms, CROW_WAVE_ACTIVATING, "%u of %u hosts hold the verified release",
                           c.downloaded, c.hosts);
        return 0;
    case CROW_WAVE_ACTIVATING: {
        if (gate(r, rec, now_ms, &c))
            return 1;
        uint32_t failed = c.failed + c.download_failed,
                 need = (uint32_t)(((uint64_t)c.hosts * w->spec.healthy_pct + 99) / 100);
        if (c.healthy + failed == c.hosts)
            return wave_to(r, rec, now_ms, CROW_WAVE_SOAKING, "%u of %u hosts healthy (need %u), soaking %us",
                           c.healthy, c.hosts, need, w->spec.soak_s);
        uint32_t limit = w->spec.max_failures - failed;
        if (w->spec.parallel && w->spec.parallel < limit)
            limit = w->spec.parallel;
        if (c.ordered + c.active >= limit)
            return 0;
        if ((h = first_of(r, SET_ACTIVATE, r->current)))
            return order(r, rec, now_ms, h, CROW_ORDER_ACTIVATE);
        return 0;
    }
    case CROW_WAVE_SOAKING:
        if (gate(r, rec, now_ms, &c))
            return 1;
        if (now_ms >= w->soak_until_ms)
            return wave_to(r, rec, now_ms, CROW_WAVE_DONE, "soaked %us with %u of %u hosts healthy",
                           w->spec.soak_s, c.healthy, c.hosts);
        return 0;
    default:
        return 0;
    }
}

static int next_rollback(const crow_rollout_t *r, uint64_t now_ms, crow_jrec_t *rec)
{
    const crow_rollout_host_t *silent = silent_host(r, now_ms);
    if (silent)
        return expire(r, rec, now_ms, silent);
    const crow_rollout_wave_t *w = &r->waves[r->current];
    if (w->state == CROW_WAVE_ROLLED_BACK || r->wave_count == 0) {
        emit(r, rec, CROW_JREC_END, now_ms);
        rec->code = CROW_ROLLOUT_ROLLED_BACK;
        snprintf(rec->text, sizeof rec->text, "every wave rolled back");
        return 1;
    }
    const crow_rollout_host_t *h = first_of(r, SET_ROLLBACK, r->current);
    if (h)
        return order(r, rec, now_ms, h, CROW_ORDER_ROLLBACK);
    const struct rollout_index *ix = r->index;
    uint32_t back = ix->rb_back[r->current], failed = ix->rb_failed[r->current]; /* silent: not back */
    if (back + failed < ix->rb_involved[r->current])
        return 0;
    return wave_to(r, rec, now_ms, CROW_WAVE_ROLLED_BACK,
                   "%u host(s) back on their previous release, %u failed", back, failed);
}

int crow_rollout_next(const crow_rollout_t *r, uint64_t now_ms, crow_jrec_t *rec)
{
    if (r->state == CROW_ROLLOUT_RUNNING)
        return next_running(r, now_ms, rec);
    if (r->state == CROW_ROLLOUT_ROLLING_BACK)
        return next_rollback(r, now_ms, rec);
    return 0;
}

uint64_t crow_rollout_deadline(const crow_rollout_t *r)
{
    uint64_t at = UINT64_MAX;
    if (r->state != CROW_ROLLOUT_RUNNING && r->state != CROW_ROLLOUT_ROLLING_BACK)
        return at;
    uint64_t oldest = rollout_index_oldest_poll(r->index);
    if (r->host_expiry_ms && oldest != UINT64_MAX)
        at = oldest + r->host_expiry_ms;
    if (r->state == CROW_ROLLOUT_RUNNING && r->current < r->wave_count &&
        r->waves[r->current].state == CROW_WAVE_SOAKING && r->waves[r->current].soak_until_ms < at)
        at = r->waves[r->current].soak_until_ms;
    return at;
}

enum crow_order crow_rollout_order_for(const crow_rollout_t *r, const char *host, const char **release)
{
    uint32_t i = crow_rollout_find_host(r, host);
    *release = r->release;
    if (i == UINT32_MAX || r->state == CROW_ROLLOUT_IDLE || r->state == CROW_ROLLOUT_ABORTED ||
        r->hosts[i].gone)
        return CROW_ORDER_NONE;
    const crow_rollout_host_t *h = &r->hosts[i];
    if (h->rb == CROW_HS_ORDERED) {
        *release = h->previous;
        return CROW_ORDER_ROLLBACK;
    }
    /* An activation not yet handed out waits while the rollout is paused, and is dropped when it
     * halts, is aborted or rolls back (the host then gets a rollback order instead). */
    if (h->act == CROW_ACT_ORDERED)
        return r->state == CROW_ROLLOUT_RUNNING ? CROW_ORDER_ACTIVATE : CROW_ORDER_NONE;
    if (h->dl == CROW_HS_ORDERED)
        return CROW_ORDER_DOWNLOAD;
    return CROW_ORDER_NONE;
}
