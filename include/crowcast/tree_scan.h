/* Listing the files of a directory tree that `crowcast make` turns into a release.
 *
 * The walk never follows a symlink (not even to a directory inside the tree) and opens every
 * directory relative to its parent without following links, so what it lists is exactly what the
 * storage layer will later open. What it keeps and what it leaves out:
 *   - regular files, including empty ones: listed, with their size;
 *   - directories: walked; an empty directory leaves no trace (BitTorrent v1 cannot carry one);
 *   - symlinks, FIFOs, sockets and devices: skipped, each reported through the skip callback.
 * Entries come out sorted byte-wise (strcmp) on their relative path, so the same tree always
 * gives the same list.
 */
#ifndef CROWCAST_TREE_SCAN_H
#define CROWCAST_TREE_SCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct crow_tree_entry {
    char *path;      /* owned; relative to the root, '/'-separated, no empty, "." or ".." component */
    uint64_t length; /* bytes, as stat saw them during the walk */
} crow_tree_entry_t;

typedef struct crow_tree {
    crow_tree_entry_t *entries; /* owned; count entries sorted by path */
    uint32_t count;
    uint32_t skipped; /* entries left out (symlinks, special files) */
} crow_tree_t;

/* Told about each entry the walk leaves out: its relative path and why ("symlink", ...). */
typedef void (*crow_tree_skip_cb)(void *ctx, const char *path, const char *why);

/* Walks the directory `root` and fills *t (release with crow_tree_dispose, also on failure).
 * on_skip may be NULL. Returns 0, or CROW_ELIMIT (more than CROW_MAX_FILES files, or a path
 * longer than CROW_MAX_PATH), -ENOTDIR when root is not a directory, -ENOMEM or another -errno;
 * why (why_cap bytes) gets a one-line reason. */
int crow_tree_scan(const char *root, crow_tree_t *t, crow_tree_skip_cb on_skip, void *ctx, char *why,
                   size_t why_cap);
void crow_tree_dispose(crow_tree_t *t);

#endif
