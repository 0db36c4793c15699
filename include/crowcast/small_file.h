/* Reading a small file whole (storage/small_file.c): keys, certificates, auth files, manifests. */
#ifndef CROWCAST_SMALL_FILE_H
#define CROWCAST_SMALL_FILE_H

#include <stddef.h>

/* Reads the regular file PATH (relative to dirfd, opened with O_RDONLY | flags, and O_NONBLOCK so a
 * FIFO is refused instead of waited on) of at most max bytes into a malloc'd, NUL-terminated *buf (the
 * caller frees it), with its permission bits in *mode when mode is not NULL. Returns 0, -errno,
 * CROW_EPATH (not a regular file) or CROW_ELIMIT (larger than max). */
int crow_small_file_read(int dirfd, const char *path, int flags, size_t max, char **buf, size_t *len,
                         unsigned *mode);

#endif
