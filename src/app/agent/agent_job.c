/* The steps of one order, and what is reported:
 *   download: [fetch the manifest] -> verify what is on disk, or run get -> report download
 *   activate: [fetch] -> [verify] -> activate command -> report activate -> health -> report health
 *   rollback: [fetch] -> [verify] -> rollback command -> health -> report rollback (ok when both are)
 * A release is activated only once this process saw it verify (get completed, or verify passed):
 * after a restart the release on disk is verified again first. An order repeated after it was
 * carried out (the tracker has not seen the report yet, or the agent restarted) is answered from
 * the state: nothing is downloaded or activated twice.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"
#include "crowcast/error.h"
#include "crowcast/log.h"

static enum crow_step order_step(enum crow_order o)
{
    return o == CROW_ORDER_DOWNLOAD   ? CROW_STEP_DOWNLOAD
           : o == CROW_ORDER_ACTIVATE ? CROW_STEP_ACTIVATE
                                      : CROW_STEP_ROLLBACK;
}

static void finish(struct agent *a)
{
    a->done = a->job.order;
    a->have_done = true;
    a->job.phase = JOB_IDLE;
}

static void report(struct agent *a, enum crow_step step, bool ok, const char *detail)
{
    agent_report(a, a->job.order.rollout, step, ok, detail);
    char rollout[16];
    snprintf(rollout, sizeof rollout, "%u", a->job.order.rollout);
    agent_event(a, "step", "step", crow_step_name(step), "status", ok ? "ok" : "failed", "rollout", rollout,
                "release", a->job.order.release, "detail", detail ? detail : "", NULL);
}

static void fail(struct agent *a, const char *detail)
{
    report(a, order_step(a->job.order.order), false, detail);
    finish(a);
}

static bool exists(const struct agent *a, const char *rest, bool dir)
{
    char path[4096];
    struct stat st;
    return agent_path(a, path, sizeof path, a->job.order.name, rest) && lstat(path, &st) == 0 &&
           (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

static bool torrent_on_disk(const struct agent *a)
{
    char rest[128];
    snprintf(rest, sizeof rest, ".crowcast/%s.torrent", a->job.order.release);
    return exists(a, rest, false);
}

static void start_health(struct agent *a)
{
    bool done_now;
    a->job.phase = JOB_HEALTH;
    int ret = agent_start_health(a, &done_now);
    if (ret || done_now)
        agent_job_next(a, ret, ret ? "cannot start the health command" : NULL);
}

static void start_hook(struct agent *a)
{
    bool done_now, ok = false;
    char detail[256] = "";
    a->job.phase = JOB_HOOK;
    int ret = agent_start_hook(a, &done_now, &ok, detail, sizeof detail);
    if (ret)
        agent_job_next(a, ret, "cannot start the activate command");
    else if (done_now)
        agent_job_next(a, ok ? 0 : CROW_EPROTO, detail);
}

/* The release is known good: the download is done, or the switch can start. */
static void verified(struct agent *a)
{
    if (a->job.order.order == CROW_ORDER_DOWNLOAD) {
        report(a, CROW_STEP_DOWNLOAD, true, NULL);
        finish(a);
    } else {
        start_hook(a);
    }
}

/* Verifies the release on disk, fetching its manifest first when missing. */
static void check_release(struct agent *a)
{
    if (agent_is_verified(a, a->job.order.release)) {
        verified(a);
    } else if (!torrent_on_disk(a)) {
        a->job.phase = JOB_FETCH;
        agent_fetch_torrent(a);
    } else if (exists(a, a->job.order.release, true)) {
        a->job.phase = JOB_VERIFY;
        int ret = agent_start_verify(a);
        if (ret) {
            agent_job_next(a, ret, "cannot start crowcast verify");
            return;
        }
        a->job.proc_running = true;
        a->job.proc_deadline_ns = UINT64_MAX;
    } else if (a->job.order.order == CROW_ORDER_DOWNLOAD) {
        a->job.phase = JOB_GET;
        int ret = agent_start_get(a);
        if (ret)
            agent_job_next(a, ret, "cannot start crowcast get");
    } else {
        fail(a, "the release was not downloaded");
    }
}

void agent_job_start(struct agent *a, const crow_agent_order_t *o)
{
    a->job = (struct agent_job){.order = *o};
    crow_agent_release_t *r = crow_agent_state_find(&a->state, o->name);
    const char *current = r ? r->current : "";
    snprintf(a->job.previous, sizeof a->job.previous, "%s", current);
    char rollout[16];
    snprintf(rollout, sizeof rollout, "%u", o->rollout);
    crow_log_info("rollout %u: %s %s/%s", o->rollout, crow_order_name(o->order), o->name,
                  o->release[0] ? o->release : "(nothing)");
    agent_event(a, "order", "order", crow_order_name(o->order), "rollout", rollout, "name", o->name,
                "release", o->release, NULL);
    switch (o->order) {
    case CROW_ORDER_ACTIVATE:
        if (strcmp(current, o->release) == 0) {
            /* Activated before a restart, the report not acknowledged: say so, check health again. */
            report(a, CROW_STEP_ACTIVATE, true, "already active");
            start_health(a);
            return;
        }
        break;
    case CROW_ORDER_ROLLBACK:
        if (strcmp(current, o->release) == 0) {
            report(a, CROW_STEP_ROLLBACK, true, "already running the previous release");
            finish(a);
            return;
        }
        if (!o->release[0]) {
            start_hook(a); /* back to nothing: no release to check */
            return;
        }
        break;
    default:
        break;
    }
    check_release(a);
}

void agent_job_next(struct agent *a, int err, const char *detail)
{
    const crow_agent_order_t *o = &a->job.order;
    bool rollback = o->order == CROW_ORDER_ROLLBACK;
    if (a->stopping)
        return; /* shutting down: an I/O completion drained now starts nothing new */
    switch (a->job.phase) {
    case JOB_IDLE:
        return;
    case JOB_FETCH:
        if (err)
            break;
        /* The manifest is on disk now: go on from there. */
        check_release(a);
        return;
    case JOB_VERIFY:
        if (err) {
            crow_log_error("%s/%s does not verify", o->name, o->release);
            char text[256];
            /* verify exits 5 when --trust refuses the manifest, 1 when the data does not match it */
            snprintf(text, sizeof text, "the release on disk does not verify%s%s%s", detail ? " (" : "",
                     detail ? detail : "", detail ? ")" : "");
            fail(a, text);
            return;
        }
        agent_mark_verified(a, o->release);
        verified(a);
        return;
    case JOB_GET:
        if (err)
            break;
        report(a, CROW_STEP_DOWNLOAD, true, NULL);
        finish(a);
        return;
    case JOB_HOOK:
        if (err)
            break;
        if (rollback) {
            crow_agent_state_rollback(&a->state, o->name, o->release);
            agent_save_state(a);
        } else {
            crow_agent_state_switch(&a->state, o->name, o->release);
            report(a, CROW_STEP_ACTIVATE, true, NULL); /* saves the state with the report */
        }
        agent_event(a, rollback ? "rolled_back" : "activated", "name", o->name, "release", o->release, NULL);
        start_health(a);
        return;
    case JOB_HEALTH: {
        char text[256];
        snprintf(text, sizeof text, "health check failed%s%s", detail ? ": " : "", detail ? detail : "");
        report(a, rollback ? CROW_STEP_ROLLBACK : CROW_STEP_HEALTH, err == 0, err ? text : NULL);
        finish(a);
        return;
    }
    }
    fail(a, detail && detail[0] ? detail : crow_strerror(err));
}

void agent_job_tick(struct agent *a, uint64_t now)
{
    struct agent_job *j = &a->job;
    if (!j->proc_running)
        return;
    if (crow_child_poll(&j->proc)) {
        j->proc_running = false;
        int code = crow_child_code(&j->proc);
        char detail[128] = "";
        if (code)
            snprintf(detail, sizeof detail, "%s exited with %d",
                     j->phase == JOB_VERIFY   ? "crowcast verify"
                     : j->phase == JOB_HEALTH ? "the health command"
                                              : "the activate command",
                     code);
        agent_job_next(a, code ? CROW_EPROTO : 0, detail);
    } else if (now >= j->proc_deadline_ns && j->proc.pid > 0) {
        crow_log_error("pid %d ran over %.0f s: killing it", (int)j->proc.pid, a->cfg->hook_timeout);
        kill(j->proc.pid, SIGKILL);
        j->proc_deadline_ns = UINT64_MAX;
    }
}

bool agent_job_busy(const struct agent *a)
{
    return a->job.phase != JOB_IDLE;
}
