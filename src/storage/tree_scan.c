/* Directory walk for `crowcast make`: lists the regular files of a tree in a deterministic order.
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
#include "crowcast/manifest.h"
#include "crowcast/tree_scan.h"

struct walk {
    crow_tree_t *tree;
    uint32_t entries_cap;
    char **dirs; /* directories still to list, relative to the root ("" is the root) */
    size_t dir_count, dir_cap, dir_next;
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

static int add_file(struct walk *w, char *rel, uint64_t length)
{
    crow_tree_t *t = w->tree;
    if (t->count >= CROW_MAX_FILES)
        return reason(w, CROW_ELIMIT, "more than %u files", CROW_MAX_FILES);
    if (t->count == w->entries_cap) {
        uint32_t cap = w->entries_cap ? w->entries_cap * 2 : 64;
        crow_tree_entry_t *e = realloc(t->entries, cap * sizeof *e);
        if (!e)
            return -ENOMEM;
        t->entries = e;
        w->entries_cap = cap;
    }
    t->entries[t->count++] = (crow_tree_entry_t){.path = rel, .length = length};
    return 0;
}

/* Sorts one directory entry into a file, a directory to walk, or a skip. Takes ownership of rel. */
static int classify(struct walk *w, int dirfd, const char *name, char *rel)
{
    struct stat st;
    int ret;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        ret = reason(w, -errno, "cannot stat %s: %s", rel, strerror(errno));
    } else if (S_ISREG(st.st_mode)) {
        if (!(ret = add_file(w, rel, (uint64_t)st.st_size)))
            return 0;
    } else if (S_ISDIR(st.st_mode)) {
        if (!(ret = push_dir(w, rel)))
            return 0;
    } else {
        if (w->on_skip)
            w->on_skip(w->ctx, rel, S_ISLNK(st.st_mode) ? "symlink" : "not a regular file or directory");
        w->tree->skipped++;
        ret = 0;
    }
    free(rel);
    return ret;
}

static int list_dir(struct walk *w, int rootfd, const char *rel)
{
    int fd = *rel ? openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                  : openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return reason(w, -errno, "cannot open directory %s: %s", *rel ? rel : ".", strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        int ret = reason(w, -errno, "cannot list %s: %s", *rel ? rel : ".", strerror(errno));
        close(fd);
        return ret;
    }
    int ret = 0;
    size_t rel_len = strlen(rel);
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
    return ret;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const crow_tree_entry_t *)a)->path, ((const crow_tree_entry_t *)b)->path);
}

int crow_tree_scan(const char *root, crow_tree_t *t, crow_tree_skip_cb on_skip, void *ctx, char *why,
                   size_t why_cap)
{
    memset(t, 0, sizeof *t);
    struct walk w = {.tree = t, .on_skip = on_skip, .ctx = ctx, .why = why, .why_cap = why_cap};
    if (why_cap)
        why[0] = '\0';
    int ret;
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return reason(&w, -errno, "cannot open directory %s: %s", root, strerror(errno));
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
    close(rootfd);
    return ret;
}

void crow_tree_dispose(crow_tree_t *t)
{
    for (uint32_t i = 0; i < t->count; i++)
        free(t->entries[i].path);
    free(t->entries);
    memset(t, 0, sizeof *t);
}
