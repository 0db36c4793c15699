/* Atomic file writes on the loop: the bytes go to a temporary file next to the target through
 * io_uring writes, are synced, the temporary is renamed over the target and the directory synced.
 * A reader sees the old file or the new one, never a mix. Opening and renaming are single metadata
 * calls made directly (the loop has no submission for them); every byte and every sync goes
 * through the ring. Used by the agent (its state file, release torrents) and by --metrics. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "crowcast/error.h"

enum { PH_IDLE, PH_WRITE, PH_SYNC, PH_DIRSYNC };

static void finish(struct crow_atomic_file *f, int err)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->dirfd >= 0)
        close(f->dirfd);
    f->fd = f->dirfd = -1;
    if (err && f->phase != PH_DIRSYNC)
        unlink(f->tmp);
    f->phase = PH_IDLE;
    f->cb(f->ctx, err);
}

static void on_io(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct crow_atomic_file *f = op->owner;
    int ret = 0;
    if (res < 0) {
        finish(f, res);
        return;
    }
    switch (f->phase) {
    case PH_WRITE:
        f->done += (size_t)res;
        if (res == 0) {
            finish(f, -EIO);
            return;
        }
        if (f->done < f->len) {
            size_t n = f->len - f->done;
            ret = crow_io_write(f->loop, &f->op, f->fd, f->data + f->done,
                                n > (1u << 30) ? 1u << 30 : (unsigned)n, f->done);
            break;
        }
        f->phase = PH_SYNC;
        ret = crow_io_fsync(f->loop, &f->op, f->fd);
        break;
    case PH_SYNC:
        if (rename(f->tmp, f->path) < 0) {
            finish(f, -errno);
            return;
        }
        f->phase = PH_DIRSYNC;
        ret = crow_io_fsync(f->loop, &f->op, f->dirfd);
        break;
    default:
        finish(f, 0);
        return;
    }
    if (ret)
        finish(f, ret);
}

int crow_atomic_file_write(struct crow_atomic_file *f, crow_loop_t *loop, const char *path, const void *data,
                           size_t len, void (*cb)(void *ctx, int err), void *ctx)
{
    if (f->phase != PH_IDLE)
        return CROW_EUSAGE;
    char dir[4096];
    if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path ||
        snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return -ENAMETOOLONG;
    char *base = strrchr(dir, '/');
    const char *dirname = dir;
    if (base) {
        *base++ = '\0';
        dirname = dir[0] ? dir : "/";
    } else { /* a name in the working directory */
        base = dir;
        dirname = ".";
    }
    if (!*base)
        return CROW_EUSAGE;
    if (snprintf(f->tmp, sizeof f->tmp, "%s/.%s.tmp", dirname, base) >= (int)sizeof f->tmp)
        return -ENAMETOOLONG;
    f->dirfd = open(dirname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dirfd < 0)
        return -errno;
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f->fd < 0) {
        int ret = -errno;
        close(f->dirfd);
        f->dirfd = -1;
        return ret;
    }
    f->loop = loop;
    f->data = data;
    f->len = len;
    f->done = 0;
    f->cb = cb;
    f->ctx = ctx;
    crow_op_init(&f->op, on_io, f);
    int ret;
    if (len == 0) {
        f->phase = PH_SYNC;
        ret = crow_io_fsync(loop, &f->op, f->fd);
    } else {
        f->phase = PH_WRITE;
        ret = crow_io_write(loop, &f->op, f->fd, data, len > (1u << 30) ? 1u << 30 : (unsigned)len, 0);
    }
    if (ret) {
        close(f->fd);
        close(f->dirfd);
        f->fd = f->dirfd = -1;
        unlink(f->tmp);
        f->phase = PH_IDLE;
    }
    return ret;
}

bool crow_atomic_file_busy(const struct crow_atomic_file *f)
{
    return f->phase != PH_IDLE;
}
