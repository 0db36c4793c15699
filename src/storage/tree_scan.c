/* Directory walk for `crowcast make`: lists the files, symlinks and empty directories of a tree in
 * a deterministic order.
 *
 * Breadth-first over relative paths, holding one directory descriptor at a time, so the depth of
 * a tree never runs into the descriptor limit. Each directory is opened relative to the root with
 * O_NOFOLLOW; the storage layer re-opens every component without following links when it hashes,
 * so a tree changed between the walk and the hashing fails there instead of leaking outside. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/link_path.h"
#include "crowcast/manifest.h"
#include "crowcast/tree_scan.h"

struct walk {
    crow_tree_t *tree;
    uint32_t entries_cap;
    char **dirs; /* directories still to list, relative to the root ("" is the root) */
    size_t dir_count, dir_cap, dir_next;
    int flags;
    char *abs_root; /* the root's real path: absolute link texts are judged against it */
    crow_tree_skip_cb on_skip;
    void *ctx;
    char *why;
    size_t why_cap;
};

static int reason(struct walk *w, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int reason(struct walk *w, int code, const char *fmt, ...)
{
    if (w->why_cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->why, w->why_cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* An entry a release cannot carry: the scan fails with `code`, or with CROW_TREE_SKIP_SPECIAL the
 * entry is reported and left out (returns 0). */
static int cannot_carry(struct walk *w, int code, const char *rel, const char *what)
{
    if (!(w->flags & CROW_TREE_SKIP_SPECIAL))
        return reason(w, code, "%s: %s", rel, what);
    if (w->on_skip)
        w->on_skip(w->ctx, rel, what);
    w->tree->skipped++;
    return 0;
}

static int push_dir(struct walk *w, char *rel)
{
    if (w->dir_count == w->dir_cap) {
        size_t cap = w->dir_cap ? w->dir_cap * 2 : 16;
        char **dirs = realloc(w->dirs, cap * sizeof *dirs);
        if (!dirs)
            return -ENOMEM;
        w->dirs = dirs;
        w->dir_cap = cap;
    }
    w->dirs[w->dir_count++] = rel;
    return 0;
}

/* Appends e (taking ownership of its strings, also on failure). */
static int add_entry(struct walk *w, crow_tree_entry_t e)
{
    crow_tree_t *t = w->tree;
    int ret = 0;
    if (t->count >= CROW_MAX_FILES) {
        ret = reason(w, CROW_ELIMIT, "more than %u files, symlinks and empty directories", CROW_MAX_FILES);
    } else if (t->count == w->entries_cap) {
        uint32_t cap = w->entries_cap ? w->entries_cap * 2 : 64;
        crow_tree_entry_t *grown = realloc(t->entries, cap * sizeof *grown);
        if (grown) {
            t->entries = grown;
            w->entries_cap = cap;
        } else {
            ret = -ENOMEM;
        }
    }
    if (ret) {
        free(e.path);
        free(e.target);
        return ret;
    }
    t->entries[t->count++] = e;
    t->files += e.kind == CROW_TREE_FILE;
    return 0;
}

/* A regular file: refused when hard-linked (one name of several cannot be carried as such) or
 * unreadable; the open is the same test the hashing will make. */
static int add_file(struct walk *w, int dirfd, const char *name, char *rel, const struct stat *st)
{
    char what[64];
    int ret = 0;
    if (st->st_nlink > 1) {
        snprintf(what, sizeof what, "a file with %lu hard links", (unsigned long)st->st_nlink);
        ret = cannot_carry(w, CROW_EUNSUPPORTED, rel, what);
        goto skip;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        ret = err == EACCES || err == EPERM
                  ? cannot_carry(w, -err, rel, "may not be read (permission denied)")
                  : reason(w, -err, "cannot open %s: %s", rel, strerror(err));
        goto skip;
    }
    close(fd);
    return add_entry(w, (crow_tree_entry_t){.path = rel,
                                            .kind = CROW_TREE_FILE,
                                            .length = (uint64_t)st->st_size,
                                            .executable = st->st_mode & S_IXUSR});
skip:
    free(rel);
    return ret;
}

/* Does the link at root/rel resolve, through the real file system, where its lexical target
 * says? They differ when its text passes a symlink and then "..". Both dangling counts as equal. */
static bool resolves_alike(const struct walk *w, const char *rel, const char *target)
{
    char *at = NULL, *lexical = NULL, *a = NULL, *b = NULL;
    bool same = false;
    if (asprintf(&at, "%s/%s", w->abs_root, rel) < 0 || asprintf(&lexical, "%s/%s", w->abs_root, target) < 0)
        goto out;
    a = realpath(at, NULL);
    b = realpath(lexical, NULL);
    same = (!a && !b) || (a && b && strcmp(a, b) == 0);
out:
    free(at);
    free(lexical);
    free(a);
    free(b);
    return same;
}

static int add_link(struct walk *w, int dirfd, const char *name, char *rel)
{
    char text[CROW_MAX_PATH + 1], target[CROW_MAX_PATH + 1], what[CROW_MAX_PATH + 96];
    ssize_t n = readlinkat(dirfd, name, text, sizeof text);
    if (n < 0 || (size_t)n >= sizeof text) {
        int ret = n < 0
                      ? reason(w, -errno, "cannot read symlink %s: %s", rel, strerror(errno))
                      : reason(w, CROW_ELIMIT, "symlink %s: target longer than %u bytes", rel, CROW_MAX_PATH);
        free(rel);
        return ret;
    }
    text[n] = '\0';
    int ret = crow_link_path_target(rel, text, w->abs_root, target, sizeof target);
    if (ret == 0 && !resolves_alike(w, rel, target)) {
        snprintf(what, sizeof what, "a symlink to %.4096s that resolves through another symlink elsewhere",
                 text);
        ret = cannot_carry(w, CROW_EPATH, rel, what);
    } else if (ret) {
        snprintf(what, sizeof what, "a symlink to %.4096s, outside the release", text);
        ret = cannot_carry(w, CROW_EPATH, rel, what);
    } else {
        char *copy = strdup(target);
        return copy ? add_entry(w, (crow_tree_entry_t){.path = rel, .kind = CROW_TREE_LINK, .target = copy})
                    : (free(rel), -ENOMEM);
    }
    free(rel);
    return ret;
}

/* Sorts one directory entry into a file, a symlink, a directory to walk, or something a release
 * cannot carry. Takes ownership of rel. */
static int classify(struct walk *w, int dirfd, const char *name, char *rel)
{
    struct stat st;
    int ret;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        ret = reason(w, -errno, "cannot stat %s: %s", rel, strerror(errno));
    } else if (S_ISREG(st.st_mode)) {
        return add_file(w, dirfd, name, rel, &st);
    } else if (S_ISLNK(st.st_mode)) {
        return add_link(w, dirfd, name, rel);
    } else if (S_ISDIR(st.st_mode)) {
        if (!(ret = push_dir(w, rel)))
            return 0;
    } else {
        ret = cannot_carry(w, CROW_EUNSUPPORTED, rel,
                           S_ISFIFO(st.st_mode)   ? "a FIFO"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : "a device");
    }
    free(rel);
    return ret;
}

static int list_dir(struct walk *w, int rootfd, const char *rel)
{
    int fd = *rel ? openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                  : openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && *rel && (errno == EACCES || errno == EPERM))
        return cannot_carry(w, -errno, rel, "a directory that may not be read (permission denied)");
    if (fd < 0)
        return reason(w, -errno, "cannot open directory %s: %s", *rel ? rel : ".", strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        int ret = reason(w, -errno, "cannot list %s: %s", *rel ? rel : ".", strerror(errno));
        close(fd);
        return ret;
    }
    int ret = 0;
    size_t rel_len = strlen(rel), kept = w->tree->count + w->dir_count;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                ret = reason(w, -errno, "cannot list %s: %s", *rel ? rel : ".", strerror(errno));
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t len = (rel_len ? rel_len + 1 : 0) + strlen(de->d_name);
        if (len > CROW_MAX_PATH) {
            ret =
                reason(w, CROW_ELIMIT, "a path is longer than %u bytes (under %.60s...)", CROW_MAX_PATH, rel);
            break;
        }
        char *child = malloc(len + 1);
        if (!child) {
            ret = -ENOMEM;
            break;
        }
        snprintf(child, len + 1, "%s%s%s", rel, rel_len ? "/" : "", de->d_name);
        if ((ret = classify(w, dirfd(d), de->d_name, child)))
            break;
    }
    closedir(d);
    /* Nothing kept below it (skipped entries do not count): the directory itself is an entry. */
    if (ret == 0 && *rel && w->tree->count + w->dir_count == kept) {
        char *copy = strdup(rel);
        ret = copy ? add_entry(w, (crow_tree_entry_t){.path = copy, .kind = CROW_TREE_DIR}) : -ENOMEM;
    }
    return ret;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const crow_tree_entry_t *)a)->path, ((const crow_tree_entry_t *)b)->path);
}

int crow_tree_scan(const char *root, int flags, crow_tree_t *t, crow_tree_skip_cb on_skip, void *ctx,
                   char *why, size_t why_cap)
{
    memset(t, 0, sizeof *t);
    struct walk w = {
        .tree = t, .flags = flags, .on_skip = on_skip, .ctx = ctx, .why = why, .why_cap = why_cap};
    if (why_cap)
        why[0] = '\0';
    int ret;
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return reason(&w, -errno, "cannot open directory %s: %s", root, strerror(errno));
    if (!(w.abs_root = realpath(root, NULL))) {
        ret = reason(&w, -errno, "cannot resolve %s: %s", root, strerror(errno));
        goto out;
    }
    char *top = strdup("");
    if (!top || (ret = push_dir(&w, top)) != 0) {
        free(top);
        ret = -ENOMEM;
        goto out;
    }
    while (w.dir_next < w.dir_count) {
        if ((ret = list_dir(&w, rootfd, w.dirs[w.dir_next++])))
            goto out;
    }
    if (t->count) /* qsort wants a non-NULL array even for zero elements */
        qsort(t->entries, t->count, sizeof *t->entries, by_path);
    ret = 0;
out:
    if (ret == -ENOMEM)
        reason(&w, ret, "out of memory");
    for (size_t i = 0; i < w.dir_count; i++)
        free(w.dirs[i]);
    free(w.dirs);
    free(w.abs_root);
    close(rootfd);
    return ret;
}

void crow_tree_scan_dispose(crow_tree_t *t)
{
    for (uint32_t i = 0; i < t->count; i++) {
        free(t->entries[i].path);
        free(t->entries[i].target);
    }
    free(t->entries);
    memset(t, 0, sizeof *t);
}
