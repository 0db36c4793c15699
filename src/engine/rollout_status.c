/* Rendering of the rollout state: JSON for /status and `rollout status --json`, text per wave and
 * rack for `rollout status`, Prometheus lines for /metrics. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/json.h"
#include "crowcast/rollout.h"

/* A copy of s fit for a terminal: bytes outside printable ASCII become \xNN, so a release name, a
 * reason or a detail cannot carry escape sequences into `rollout status`. */
static const char *safe(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= ' ' && c < 0x7f && c != '\\')
            buf[n++] = (char)c;
        else
            n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", c);
    }
    buf[n] = '\0';
    return buf;
}

/* The hosts of each rack in table order, without a walk over every host for each rack (a status of
 * 100,000 hosts in 250 racks would look at 25 million). */
struct by_rack {
    uint32_t *hosts; /* host indexes, rack after rack; NULL (out of memory): each rack walks the table */
    uint32_t first[CROW_RACKS_MAX + 1];
};

static void by_rack_build(const crow_rollout_t *r, struct by_rack *g)
{
    uint32_t fill[CROW_RACKS_MAX];
    memset(g->first, 0, sizeof g->first);
    if (!(g->hosts = malloc((size_t)r->host_count * sizeof *g->hosts + 1)))
        return;
    for (uint32_t i = 0; i < r->host_count; i++)
        if (r->hosts[i].rack < r->rack_count)
            g->first[r->hosts[i].rack + 1]++;
    for (uint32_t k = 0; k < r->rack_count; k++) {
        fill[k] = g->first[k];
        g->first[k + 1] += g->first[k];
    }
    for (uint32_t i = 0; i < r->host_count; i++)
        if (r->hosts[i].rack < r->rack_count)
            g->hosts[fill[r->hosts[i].rack]++] = i;
}

/* The next host of rack k, *at counting from 0 (a cursor), or UINT32_MAX. */
static uint32_t by_rack_next(const crow_rollout_t *r, const struct by_rack *g, uint32_t k, uint32_t *at)
{
    if (g->hosts)
        return *at < g->first[k + 1] - g->first[k] ? g->hosts[g->first[k] + (*at)++] : UINT32_MAX;
    for (; *at < r->host_count; ++*at)
        if (r->hosts[*at].rack == k)
            return (*at)++;
    return UINT32_MAX;
}

static const char *host_label(const crow_rollout_host_t *h)
{
    static const char *const rb[] = {"", "rolling-back", "rolled-back", "rollback-failed"};
    static const char *const act[] = {"", "activating", "checking", "healthy", "failed"};
    static const char *const dl[] = {"idle", "downloading", "downloaded", "download-failed"};
    if (h->gone)
        return "expired";
    if (h->rb)
        return rb[h->rb];
    if (h->act)
        return act[h->act];
    return dl[h->dl];
}

static uint64_t soak_left_s(const crow_rollout_wave_t *w, uint64_t now_ms)
{
    return w->state == CROW_WAVE_SOAKING && w->soak_until_ms > now_ms
               ? (w->soak_until_ms - now_ms + 999) / 1000
               : 0;
}

long crow_rollout_status_json(const crow_rollout_t *r, uint64_t now_ms, char *buf, size_t cap)
{
    crow_text_t o = {buf, cap, 0, false};
    crow_text_printf(&o, "{\"rollout\":%u,\"state\":\"%s\",\"release\":\"%s\",\"name\":", r->id,
                     crow_rollout_state_name(r->state), r->release);
    crow_json_put(&o, r->name);
    crow_text_printf(
        &o, ",\"distribute\":\"%s\",\"reason\":", r->distribute == CROW_DISTRIBUTE_ALL ? "all" : "per-wave");
    crow_json_put(&o, r->end_reason);
    crow_text_printf(&o, ",\"activations_ordered\":%" PRIu64 ",\"waves\":[", r->activations_ordered);
    for (uint32_t w = 0; w < r->wave_count; w++) {
        const crow_rollout_wave_t *wv = &r->waves[w];
        crow_wave_counts_t c;
        crow_rollout_wave_counts(r, w, &c);
        crow_text_printf(
            &o,
            "%s{\"wave\":%u,\"canary\":%s,\"state\":\"%s\",\"healthy_pct\":%u,\"failures\":%u,\"soak_s\":%u,"
            "\"soak_left_s\":%" PRIu64 ",\"hosts\":%u,\"downloaded\":%u,\"healthy\":%u,\"failed\":%u,"
            "\"activating\":%u,\"rolled_back\":%u,\"racks\":[",
            w ? "," : "", w + 1, wv->spec.canary ? "true" : "false", crow_wave_state_name(wv->state),
            wv->spec.healthy_pct, wv->spec.max_failures, wv->spec.soak_s, soak_left_s(wv, now_ms), c.hosts,
            c.downloaded, c.healthy, c.failed + c.download_failed, c.ordered + c.active, c.rolled_back);
        bool first = true;
        for (uint32_t k = 0; k < r->rack_count; k++)
            if (r->wave_of[k] == w) {
                crow_text_printf(&o, "%s\"%s\"", first ? "" : ",", r->racks[k]);
                first = false;
            }
        crow_text_printf(&o, "],\"reason\":");
        crow_json_put(&o, wv->reason);
        crow_text_printf(&o, "}");
    }
    crow_text_printf(&o, "],\"racks\":[");
    struct by_rack g;
    by_rack_build(r, &g);
    for (uint32_t k = 0; k < r->rack_count; k++) {
        crow_text_printf(&o, "%s{\"rack\":\"%s\",\"wave\":", k ? "," : "", r->racks[k]);
        if (r->wave_of[k] == UINT32_MAX)
            crow_text_printf(&o, "null");
        else
            crow_text_printf(&o, "%u", r->wave_of[k] + 1);
        crow_text_printf(&o, ",\"hosts\":[");
        bool first = true;
        for (uint32_t at = 0, i; (i = by_rack_next(r, &g, k, &at)) != UINT32_MAX;) {
            const crow_rollout_host_t *h = &r->hosts[i];
            crow_text_printf(&o, "%s{\"host\":\"%s\",\"state\":\"%s\",\"current\":\"%s\",\"detail\":",
                             first ? "" : ",", h->name, host_label(h), h->current);
            crow_json_put(&o, h->detail);
            crow_text_printf(&o, "}");
            first = false;
        }
        crow_text_printf(&o, "]}");
    }
    free(g.hosts);
    crow_text_printf(&o, "],\"decisions\":[");
    uint32_t kept =
        r->decision_count < CROW_ROLLOUT_MAX_DECISIONS ? r->decision_count : CROW_ROLLOUT_MAX_DECISIONS;
    for (uint32_t k = 0; k < kept; k++) {
        const crow_rollout_decision_t *d =
            &r->decisions[(r->decision_count - kept + k) % CROW_ROLLOUT_MAX_DECISIONS];
        crow_text_printf(&o, "%s{\"t_ms\":%" PRIu64 ",\"rollout\":%u,\"text\":", k ? "," : "", d->t_ms,
                         d->rollout);
        crow_json_put(&o, d->text);
        crow_text_printf(&o, "}");
    }
    crow_text_printf(&o, "]}");
    return crow_text_end(&o);
}

long crow_rollout_status_text(const crow_rollout_t *r, uint64_t now_ms, char *buf, size_t cap)
{
    crow_text_t o = {buf, cap, 0, false};
    if (r->state == CROW_ROLLOUT_IDLE) {
        crow_text_printf(&o, "no rollout yet\n");
        return crow_text_end(&o);
    }
    char name[4 * sizeof r->name], reason[4 * sizeof r->end_reason];
    crow_text_printf(&o, "rollout %u: %s (%.12s) %s, distribute %s%s%s\n", r->id,
                     safe(r->name, name, sizeof name), r->release, crow_rollout_state_name(r->state),
                     r->distribute == CROW_DISTRIBUTE_ALL ? "all" : "per-wave", r->end_reason[0] ? ": " : "",
                     safe(r->end_reason, reason, sizeof reason));
    crow_text_printf(&o, "%-5s %-12s %-18s %5s %5s %7s %6s %8s  %s\n", "wave", "state", "racks", "hosts",
                     "ready", "healthy", "failed", "rolledbk", "gate");
    for (uint32_t w = 0; w < r->wave_count; w++) {
        const crow_rollout_wave_t *wv = &r->waves[w];
        crow_wave_counts_t c;
        crow_rollout_wave_counts(r, w, &c);
        char racks[128] = "", state[40];
        size_t len = 0;
        for (uint32_t k = 0; k < r->rack_count && len < sizeof racks; k++)
            if (r->wave_of[k] == w)
                len += (size_t)snprintf(racks + len, sizeof racks - len, "%s%s", len ? "," : "", r->racks[k]);
        uint64_t left = soak_left_s(wv, now_ms);
        if (left)
            snprintf(state, sizeof state, "soaking %" PRIu64 "s", left);
        else
            snprintf(state, sizeof state, "%s", crow_wave_state_name(wv->state));
        crow_text_printf(
            &o, "%-5u %-12s %-18s %5u %5u %7u %6u %8u  %u%% healthy, halt at %u failure(s), soak %us%s%s\n",
            w + 1, state, racks, c.hosts, c.downloaded, c.healthy, c.failed + c.download_failed,
            c.rolled_back, wv->spec.healthy_pct, wv->spec.max_failures, wv->spec.soak_s,
            wv->spec.canary ? " (canary)" : "", "");
    }
    struct by_rack g;
    by_rack_build(r, &g);
    for (uint32_t k = 0; k < r->rack_count; k++) {
        if (r->wave_of[k] == UINT32_MAX)
            crow_text_printf(&o, "rack %s (not in the plan):", r->racks[k]);
        else
            crow_text_printf(&o, "rack %s (wave %u):", r->racks[k], r->wave_of[k] + 1);
        for (uint32_t at = 0, i; (i = by_rack_next(r, &g, k, &at)) != UINT32_MAX;)
            crow_text_printf(&o, " %s=%s", r->hosts[i].name, host_label(&r->hosts[i]));
        crow_text_printf(&o, "\n");
    }
    free(g.hosts);
    crow_text_printf(&o, "decisions:\n");
    uint32_t kept = r->decision_count < 12 ? r->decision_count : 12;
    for (uint32_t k = 0; k < kept; k++) {
        const crow_rollout_decision_t *d =
            &r->decisions[(r->decision_count - kept + k) % CROW_ROLLOUT_MAX_DECISIONS];
        char text[4 * sizeof d->text];
        crow_text_printf(&o, "  [%u] %s\n", d->rollout, safe(d->text, text, sizeof text));
    }
    return crow_text_end(&o);
}

long crow_rollout_metrics(const crow_rollout_t *r, char *buf, size_t cap)
{
    crow_text_t o = {buf, cap, 0, false};
    crow_text_printf(&o, "# HELP crowcast_rollout_state Current rollout state (1 for the state it is in).\n"
                         "# TYPE crowcast_rollout_state gauge\n");
    for (int s = CROW_ROLLOUT_IDLE; s <= CROW_ROLLOUT_ROLLED_BACK; s++)
        crow_text_printf(&o, "crowcast_rollout_state{state=\"%s\"} %d\n", crow_rollout_state_name(s),
                         r->state == (unsigned)s);
    crow_text_printf(&o,
                     "# HELP crowcast_rollout_decisions_total Coordinator decisions by kind.\n"
                     "# TYPE crowcast_rollout_decisions_total counter\n"
                     "crowcast_rollout_decisions_total{kind=\"advance\"} %" PRIu64 "\n"
                     "crowcast_rollout_decisions_total{kind=\"halt\"} %" PRIu64 "\n"
                     "crowcast_rollout_decisions_total{kind=\"rollback\"} %" PRIu64 "\n"
                     "crowcast_rollout_decisions_total{kind=\"end\"} %" PRIu64 "\n",
                     r->decisions_by_kind[0], r->decisions_by_kind[1], r->decisions_by_kind[2],
                     r->decisions_by_kind[3]);
    crow_text_printf(
        &o,
        "# HELP crowcast_rollout_activations_total Activation orders issued in the current rollout.\n"
        "# TYPE crowcast_rollout_activations_total counter\ncrowcast_rollout_activations_total %" PRIu64 "\n",
        r->activations_ordered);
    crow_text_printf(&o, "# HELP crowcast_rollout_wave_hosts Hosts of each wave by state.\n# TYPE "
                         "crowcast_rollout_wave_hosts gauge\n");
    for (uint32_t w = 0; w < r->wave_count; w++) {
        crow_wave_counts_t c;
        crow_rollout_wave_counts(r, w, &c);
        crow_text_printf(&o,
                         "crowcast_rollout_wave_hosts{wave=\"%u\",state=\"healthy\"} %u\n"
                         "crowcast_rollout_wave_hosts{wave=\"%u\",state=\"failed\"} %u\n"
                         "crowcast_rollout_wave_hosts{wave=\"%u\",state=\"total\"} %u\n",
                         w + 1, c.healthy, w + 1, c.failed + c.download_failed, w + 1, c.hosts);
    }
    return crow_text_end(&o);
}
