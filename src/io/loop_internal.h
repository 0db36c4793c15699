/* Loop internals shared by the files of src/io (never included above io/). */
#ifndef CROWCAST_IO_LOOP_INTERNAL_H
#define CROWCAST_IO_LOOP_INTERNAL_H

#include <liburing.h>

#include "crowcast/loop.h"

struct crow_loop {
    struct io_uring ring;
    uint64_t now;
    unsigned inflight;
    bool stopping;
    int stop_code;
    struct crow_loop_features features;
};

/* An SQE, submitting the queue first when it is full; NULL only if the ring is broken. */
struct io_uring_sqe *crow_loop_sqe(crow_loop_t *loop);
/* Ties a prepared SQE to `op` and counts it pending. */
void crow_loop_arm(crow_loop_t *loop, crow_op_t *op, struct io_uring_sqe *sqe);

#endif
