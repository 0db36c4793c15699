/* What a release holds besides its bytes, on disk: file modes (the executable bit), symlinks and
 * empty directories (manifest.h). Publishing applies them to a staged tree before its rename;
 * verify compares a tree with them.
 *
 * Modes are fixed, as a deploy wants them whatever the umask: 0755 for an executable file, 0644
 * for the others, 0755 for directories. A symlink is written with the relative text that climbs
 * from its directory to the release root and descends to its target (link_path.h), so the tree
 * can move as a whole. Every path is opened without following symlinks.
 */
#ifndef CROWCAST_TREE_ATTRS_H
#define CROWCAST_TREE_ATTRS_H

#include <stddef.h>

#include "crowcast/manifest.h"

/* Applies m's modes, symlinks and empty directories to the release at dirfd/root (the file itself
 * for a single-file release), whose files must exist: sets each file's mode, creates missing
 * directories, replaces whatever non-directory sits where a symlink belongs, and syncs what it
 * changed. Returns 0, or CROW_EPATH (a symlink or a non-directory in the way of a path, a
 * directory where a symlink belongs) or -errno, with a one-line reason naming the path in why. */
int crow_tree_attrs_apply(const crow_manifest_t *m, int dirfd, const char *root, char *why, size_t why_cap);

/* Told about each difference: the release path and what differs, in words. */
typedef void (*crow_tree_diff_cb)(void *ctx, const char *path, const char *what);

/* Compares the release at dirfd/root (root itself is followed, as a path the user gave) with m's
 * modes, symlinks (by where they point, relative to the root, not by their text) and empty
 * directories. A file that is missing or not a regular file is not reported here (storage's file
 * errors say it). cb may be NULL. Returns the number of differences. */
unsigned crow_tree_attrs_check(const crow_manifest_t *m, int dirfd, const char *root, crow_tree_diff_cb cb,
                               void *ctx);

#endif
