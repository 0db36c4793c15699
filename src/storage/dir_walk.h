/* Directories inside a release tree, opened without following symlinks (private to src/storage). */
#ifndef CROWCAST_STORAGE_DIR_WALK_H
#define CROWCAST_STORAGE_DIR_WALK_H

#include <stdbool.h>
#include <stddef.h>

/* What an open(2) failure inside the tree means: a symlink (ELOOP with O_NOFOLLOW), a file where
 * a directory belongs or the reverse is an unsafe tree (CROW_EPATH), anything else -errno. */
int crow_dir_walk_open_error(int err);

/* Opens directory `name` under dirfd, creating it (mode 0755, whatever the umask) when asked; never follows a
 * symlink unless `follow`. Returns the descriptor or a negative code. */
int crow_dir_walk_open_dir(int dirfd, const char *name, bool create, bool follow);

/* Walks the directories of paths in turn, reusing the last one while the directory part repeats
 * (sorted manifests keep a directory's entries together). Start with {.rootfd = FD, .fd = -1}. */
struct crow_dir_walk {
    int rootfd;
    const char *dir; /* directory part of the last path (borrowed), or NULL */
    size_t len;
    int fd; /* its descriptor, or -1 */
};

/* Sets *leaf to the last component of path and returns the descriptor of its directory (owned by
 * the walk: rootfd itself for a top-level path), opening each component without following links,
 * creating missing ones when `create`, fsyncing each when `sync`. Returns a negative code on
 * failure. path must stay valid while the walk reuses it. */
int crow_dir_walk_to(struct crow_dir_walk *w, const char *path, const char **leaf, bool create, bool sync);
/* Closes the walk's cached directory (not rootfd). */
void crow_dir_walk_close(struct crow_dir_walk *w);

#endif
