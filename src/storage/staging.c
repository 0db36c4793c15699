/* Staging of a download in OUTDIR/.crowcast-staging/<release id hex>/<name> and its publication
 * as OUTDIR/<name> by one rename once every piece verified and the tree's modes, symlinks and
 * empty directories are in place. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/piece_index.h"
#include "crowcast/storage.h"
#include "crowcast/tree_attrs.h"

struct crow_staging {
    const crow_manifest_t *m;
    int outfd;   /* OUTDIR */
    int stagefd; /* OUTDIR/.crowcast-staging */
    int relfd;   /* OUTDIR/.crowcast-staging/<hex> */
    char hex[2 * CROW_SHA256_LEN + 1];
    crow_storage_t *storage;
    crow_bitfield_t verified;
    bool resumed; /* the release directory was there before this open */
};

/* Creates (when missing) and opens directory `name` under dirfd, refusing a symlink; *existed
 * (when given) tells whether it was there already. */
static int make_dir(int dirfd, const char *name, mode_t mode, bool *existed)
{
    bool was = mkdirat(dirfd, name, mode) < 0;
    if (was && errno != EEXIST)
        return -errno;
    if (existed)
        *existed = was;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP || errno == ENOTDIR ? CROW_EPATH : -errno;
    return fd;
}

void crow_staging_close(crow_staging_t *st)
{
    if (!st)
        return;
    crow_storage_close(st->storage);
    crow_bitfield_dispose(&st->verified);
    if (st->relfd >= 0)
        close(st->relfd);
    if (st->stagefd >= 0)
        close(st->stagefd);
    if (st->outfd >= 0)
        close(st->outfd);
    free(st);
}

int crow_staging_open(crow_staging_t **out, const crow_manifest_t *m, const char *outdir)
{
    /* The name becomes one directory entry of OUTDIR: one safe component. */
    if (!m->name || strchr(m->name, '/') || crow_manifest_check_path(m->name, strlen(m->name)) < 0)
        return CROW_EPATH;
    crow_staging_t *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->m = m;
    st->stagefd = st->relfd = -1;
    crow_hex(m->release_id, CROW_SHA256_LEN, st->hex);
    int ret = 0;
    st->outfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->outfd < 0) {
        ret = -errno;
        goto fail;
    }
    if ((st->stagefd = make_dir(st->outfd, CROW_STAGING_DIR, 0700, NULL)) < 0) {
        ret = st->stagefd;
        goto fail;
    }
    if ((st->relfd = make_dir(st->stagefd, st->hex, 0755, &st->resumed)) < 0) {
        ret = st->relfd;
        goto fail;
    }
    if ((ret = crow_bitfield_init(&st->verified, m->piece_count)) < 0)
        goto fail;
    ret = crow_storage_open_posix(&st->storage, m, st->relfd, m->name,
                                  CROW_STORAGE_WRITE | CROW_STORAGE_ROOT_NOFOLLOW);
    if (ret < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    crow_staging_close(st);
    return ret;
}

crow_storage_t *crow_staging_storage(crow_staging_t *st)
{
    return st->storage;
}

const crow_bitfield_t *crow_staging_verified(const crow_staging_t *st)
{
    return &st->verified;
}

void crow_staging_mark_verified(crow_staging_t *st, uint32_t piece)
{
    crow_bitfield_set(&st->verified, piece);
}

bool crow_staging_resumed(const crow_staging_t *st)
{
    return st->resumed;
}

int crow_staging_verify(crow_staging_t *st, unsigned threads)
{
    return crow_storage_verify(st->storage, threads, &st->verified, NULL, NULL);
}

long crow_staging_take(crow_staging_t *st, const crow_manifest_t *prev, const char *root, uint64_t *bytes)
{
    const crow_manifest_t *m = st->m;
    *bytes = 0;
    crow_storage_t *from = NULL;
    crow_piece_index_t ix = {0};
    uint8_t *buf = NULL;
    /* A previous release that is gone or damaged is no error: the network has every piece. */
    if (crow_storage_open_posix(&from, prev, AT_FDCWD, root, CROW_STORAGE_PARTIAL) < 0)
        return 0;
    long taken = crow_piece_index_init(&ix, prev);
    if (taken == 0 && !(buf = malloc(m->piece_length)))
        taken = -ENOMEM;
    for (uint32_t p = 0; taken >= 0 && p < m->piece_count; p++) {
        const uint8_t *want = m->sha256 + (size_t)p * CROW_SHA256_LEN;
        uint32_t size = crow_manifest_piece_size(m, p);
        uint32_t q =
            crow_bitfield_get(&st->verified, p) ? UINT32_MAX : crow_piece_index_find(&ix, want, size);
        uint8_t digest[CROW_SHA256_LEN];
        if (q == UINT32_MAX || crow_storage_read_piece(from, q, 0, buf, size) < 0)
            continue;
        crow_sha256(buf, size, digest);
        if (memcmp(digest, want, CROW_SHA256_LEN) != 0)
            continue; /* the old copy changed on disk */
        int ret = crow_storage_write_piece(st->storage, p, 0, buf, size);
        if (ret < 0) {
            taken = ret;
            break;
        }
        crow_bitfield_set(&st->verified, p);
        *bytes += size;
        taken++;
    }
    free(buf);
    crow_piece_index_dispose(&ix);
    crow_storage_close(from);
    return taken;
}

/* Does dirfd/name hold exactly release m? 1 yes, 0 no, negative on a system error. */
static int holds_release(const crow_manifest_t *m, int dirfd, const char *name)
{
    crow_storage_t *s = NULL;
    int ret = crow_storage_open_posix(&s, m, dirfd, name, CROW_STORAGE_ROOT_NOFOLLOW);
    if (ret == -ENOMEM)
        return ret;
    if (ret < 0)
        return 0;
    for (uint32_t i = 0; i < m->file_count; i++) {
        uint64_t size;
        crow_storage_file_error(s, i, &size);
        if (size != m->files[i].length)
            goto out;
    }
    crow_bitfield_t good;
    if ((ret = crow_bitfield_init(&good, m->piece_count)) < 0)
        goto out;
    ret = crow_storage_verify(s, 0, &good, NULL, NULL);
    if (ret == 0)
        ret = crow_bitfield_full(&good) && crow_tree_attrs_check(m, dirfd, name, NULL, NULL) == 0;
    crow_bitfield_dispose(&good);
out:
    crow_storage_close(s);
    return ret < 0 ? ret : ret == 1;
}

/* Removes dirfd/name and everything below it without following symlinks. */
static int remove_tree(int dirfd, const char *name)
{
    if (unlinkat(dirfd, name, 0) == 0)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -errno;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    int ret = 0;
    struct dirent *e;
    while (ret == 0 && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            ret = remove_tree(fd, e->d_name);
    closedir(d);
    if (ret == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
        ret = -errno;
    return ret;
}

/* Renames relfd/name to outfd/name unless that exists: 0, -EEXIST or -errno. */
static int rename_noreplace(int fromfd, int tofd, const char *name)
{
    if (renameat2(fromfd, name, tofd, name, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    /* The file system lacks RENAME_NOREPLACE: check, then rename (racy, but only against
     * another publisher of the same name). */
    struct stat st;
    if (fstatat(tofd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return -EEXIST;
    return renameat(fromfd, name, tofd, name) == 0 ? 0 : -errno;
}

int crow_staging_publish(crow_staging_t *st, char *why, size_t why_cap)
{
    const crow_manifest_t *m = st->m;
    int ret;
    if (why_cap)
        why[0] = '\0';
    if (!crow_bitfield_full(&st->verified)) {
        if (why_cap)
            snprintf(why, why_cap, "%u of %u pieces are not verified yet",
                     st->verified.nbits - st->verified.count, st->verified.nbits);
        return CROW_EHASH;
    }
    /* Modes, symlinks and empty directories go in before the rename: the release appears whole. */
    if ((ret = crow_tree_attrs_apply(m, st->relfd, m->name, why, why_cap)))
        return ret;
    ret = crow_storage_sync(st->storage);
    if (ret == 0 && fsync(st->relfd) < 0)
        ret = -errno;
    if (ret < 0) {
        if (why_cap)
            snprintf(why, why_cap, "cannot sync the staged files: %s", crow_strerror(ret));
        return ret;
    }
    ret = rename_noreplace(st->relfd, st->outfd, m->name);
    if (ret == -EEXIST) {
        int same = holds_release(m, st->outfd, m->name);
        if (same == 1) {
            ret = remove_tree(st->relfd, m->name);
        } else if (same < 0) {
            ret = same;
        } else if (why_cap) {
            snprintf(why, why_cap,
                     "'%s' already exists in the output directory and is not this release; "
                     "move it away to publish",
                     m->name);
        }
    }
    if (ret < 0) {
        if (why_cap && !why[0])
            snprintf(why, why_cap, "cannot move '%s' into place: %s", m->name, crow_strerror(ret));
        return ret;
    }
    if (fsync(st->outfd) < 0) {
        ret = -errno;
        if (why_cap)
            snprintf(why, why_cap, "cannot sync the output directory: %s", crow_strerror(ret));
        return ret;
    }
    /* The staging directories are empty now; the top one may still hold other releases. */
    unlinkat(st->stagefd, st->hex, AT_REMOVEDIR);
    unlinkat(st->outfd, CROW_STAGING_DIR, AT_REMOVEDIR);
    return 0;
}
