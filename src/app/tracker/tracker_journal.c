/* The rollout journal file: replay and torn-tail repair at open, then group-committed appends on the
 * loop (one write + fsync in flight, the next batch gathering behind it). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/log.h"
#include "tracker_journal.h"

#define BATCH_START (64 * 1024)
#define BATCH_MAX   (4 * 1024 * 1024) /* gathered bytes before appends are refused */
#define RETRY_NS    (10 * 1000000ull)

struct batch {
    char *data;
    size_t len, cap;
    uint64_t records;
};

struct tracker_journal {
    crow_loop_t *loop;
    int fd;
    uint64_t size;     /* durable bytes: where the next batch is written */
    struct batch b[2]; /* b[flying] in flight (when writing), the other gathering */
    int flying;        /* index of the batch in flight */
    bool writing;      /* a write or fsync is in flight */
    bool in_commit;    /* inside the commit callback: b[flying] is still being read */
    size_t written;    /* bytes of the batch in flight written so far */
    crow_op_t write_op, sync_op, retry_op;
    uint64_t appended, durable;
    tracker_journal_commit_fn commit;
    void *ctx;
};

struct replay_ctx {
    tracker_journal_replay_fn fn;
    void *ctx;
};

static int replay_one(void *ctx, const crow_jrec_t *rec)
{
    struct replay_ctx *rc = ctx;
    rc->fn(rc->ctx, rec);
    return 0;
}

void tracker_sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

/* Makes the directory entry of a new journal durable too. */
static void sync_parent(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    tracker_sync_dir(dirname(copy));
}

int tracker_read_file(int fd, size_t max, uint8_t **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st))
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if ((uint64_t)st.st_size > max)
        return CROW_ELIMIT;
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? -errno : -EIO;
            free(buf);
            return err;
        }
        got += (size_t)n;
    }
    *out = buf;
    *len = got;
    return 0;
}

static void on_write(crow_op_t *op, int res, unsigned flags);
static void on_sync(crow_op_t *op, int res, unsigned flags);
static void on_retry(crow_op_t *op, int res, unsigned flags);

int tracker_journal_open(tracker_journal_t **out, crow_loop_t *loop, const char *path,
                         tracker_journal_replay_fn replay, tracker_journal_commit_fn commit, void *ctx,
                         char *why, size_t why_cap)
{
    int ret;
    uint8_t *text = NULL;
    size_t len = 0, good = 0;
    tracker_journal_t *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    j->loop = loop;
    j->commit = commit;
    j->ctx = ctx;
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        ret = -errno;
        snprintf(why, why_cap, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if ((ret = tracker_read_file(j->fd, SIZE_MAX / 2, &text, &len))) {
        snprintf(why, why_cap, "%s: %s", path, crow_strerror(ret));
        goto fail;
    }
    struct replay_ctx rc = {replay, ctx};
    ret = crow_journal_scan((const char *)text, len, &good, replay_one, &rc);
    if (ret) {
        snprintf(why, why_cap, "%s: bad record at byte %zu of %zu (not at the end: repair by hand)", path,
                 good, len);
        goto fail;
    }
    if (good < len) {
        crow_log_warn("%s: cut off a torn last record (%zu bytes)", path, len - good);
        if (ftruncate(j->fd, (off_t)good) || fsync(j->fd)) {
            ret = -errno;
            snprintf(why, why_cap, "%s: cannot cut the torn record: %s", path, strerror(errno));
            goto fail;
        }
    }
    if (len == 0)
        sync_parent(path);
    j->size = good;
    for (int i = 0; i < 2; i++) {
        j->b[i].cap = BATCH_START;
        if (!(j->b[i].data = malloc(BATCH_START))) {
            ret = -ENOMEM;
            snprintf(why, why_cap, "out of memory");
            goto fail;
        }
    }
    crow_op_init(&j->write_op, on_write, j);
    crow_op_init(&j->sync_op, on_sync, j);
    crow_op_init(&j->retry_op, on_retry, j);
    free(text);
    *out = j;
    return 0;
fail:
    free(text);
    tracker_journal_free(j);
    return ret;
}

void tracker_journal_free(tracker_journal_t *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j->b[0].data);
    free(j->b[1].data);
    free(j);
}

uint64_t tracker_journal_appended(const tracker_journal_t *j)
{
    return j->appended;
}

uint64_t tracker_journal_durable(const tracker_journal_t *j)
{
    return j->durable;
}

/* A failed write or fsync: nothing after the last durable byte may stay, in the file or gathered. */
static void fail(tracker_journal_t *j, int err)
{
    crow_log_error("rollout journal: %s: dropping %llu record(s) not yet durable", crow_strerror(err),
                   (unsigned long long)(j->appended - j->durable));
    if (ftruncate(j->fd, (off_t)j->size))
        crow_log_error("rollout journal: cannot cut back to %llu bytes: %s", (unsigned long long)j->size,
                       strerror(errno));
    j->writing = false;
    for (int i = 0; i < 2; i++) {
        j->b[i].len = 0;
        j->b[i].records = 0;
    }
    j->appended = j->durable;
    j->commit(j->ctx, NULL, 0, err);
}

/* Sends the gathered batch when nothing is in flight. A submission refused right here (no room in
 * the ring) is retried shortly from a timer: the failure must not reach the owner from inside its
 * own call to tracker_journal_flush. */
static void start(tracker_journal_t *j)
{
    if (j->writing || j->in_commit || j->b[!j->flying].len == 0)
        return;
    j->flying = !j->flying;
    j->written = 0;
    struct batch *b = &j->b[j->flying];
    if (crow_io_write(j->loop, &j->write_op, j->fd, b->data, (unsigned)b->len, j->size) == 0) {
        j->writing = true;
        return;
    }
    j->flying = !j->flying;
    if (!crow_op_pending(&j->retry_op) && crow_io_timeout(j->loop, &j->retry_op, RETRY_NS))
        crow_log_error("rollout journal: cannot submit a write or a timer");
}

static void on_retry(crow_op_t *op, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    start(op->owner);
}

static void on_write(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    tracker_journal_t *j = op->owner;
    if (res <= 0) {
        fail(j, res < 0 ? res : -EIO);
        return;
    }
    struct batch *b = &j->b[j->flying];
    j->written += (size_t)res;
    int ret = j->written < b->len /* a short write: the rest goes right after it */
                  ? crow_io_write(j->loop, &j->write_op, j->fd, b->data + j->written,
                                  (unsigned)(b->len - j->written), j->size + j->written)
                  : crow_io_fsync(j->loop, &j->sync_op, j->fd);
    if (ret)
        fail(j, ret);
}

static void on_sync(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    tracker_journal_t *j = op->owner;
    if (res < 0) {
        fail(j, res);
        return;
    }
    struct batch *b = &j->b[j->flying];
    j->size += b->len;
    j->durable += b->records;
    j->writing = false;
    /* Appends made by the callback gather in the other buffer; this one is read until it returns. */
    j->in_commit = true;
    j->commit(j->ctx, b->data, b->len, 0);
    j->in_commit = false;
    b->len = 0;
    b->records = 0;
    start(j);
}

int tracker_journal_append(tracker_journal_t *j, const crow_jrec_t *rec)
{
    struct batch *b = &j->b[!j->flying];
    if (b->cap - b->len < CROW_JREC_LINE_MAX) {
        size_t cap = b->cap * 2;
        while (cap - b->len < CROW_JREC_LINE_MAX)
            cap *= 2;
        char *bigger = cap <= BATCH_MAX + 2 * CROW_JREC_LINE_MAX ? realloc(b->data, cap) : NULL;
        if (!bigger)
            return CROW_ELIMIT;
        b->data = bigger;
        b->cap = cap;
    }
    long n = crow_journal_encode(b->data + b->len, b->cap - b->len, rec);
    if (n < 0)
        return (int)n;
    b->len += (size_t)n;
    b->records++;
    j->appended++;
    return 0;
}

void tracker_journal_flush(tracker_journal_t *j)
{
    start(j);
}
