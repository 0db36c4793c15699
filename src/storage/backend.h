/* The interface between the storage front end (storage.c: ranges, pieces) and its backends
 * (posix.c, memory.c). Private to src/storage. */
#ifndef CROWCAST_STORAGE_BACKEND_H
#define CROWCAST_STORAGE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/storage.h"

/* Every operation works on one file segment that lies inside the file's manifest length (the
 * front end maps stream ranges with crow_layout_*). read and write transfer all `len` bytes or
 * fail: -ENODATA when the file ends early, -EBADF for a file that is not open, -errno. */
struct crow_storage_ops {
    int (*read)(crow_storage_t *s, uint32_t file, uint64_t offset, void *buf, size_t len);
    int (*write)(crow_storage_t *s, uint32_t file, uint64_t offset, const void *buf, size_t len);
    int (*sync)(crow_storage_t *s);
    int (*fd)(crow_storage_t *s, uint32_t file);
    int (*file_error)(crow_storage_t *s, uint32_t file, uint64_t *size);
    void (*close)(crow_storage_t *s);
};

/* Backends embed this as their first member. */
struct crow_storage {
    const struct crow_storage_ops *ops;
    const crow_manifest_t *m;
    bool writable;
};

#endif
