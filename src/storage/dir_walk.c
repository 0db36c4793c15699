/* Opening directories inside a release tree without following symlinks, one component at a
 * time, for the storage backends and for the tree's attributes (modes, symlinks, empty
 * directories). Private to src/storage. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "dir_walk.h"

/* What an open(2) failure inside the tree means: a symlink (ELOOP with O_NOFOLLOW), a file
 * where a directory belongs or the reverse is an unsafe tree, anything else a system error. */
int crow_dir_walk_open_error(int err)
{
    return err == ELOOP || err == ENOTDIR || err == EISDIR ? CROW_EPATH : -err;
}

/* Opens directory `name` under dirfd, creating it when asked; never follows a symlink unless
 * `follow`. Returns the descriptor or a negative code. */
int crow_dir_walk_open_dir(int dirfd, const char *name, bool create, bool follow)
{
    int oflags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
    int fd = openat(dirfd, name, oflags);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
            return -errno;
        fd = openat(dirfd, name, oflags);
        /* A release's directories are 0755 whatever the umask (tree_attrs.h). */
        if (fd >= 0 && fchmod(fd, 0755) < 0) {
            int ret = -errno;
            close(fd);
            return ret;
        }
    }
    return fd < 0 ? crow_dir_walk_open_error(errno) : fd;
}

/* Opens the directory path dir[0..len) (components separated by '/') below rootfd, one
 * component at a time, fsyncing each when `sync`. Returns a new descriptor or a negative code. */
static int open_path_dir(int rootfd, const char *dir, size_t len, bool create, bool sync)
{
    char comp[NAME_MAX + 1];
    int cur = rootfd;
    size_t i = 0;
    while (i < len) {
        const char *slash = memchr(dir + i, '/', len - i);
        size_t n = (slash ? (size_t)(slash - dir) : len) - i;
        if (n > NAME_MAX) {
            if (cur != rootfd)
                close(cur);
            return -ENAMETOOLONG;
        }
        memcpy(comp, dir + i, n);
        comp[n] = '\0';
        int next = crow_dir_walk_open_dir(cur, comp, create, false);
        if (cur != rootfd)
            close(cur);
        if (next < 0)
            return next;
        if (sync && fsync(next) < 0) {
            int ret = -errno;
            close(next);
            return ret;
        }
        cur = next;
        i += n + 1;
    }
    return cur == rootfd ? fcntl(rootfd, F_DUPFD_CLOEXEC, 0) : cur;
}

void crow_dir_walk_close(struct crow_dir_walk *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->dir = NULL;
}

/* Sets *leaf to the last component of path and returns the descriptor of its directory
 * (owned by the walk), or a negative code. */
int crow_dir_walk_to(struct crow_dir_walk *w, const char *path, const char **leaf, bool create, bool sync)
{
    const char *slash = strrchr(path, '/');
    *leaf = slash ? slash + 1 : path;
    if (!slash)
        return w->rootfd;
    size_t len = (size_t)(slash - path);
    if (w->dir && w->len == len && memcmp(w->dir, path, len) == 0)
        return w->fd;
    crow_dir_walk_close(w);
    int fd = open_path_dir(w->rootfd, path, len, create, sync);
    if (fd < 0)
        return fd;
    w->dir = path;
    w->len = len;
    w->fd = fd;
    return fd;
}
