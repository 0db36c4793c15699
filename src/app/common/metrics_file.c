/* The --metrics file: periodic atomic rewrites of rendered Prometheus text (see metrics_file.h). */
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/log.h"
#include "metrics_file.h"

static void start(struct crow_metrics_file *mf);

static void on_written(void *ctx, int err)
{
    struct crow_metrics_file *mf = ctx;
    if (err && !mf->warned) {
        mf->warned = true;
        crow_log_warn("--metrics %s: %s", mf->path, crow_strerror(err));
    }
    if (mf->next_ready)
        start(mf);
}

static void start(struct crow_metrics_file *mf)
{
    memcpy(mf->writing, mf->next, mf->next_len);
    mf->next_ready = false;
    int ret =
        crow_atomic_file_write(&mf->file, mf->loop, mf->path, mf->writing, mf->next_len, on_written, mf);
    if (ret && !mf->warned) {
        mf->warned = true;
        crow_log_warn("--metrics %s: %s", mf->path, crow_strerror(ret));
    }
}

void crow_metrics_file_init(struct crow_metrics_file *mf, crow_loop_t *loop, const char *path)
{
    memset(mf, 0, sizeof *mf);
    mf->path = path;
    mf->loop = loop;
}

bool crow_metrics_file_due(const struct crow_metrics_file *mf, uint64_t now, bool final)
{
    return mf->path && (final || now >= mf->due_ns);
}

char *crow_metrics_file_buffer(struct crow_metrics_file *mf)
{
    return mf->next;
}

void crow_metrics_file_commit(struct crow_metrics_file *mf, long len, uint64_t now)
{
    if (!mf->path)
        return;
    mf->due_ns = now + CROW_METRICS_PERIOD_NS;
    if (len < 0) {
        if (!mf->warned)
            crow_log_warn("--metrics %s: the metrics do not fit in %u bytes", mf->path, CROW_METRICS_MAX);
        mf->warned = true;
        return;
    }
    mf->next_len = (size_t)len;
    mf->next_ready = true;
    if (!crow_atomic_file_busy(&mf->file))
        start(mf);
}
