/* Switching a host to a release: the --activate command (CROWCAST_ACTION=activate or rollback) or,
 * without one, the symlink DIR/<name>/current pointed at the release atomically (a new symlink under
 * a temporary name renamed over the old one); then the --health command. Commands run with
 * /bin/sh -c and get the release in their environment; their output goes to the agent's log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_internal.h"
#include "crowcast/error.h"
#include "crowcast/log.h"

static void set_env(struct agent *a, const char *action)
{
    const crow_agent_order_t *o = &a->job.order;
    char dir[4096] = "", prev[4096] = "";
    if (o->release[0])
        agent_path(a, dir, sizeof dir, o->name, o->release);
    if (a->job.previous[0])
        agent_path(a, prev, sizeof prev, o->name, a->job.previous);
    setenv("CROWCAST_ACTION", action, 1);
    setenv("CROWCAST_RELEASE_ID", o->release, 1);
    setenv("CROWCAST_RELEASE_NAME", o->name, 1);
    setenv("CROWCAST_RELEASE_DIR", dir, 1);
    setenv("CROWCAST_PREVIOUS_ID", a->job.previous, 1);
    setenv("CROWCAST_PREVIOUS_DIR", prev, 1);
}

static int run(struct agent *a, const char *what, const char *cmd)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    int ret = crow_spawn(&a->job.proc, argv, NULL, false);
    if (ret == 0) {
        a->job.proc_running = true;
        a->job.proc_deadline_ns = crow_loop_now(a->loop) + (uint64_t)(a->cfg->hook_timeout * 1e9);
        crow_log_info("running the %s command (pid %d)", what, (int)a->job.proc.pid);
    }
    return ret;
}

/* The default activation: DIR/<name>/current -> <id> (or no link for a rollback to nothing). */
static int switch_symlink(struct agent *a, char *detail, size_t cap)
{
    const crow_agent_order_t *o = &a->job.order;
    char link[4096], tmp[4096];
    agent_path(a, link, sizeof link, o->name, "current");
    agent_path(a, tmp, sizeof tmp, o->name, ".current.tmp");
    if (!o->release[0]) {
        if (unlink(link) && errno != ENOENT)
            goto fail;
        return 0;
    }
    unlink(tmp);
    if (symlink(o->release, tmp) || rename(tmp, link))
        goto fail;
    return 0;
fail:
    snprintf(detail, cap, "cannot switch %s: %s", link, strerror(errno));
    return -errno;
}

int agent_start_hook(struct agent *a, bool *done_now, bool *ok, char *detail, size_t cap)
{
    bool rollback = a->job.order.order == CROW_ORDER_ROLLBACK;
    set_env(a, rollback ? "rollback" : "activate");
    *done_now = false;
    if (a->cfg->activate)
        return run(a, rollback ? "rollback" : "activate", a->cfg->activate);
    *done_now = true;
    *ok = switch_symlink(a, detail, cap) == 0;
    return 0;
}

int agent_start_health(struct agent *a, bool *done_now)
{
    *done_now = !a->cfg->health;
    set_env(a, a->job.order.order == CROW_ORDER_ROLLBACK ? "rollback" : "activate");
    return a->cfg->health ? run(a, "health", a->cfg->health) : 0;
}
