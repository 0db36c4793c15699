/* The POSIX storage backend: one open descriptor per non-empty file, pread/pwrite; padding files
 * (BEP 47) read as zeros and are never created.
 *
 * Every path component below the root is opened with openat(O_NOFOLLOW) from its parent's
 * descriptor, so neither a symlinked directory nor a symlinked file inside the tree is ever
 * followed; non-regular files (FIFOs, devices, directories) are refused without blocking. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "dir_walk.h"
#include "crowcast/error.h"

struct posix_storage {
    struct crow_storage base;
    int flags;
    int rootfd;      /* the root directory of a multi-file release, else -1 */
    int *fds;        /* per file; -1 for an empty file (nothing to read) or one that failed */
    int *errs;       /* per file: why it failed to open (CROW_STORAGE_PARTIAL), else 0 */
    uint64_t *sizes; /* per file: its size when opened (after preallocation) */
};

static int preallocate(int fd, uint64_t have, uint64_t want)
{
    if (have == want)
        return 0;
    if (want > (uint64_t)INT64_MAX)
        return -EFBIG;
    if (have < want) {
        if (fallocate(fd, 0, 0, (off_t)want) == 0)
            return 0;
        if (errno != EOPNOTSUPP && errno != ENOSYS)
            return -errno;
    }
    /* No fallocate on this file system (or the file is too long): set the size, sparsely. */
    return ftruncate(fd, (off_t)want) == 0 ? 0 : -errno;
}

/* Opens the regular file `name` under dirfd for the storage's mode; writable opens create it
 * and preallocate it to `length`. Returns the descriptor or a negative code. */
static int open_file(int dirfd, const char *name, int flags, bool follow, uint64_t length, uint64_t *size)
{
    bool write = flags & CROW_STORAGE_WRITE;
    int oflags = O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW) | (write ? O_RDWR | O_CREAT : O_RDONLY);
    int fd = openat(dirfd, name, oflags, 0644);
    if (fd < 0)
        return crow_dir_walk_open_error(errno);
    int ret;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        goto fail;
    }
    /* A hard-linked file being written would change the other name's contents too. */
    if (!S_ISREG(st.st_mode) || (write && st.st_nlink > 1)) {
        ret = CROW_EPATH;
        goto fail;
    }
    *size = (uint64_t)st.st_size;
    if (write) {
        if ((ret = preallocate(fd, *size, length)) < 0)
            goto fail;
        *size = length;
    }
    return fd;
fail:
    close(fd);
    return ret;
}

static int px_read(crow_storage_t *s, uint32_t file, uint64_t offset, void *buf, size_t len)
{
    int fd = ((struct posix_storage *)s)->fds[file];
    if (s->m->files[file].attr & CROW_ATTR_PAD) {
        memset(buf, 0, len);
        return 0;
    }
    if (fd < 0)
        return -EBADF;
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ENODATA;
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

static int px_write(crow_storage_t *s, uint32_t file, uint64_t offset, const void *buf, size_t len)
{
    int fd = ((struct posix_storage *)s)->fds[file];
    if (s->m->files[file].attr & CROW_ATTR_PAD)
        return 0; /* zeros by definition; the piece hash vouches for what was sent */
    if (fd < 0)
        return -EBADF;
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

static int px_sync(crow_storage_t *s)
{
    struct posix_storage *ps = (struct posix_storage *)s;
    const crow_manifest_t *m = s->m;
    for (uint32_t i = 0; i < m->file_count; i++)
        if (ps->fds[i] >= 0 && fsync(ps->fds[i]) < 0)
            return -errno;
    if (!s->writable || ps->rootfd < 0)
        return 0;
    /* New directory entries are durable only once their directories are synced too. */
    struct crow_dir_walk w = {.rootfd = ps->rootfd, .fd = -1};
    int ret = 0;
    for (uint32_t i = 0; i < m->file_count && ret == 0; i++) {
        if (m->files[i].attr & CROW_ATTR_PAD)
            continue;
        const char *leaf;
        int fd = crow_dir_walk_to(&w, m->files[i].path, &leaf, false, true);
        if (fd < 0)
            ret = fd;
    }
    crow_dir_walk_close(&w);
    if (ret == 0 && fsync(ps->rootfd) < 0)
        ret = -errno;
    return ret;
}

static int px_fd(crow_storage_t *s, uint32_t file)
{
    int fd = ((struct posix_storage *)s)->fds[file];
    return fd >= 0 ? fd : -EBADF;
}

static int px_file_error(crow_storage_t *s, uint32_t file, uint64_t *size)
{
    struct posix_storage *ps = (struct posix_storage *)s;
    *size = ps->sizes[file];
    return ps->errs[file];
}

static void px_close(crow_storage_t *s)
{
    struct posix_storage *ps = (struct posix_storage *)s;
    if (ps->fds)
        for (uint32_t i = 0; i < s->m->file_count; i++)
            if (ps->fds[i] >= 0)
                close(ps->fds[i]);
    if (ps->rootfd >= 0)
        close(ps->rootfd);
    free(ps->fds);
    free(ps->errs);
    free(ps->sizes);
    free(ps);
}

static const struct crow_storage_ops posix_ops = {
    .read = px_read,
    .write = px_write,
    .sync = px_sync,
    .fd = px_fd,
    .file_error = px_file_error,
    .close = px_close,
};

/* One descriptor per non-empty file: raise the soft limit towards the hard one when needed. */
static void reserve_descriptors(const crow_manifest_t *m)
{
    rlim_t need = 64;
    for (uint32_t i = 0; i < m->file_count; i++)
        need += m->files[i].length > 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || need < rl.rlim_max ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Records a per-file failure: fatal unless the storage tolerates missing files. */
static int file_failed(struct posix_storage *ps, uint32_t file, int err)
{
    ps->errs[file] = err;
    return ps->flags & CROW_STORAGE_PARTIAL ? 0 : err;
}

static int open_files(struct posix_storage *ps, int dirfd, const char *root)
{
    const crow_manifest_t *m = ps->base.m;
    int flags = ps->flags;
    bool follow_root = !(flags & CROW_STORAGE_ROOT_NOFOLLOW);
    int ret = 0;
    if (m->single_file) {
        int fd = open_file(dirfd, root, flags, follow_root, m->files[0].length, &ps->sizes[0]);
        if (fd < 0)
            return file_failed(ps, 0, fd);
        ps->fds[0] = fd;
        return 0;
    }
    ps->rootfd = crow_dir_walk_open_dir(dirfd, root, flags & CROW_STORAGE_WRITE, follow_root);
    if (ps->rootfd < 0) {
        int err = ps->rootfd;
        for (uint32_t i = 0; i < m->file_count && ret == 0; i++)
            ret = file_failed(ps, i, err);
        return ret;
    }
    struct crow_dir_walk w = {.rootfd = ps->rootfd, .fd = -1};
    for (uint32_t i = 0; i < m->file_count && ret == 0; i++) {
        if (m->files[i].attr & CROW_ATTR_PAD) { /* BEP 47 padding: zeros, no file on disk */
            ps->sizes[i] = m->files[i].length;
            continue;
        }
        const char *leaf;
        int dfd = crow_dir_walk_to(&w, m->files[i].path, &leaf, flags & CROW_STORAGE_WRITE, false);
        if (dfd < 0) {
            ret = file_failed(ps, i, dfd);
            continue;
        }
        int fd = open_file(dfd, leaf, flags, false, m->files[i].length, &ps->sizes[i]);
        if (fd < 0)
            ret = file_failed(ps, i, fd);
        else if (m->files[i].length == 0)
            close(fd); /* exists and is a regular file; nothing to read or write */
        else
            ps->fds[i] = fd;
    }
    crow_dir_walk_close(&w);
    return ret;
}

int crow_storage_open_posix(crow_storage_t **out, const crow_manifest_t *m, int dirfd, const char *root,
                            int flags)
{
    if ((flags & CROW_STORAGE_WRITE) && (flags & CROW_STORAGE_PARTIAL))
        return -EINVAL;
    /* Validated again here: the manifest may not come from crow_manifest_parse. */
    for (uint32_t i = 0; i < m->file_count; i++)
        if (!m->files[i].path || crow_manifest_check_path(m->files[i].path, strlen(m->files[i].path)) < 0)
            return CROW_EPATH;
    if (m->single_file && m->file_count != 1)
        return CROW_EPATH;

    struct posix_storage *ps = calloc(1, sizeof *ps);
    if (!ps)
        return -ENOMEM;
    ps->base.ops = &posix_ops;
    ps->base.m = m;
    ps->base.writable = flags & CROW_STORAGE_WRITE;
    ps->flags = flags;
    ps->rootfd = -1;
    size_t n = m->file_count ? m->file_count : 1;
    ps->fds = malloc(n * sizeof *ps->fds);
    ps->errs = calloc(n, sizeof *ps->errs);
    ps->sizes = calloc(n, sizeof *ps->sizes);
    for (uint32_t i = 0; ps->fds && i < m->file_count; i++)
        ps->fds[i] = -1;
    if (!ps->fds || !ps->errs || !ps->sizes) {
        px_close(&ps->base);
        return -ENOMEM;
    }
    reserve_descriptors(m);
    int ret = open_files(ps, dirfd, root);
    if (ret < 0) {
        px_close(&ps->base);
        return ret;
    }
    *out = &ps->base;
    return 0;
}
