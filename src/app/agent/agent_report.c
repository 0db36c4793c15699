/* The outbox: every step's report is queued in the state file first, then sent, one at a time,
 * until the tracker answers it (acknowledged, or refused with a reason: both end it). A tracker that
 * is down or restarting gets the same report again with a growing pause (0.5 s up to 10 s); a
 * duplicate is harmless (the coordinator skips a report it already knows). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent_internal.h"
#include "crowcast/clock.h"
#include "crowcast/error.h"
#include "crowcast/log.h"

#define BACKOFF_MIN    0.5
#define BACKOFF_MAX    10.0
#define REPORT_TIMEOUT 10.0

static void send_next(struct agent *a)
{
    if (a->state.outbox_count == 0 || crow_http_client_busy(a->report_http) || a->stopping)
        return;
    const crow_agent_report_t *r = &a->state.outbox[0];
    char target[1024];
    long n = crow_agent_report_target(target, sizeof target, a->prefix, a->cfg->host, r->rollout, r->step,
                                      r->ok, r->detail, r->seq);
    int ret = n < 0 ? (int)n
                    : crow_http_client_request(a->report_http, &a->server, a->cfg->iface, "POST", target,
                                               a->cfg->key, REPORT_TIMEOUT);
    if (ret) {
        crow_log_warn("report %s: %s; retrying", crow_step_name(r->step), crow_strerror(ret));
        a->next_report_ns = crow_loop_now(a->loop) + (uint64_t)(a->report_backoff * 1e9);
    }
}

static void on_answer(void *ctx, int err, const crow_http_response_t *res)
{
    struct agent *a = ctx;
    const crow_agent_report_t *r = &a->state.outbox[0];
    char failure[256] = "";
    int ret = err ? err : crow_agent_ack_decode(res->body, res->body_len, failure, sizeof failure);
    if (!err && res->status != 200) {
        /* Not an answer to this report (refused before it was read: a bad signature, a clock out of
         * the window): it is sent again, freshly signed. */
        agent_http_refusal(res, failure, sizeof failure);
        ret = CROW_EPARSE;
    }
    if (a->state.outbox_count == 0)
        return;
    if (ret == 0 || (ret == CROW_EPROTO && failure[0])) {
        if (ret)
            crow_log_warn("tracker refused the %s report of rollout %u: %s", crow_step_name(r->step),
                          r->rollout, failure);
        else
            crow_log_info("tracker acknowledged %s %s (rollout %u)", crow_step_name(r->step),
                          r->ok ? "ok" : "failed", r->rollout);
        char rollout[16];
        snprintf(rollout, sizeof rollout, "%u", r->rollout);
        agent_event(a, "reported", "step", crow_step_name(r->step), "status", r->ok ? "ok" : "failed",
                    "rollout", rollout, "refused", failure, NULL);
        crow_agent_state_pop(&a->state);
        agent_save_state(a);
        a->reports_answered_ns = crow_loop_now(a->loop);
        a->report_backoff = BACKOFF_MIN;
        send_next(a);
        return;
    }
    crow_log(a->report_backoff == BACKOFF_MIN ? CROW_LOG_WARN : CROW_LOG_DEBUG,
             "report %s to the tracker: %s; sending it again in %.1f s", crow_step_name(r->step),
             err          ? crow_strerror(err)
             : failure[0] ? failure
                          : "malformed answer",
             a->report_backoff);
    a->next_report_ns = crow_loop_now(a->loop) + (uint64_t)(a->report_backoff * 1e9);
    a->report_backoff = a->report_backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : a->report_backoff * 2;
}

void agent_report(struct agent *a, uint32_t rollout, enum crow_step step, bool ok, const char *detail)
{
    crow_agent_report_t r = {.rollout = rollout, .step = step, .ok = ok};
    snprintf(r.detail, sizeof r.detail, "%s", detail ? detail : "");
    crow_log(ok ? CROW_LOG_INFO : CROW_LOG_ERROR, "rollout %u: %s %s%s%s", rollout, crow_step_name(step),
             ok ? "ok" : "failed", r.detail[0] ? ": " : "", r.detail);
    /* wall-clock µs: see crow_agent_state_queue (numbers outlive the state file) */
    crow_agent_state_queue(&a->state, &r, crow_clock_wall_ns() / 1000u);
    agent_save_state(a);
    if (crow_loop_now(a->loop) >= a->next_report_ns)
        send_next(a);
}

void agent_reports_tick(struct agent *a, uint64_t now)
{
    if (now >= a->next_report_ns)
        send_next(a);
}

int agent_reports_init(struct agent *a)
{
    a->report_backoff = BACKOFF_MIN;
    return crow_http_client_new(&a->report_http, a->loop, 16 * 1024, on_answer, a);
}
