/* Atomic file writes on the loop: DIR/.name.tmp written and synced through io_uring, renamed over
 * the target, the directory synced. A reader sees the old file or the new one, never a mix. */
#ifndef CROWCAST_APP_ATOMIC_FILE_H
#define CROWCAST_APP_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/loop.h"

/* Zero-initialised means idle. Fields are private. */
struct crow_atomic_file {
    crow_loop_t *loop;
    crow_op_t op;
    int fd, dirfd, phase;
    char path[4096], tmp[4096];
    const uint8_t *data;
    size_t len, done;
    void (*cb)(void *ctx, int err);
    void *ctx;
};

/* Starts writing data (borrowed until cb) to path atomically. cb(ctx, 0 or -errno) fires once, never
 * from inside this call. Returns 0, CROW_EUSAGE while a write is in progress, or a negative code (cb
 * will not fire). */
int crow_atomic_file_write(struct crow_atomic_file *f, crow_loop_t *loop, const char *path, const void *data,
                           size_t len, void (*cb)(void *ctx, int err), void *ctx);
bool crow_atomic_file_busy(const struct crow_atomic_file *f);

#endif
