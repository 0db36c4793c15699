/* Listing a directory tree that `crowcast make` turns into a release.
 *
 * The walk never follows a symlink (not even to a directory inside the tree) and opens every
 * directory relative to its parent without following links, so what it lists is exactly what the
 * storage layer will later open. What it keeps:
 *   - regular files, including empty ones: their size and whether the owner may execute them;
 *   - symlinks whose target lies inside the tree: the target, root-relative (link_path.h); a
 *     dangling one is kept too, it may name a file made at run time;
 *   - directories: walked; one that holds nothing is kept as an empty directory.
 * What a release cannot carry is refused (the scan fails, `why` names the entry), or with
 * CROW_TREE_SKIP_SPECIAL left out and reported through the skip callback: FIFOs, sockets,
 * devices, files with more than one hard link, files and directories it may not read, symlinks
 * pointing outside the tree. Entries come out sorted byte-wise (strcmp) on their relative path, so
 * the same tree always gives the same list.
 */
#ifndef CROWCAST_TREE_SCAN_H
#define CROWCAST_TREE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum crow_tree_kind { CROW_TREE_FILE, CROW_TREE_LINK, CROW_TREE_DIR };

typedef struct crow_tree_entry {
    char *path;      /* owned; relative to the root, '/'-separated, no empty, "." or ".." component */
    uint64_t length; /* files: bytes, as stat saw them during the walk; else 0 */
    enum crow_tree_kind kind;
    bool executable; /* files: the owner's execute bit */
    char *target;    /* owned; links: the root-relative target; else NULL */
} crow_tree_entry_t;

typedef struct crow_tree {
    crow_tree_entry_t *entries; /* owned; count entries sorted by path */
    uint32_t count;
    uint32_t files;   /* entries that are files */
    uint32_t skipped; /* entries left out (CROW_TREE_SKIP_SPECIAL) */
} crow_tree_t;

enum crow_tree_flags {
    CROW_TREE_SKIP_SPECIAL = 1 << 0, /* leave out, and report, what a release cannot carry */
};

/* Told about each entry the walk leaves out: its relative path and why ("a FIFO", ...). */
typedef void (*crow_tree_skip_cb)(void *ctx, const char *path, const char *why);

/* Walks the directory `root` and fills *t (release with crow_tree_scan_dispose, also on failure).
 * on_skip may be NULL. Returns 0, or CROW_EUNSUPPORTED (an entry a release cannot carry),
 * CROW_EPATH (a symlink pointing outside the tree, or one whose target resolves differently
 * through another symlink than its text reads), CROW_ELIMIT (more than CROW_MAX_FILES entries, or
 * a path longer than CROW_MAX_PATH), -EACCES (an entry it may not read), -ENOTDIR when root is
 * not a directory, -ENOMEM or another -errno; why (why_cap bytes) gets a one-line reason naming
 * the entry. */
int crow_tree_scan(const char *root, int flags, crow_tree_t *t, crow_tree_skip_cb on_skip, void *ctx,
                   char *why, size_t why_cap);
void crow_tree_scan_dispose(crow_tree_t *t);

#endif
