/* Modes, symlinks and empty directories of a release on disk: applied before publishing, compared
 * by verify. Directories are reached through dir_walk, never through a symlink. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/link_path.h"
#include "crowcast/tree_attrs.h"
#include "dir_walk.h"

static mode_t file_mode(const crow_manifest_file_t *f)
{
    return f->attr & CROW_ATTR_EXEC ? 0755 : 0644;
}

/* Sets the mode of regular file dirfd/name (not following a link), syncing it when it changed. */
static int set_mode(int dirfd, const char *name, mode_t mode)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return crow_dir_walk_open_error(errno);
    struct stat st;
    int ret = 0;
    if (fstat(fd, &st) < 0)
        ret = -errno;
    else if (!S_ISREG(st.st_mode))
        ret = CROW_EPATH;
    else if ((st.st_mode & 07777) != mode && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
        ret = -errno;
    close(fd);
    return ret;
}

/* Makes dirfd/name the symlink `text`, keeping one that already reads so. */
static int put_link(int dirfd, const char *name, const char *text)
{
    char have[CROW_MAX_PATH + 1];
    ssize_t n = readlinkat(dirfd, name, have, sizeof have);
    if (n >= 0 && (size_t)n == strlen(text) && memcmp(have, text, (size_t)n) == 0)
        return 0;
    if (n < 0 && errno != ENOENT && errno != EINVAL)
        return -errno;
    if (n >= 0 || errno == EINVAL) { /* another link, or something that is not one */
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            return CROW_EPATH;
        if (unlinkat(dirfd, name, 0) < 0)
            return -errno;
    }
    return symlinkat(text, dirfd, name) < 0 ? -errno : 0;
}

static int put_dir(int dirfd, const char *name)
{
    int fd = crow_dir_walk_open_dir(dirfd, name, true, false);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

static int apply_tree(const crow_manifest_t *m, int rootfd, const char **failed)
{
    struct crow_dir_walk w = {.rootfd = rootfd, .fd = -1};
    const char *leaf;
    char text[2 * CROW_MAX_PATH + 1];
    int ret = 0;
    for (uint32_t i = 0; i < m->file_count && ret == 0; i++) {
        if (m->files[i].attr & CROW_ATTR_PAD)
            continue;
        *failed = m->files[i].path;
        int dfd = crow_dir_walk_to(&w, m->files[i].path, &leaf, false, false);
        ret = dfd < 0 ? dfd : set_mode(dfd, leaf, file_mode(&m->files[i]));
    }
    for (uint32_t i = 0; i < m->dir_count && ret == 0; i++) {
        *failed = m->dirs[i];
        int dfd = crow_dir_walk_to(&w, m->dirs[i], &leaf, true, false);
        ret = dfd < 0 ? dfd : put_dir(dfd, leaf);
    }
    for (uint32_t i = 0; i < m->link_count && ret == 0; i++) {
        *failed = m->links[i].path;
        long len = crow_link_path_text(m->links[i].path, m->links[i].target, text, sizeof text);
        int dfd = len < 0 ? (int)len : crow_dir_walk_to(&w, m->links[i].path, &leaf, true, false);
        ret = dfd < 0 ? dfd : put_link(dfd, leaf, text);
    }
    crow_dir_walk_close(&w);
    if (ret)
        return ret;
    /* New entries are durable once their directories are synced (the root's parent is the
     * publisher's to sync). */
    *failed = NULL;
    for (uint32_t i = 0; i < m->dir_count + m->link_count && ret == 0; i++) {
        const char *path = i < m->dir_count ? m->dirs[i] : m->links[i - m->dir_count].path;
        int dfd = crow_dir_walk_to(&w, path, &leaf, false, true);
        ret = dfd < 0 ? dfd : 0;
    }
    crow_dir_walk_close(&w);
    if (ret == 0 && fsync(rootfd) < 0)
        ret = -errno;
    return ret;
}

int crow_tree_attrs_apply(const crow_manifest_t *m, int dirfd, const char *root, char *why, size_t why_cap)
{
    const char *failed = root;
    int ret;
    if (m->single_file) {
        ret = set_mode(dirfd, root, file_mode(&m->files[0]));
    } else {
        int rootfd = crow_dir_walk_open_dir(dirfd, root, false, false);
        ret = rootfd < 0 ? rootfd : apply_tree(m, rootfd, &failed);
        if (rootfd >= 0)
            close(rootfd);
    }
    if (ret)
        crow_why(why, why_cap, ret, "%s: %s", failed ? failed : root,
                 ret == CROW_EPATH ? "a symlink, or something of another kind, is in the way"
                                   : crow_strerror(ret));
    return ret;
}

/* ---- comparing ---- */

struct check {
    crow_tree_diff_cb cb;
    void *ctx;
    unsigned differences;
};

static void differs(struct check *c, const char *path, const char *what)
{
    c->differences++;
    if (c->cb)
        c->cb(c->ctx, path, what);
}

static void check_mode(struct check *c, int dirfd, const char *name, const crow_manifest_file_t *f, int flags)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, flags) < 0 || !S_ISREG(st.st_mode))
        return;
    bool exec = st.st_mode & S_IXUSR, want = f->attr & CROW_ATTR_EXEC;
    if (exec == want)
        return;
    char what[96];
    snprintf(what, sizeof what, "%s (mode %04o), the manifest says %s",
             exec ? "executable" : "not executable", (unsigned)(st.st_mode & 07777),
             want ? "executable (0755)" : "not executable (0644)");
    differs(c, f->path, what);
}

static void check_link(struct check *c, int dirfd, const char *name, const crow_manifest_link_t *l,
                       const char *abs_root)
{
    char text[CROW_MAX_PATH + 1], target[CROW_MAX_PATH + 1], what[3 * CROW_MAX_PATH];
    ssize_t n = dirfd < 0 ? -1 : readlinkat(dirfd, name, text, sizeof text - 1);
    if (n < 0) {
        snprintf(what, sizeof what, "%s, the manifest says a symlink to %s",
                 dirfd >= 0 && errno == EINVAL ? "not a symlink" : "missing", l->target);
        differs(c, l->path, what);
        return;
    }
    text[n] = '\0';
    if (crow_link_path_target(l->path, text, abs_root, target, sizeof target) == 0 &&
        strcmp(target, l->target) == 0)
        return;
    snprintf(what, sizeof what, "a symlink to %s, the manifest says to %s (from the release root)", text,
             l->target);
    differs(c, l->path, what);
}

static void check_dir(struct check *c, int dirfd, const char *name, const char *path)
{
    struct stat st;
    bool exists = dirfd >= 0 && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISDIR(st.st_mode))
        return;
    differs(c, path,
            exists ? "not a directory, the manifest says an empty directory"
                   : "missing, the manifest says an empty directory");
}

unsigned crow_tree_attrs_check(const crow_manifest_t *m, int dirfd, const char *root, crow_tree_diff_cb cb,
                               void *ctx)
{
    struct check c = {.cb = cb, .ctx = ctx};
    if (m->single_file) {
        check_mode(&c, dirfd, root, &m->files[0], 0);
        return c.differences;
    }
    int rootfd = crow_dir_walk_open_dir(dirfd, root, false, true);
    if (rootfd < 0)
        return 0; /* the files' errors say it */
    /* The root's real path, for links written with an absolute text (as in a source tree). */
    char fdpath[32], *abs_root;
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", rootfd);
    abs_root = realpath(fdpath, NULL);
    struct crow_dir_walk w = {.rootfd = rootfd, .fd = -1};
    const char *leaf;
    for (uint32_t i = 0; i < m->file_count; i++) {
        int dfd = m->files[i].attr & CROW_ATTR_PAD
                      ? -1
                      : crow_dir_walk_to(&w, m->files[i].path, &leaf, false, false);
        if (dfd >= 0)
            check_mode(&c, dfd, leaf, &m->files[i], AT_SYMLINK_NOFOLLOW);
    }
    for (uint32_t i = 0; i < m->link_count; i++) {
        int dfd = crow_dir_walk_to(&w, m->links[i].path, &leaf, false, false);
        check_link(&c, dfd, leaf, &m->links[i], abs_root);
    }
    for (uint32_t i = 0; i < m->dir_count; i++) {
        int dfd = crow_dir_walk_to(&w, m->dirs[i], &leaf, false, false);
        check_dir(&c, dfd, leaf, m->dirs[i]);
    }
    crow_dir_walk_close(&w);
    free(abs_root);
    close(rootfd);
    return c.differences;
}
