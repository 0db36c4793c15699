/* The event loop: one io_uring per process, shared by every role.
 *
 * Every submission carries a crow_op_t that the caller owns: the completion handler and the object
 * it belongs to. A submission function returns 0 when the operation is armed (its handler will fire,
 * exactly once, or several times for a multishot operation until CROW_OP_MORE is clear), or a
 * negative code when it could not be armed (the handler will not fire). An op must stay valid while
 * it is pending (crow_op_pending). Nothing above src/io/ sees liburing: these functions are the
 * whole interface.
 */
#ifndef CROWCAST_LOOP_H
#define CROWCAST_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct crow_loop crow_loop_t;
typedef struct crow_op crow_op_t;

/* res: the operation's result (bytes, fd, 0) or -errno. flags: CROW_OP_* below. */
typedef void (*crow_op_fn)(crow_op_t *op, int res, unsigned flags);

#define CROW_OP_MORE   1u /* a multishot operation stays armed: more completions follow */
#define CROW_OP_BUFFER 2u /* a provided buffer was used; its id is flags >> 16 */
#define CROW_OP_NOTIF  4u /* zero-copy send: the kernel released the buffer */

struct crow_op {
    crow_op_fn fn;
    void *owner;
    /* private to the loop */
    unsigned pending;
    struct {
        int64_t tv_sec;
        long long tv_nsec;
    } ts;
};

static inline void crow_op_init(crow_op_t *op, crow_op_fn fn, void *owner)
{
    op->fn = fn;
    op->owner = owner;
    op->pending = 0;
}
static inline bool crow_op_pending(const crow_op_t *op)
{
    return op->pending != 0;
}

/* What the running kernel supports, probed once at crow_loop_new. */
struct crow_loop_features {
    bool multishot_recv; /* recvmsg multishot with a provided buffer ring */
    bool send_zc;        /* IORING_OP_SEND_ZC / SENDMSG_ZC */
    bool udp_gso;        /* UDP_SEGMENT socket option */
};

/* Creates a loop with room for `entries` submissions at once (rounded up by the kernel).
 * Returns 0 or -errno (e.g. -ENOSYS or -EPERM where io_uring is disabled). */
int crow_loop_new(crow_loop_t **out, unsigned entries);
/* Frees the loop. Pending operations are abandoned: call only when nothing is pending or the
 * process is about to exit. */
void crow_loop_free(crow_loop_t *loop);
const struct crow_loop_features *crow_loop_features(const crow_loop_t *loop);
/* Disables features for tests and benchmarks that compare the fallbacks. */
void crow_loop_disable_features(crow_loop_t *loop, const struct crow_loop_features *off);

/* CLOCK_MONOTONIC in nanoseconds, refreshed after every wait. */
uint64_t crow_loop_now(const crow_loop_t *loop);
/* Reads the clock again (for long callbacks). */
uint64_t crow_loop_update_now(crow_loop_t *loop);

/* Runs until crow_loop_stop is called or nothing is pending. Returns the stop code (0 when it ran
 * out of work) or -errno when io_uring itself failed. */
int crow_loop_run(crow_loop_t *loop);
void crow_loop_stop(crow_loop_t *loop, int code);
/* Runs for at most `ns` nanoseconds (or until stopped or out of work). */
int crow_loop_run_for(crow_loop_t *loop, uint64_t ns);
/* Shutdown: after closing everything, lets the kernel return every pending operation (cancelled
 * receives, closing connections) so their owners are freed. Returns 0 when nothing is left
 * pending, -ETIME when some operation still was after `ns` nanoseconds. */
int crow_loop_drain(crow_loop_t *loop, uint64_t ns);
bool crow_loop_stopping(const crow_loop_t *loop);
/* Number of armed operations. */
unsigned crow_loop_inflight(const crow_loop_t *loop);

/* Submissions. The buffers must stay valid until the handler fires. */
int crow_io_read(crow_loop_t *loop, crow_op_t *op, int fd, void *buf, unsigned len, uint64_t offset);
int crow_io_write(crow_loop_t *loop, crow_op_t *op, int fd, const void *buf, unsigned len, uint64_t offset);
int crow_io_fsync(crow_loop_t *loop, crow_op_t *op, int fd);
/* sync_file_range(2) of [offset, offset + len) with its flags (SYNC_FILE_RANGE_*), off the loop's
 * thread: with SYNC_FILE_RANGE_WRITE alone it starts the write-back and waits for nothing. */
int crow_io_sync_file_range(crow_loop_t *loop, crow_op_t *op, int fd, uint64_t offset, unsigned len,
                            unsigned flags);
int crow_io_send(crow_loop_t *loop, crow_op_t *op, int fd, const void *buf, size_t len, int flags);
int crow_io_recv(crow_loop_t *loop, crow_op_t *op, int fd, void *buf, size_t len, int flags);
int crow_io_sendmsg(crow_loop_t *loop, crow_op_t *op, int fd, const struct msghdr *msg, int flags);
/* Zero-copy sendmsg where supported (crow_loop_features): the handler fires twice, the second time
 * with CROW_OP_NOTIF when the buffer may be reused. */
int crow_io_sendmsg_zc(crow_loop_t *loop, crow_op_t *op, int fd, const struct msghdr *msg, int flags);
int crow_io_recvmsg(crow_loop_t *loop, crow_op_t *op, int fd, struct msghdr *msg, int flags);
int crow_io_accept(crow_loop_t *loop, crow_op_t *op, int fd, struct sockaddr *addr, socklen_t *addrlen);
int crow_io_connect(crow_loop_t *loop, crow_op_t *op, int fd, const struct sockaddr *addr, socklen_t addrlen);
/* Fires with -ETIME after `ns` nanoseconds (or -ECANCELED). */
int crow_io_timeout(crow_loop_t *loop, crow_op_t *op, uint64_t ns);
/* Asks the kernel to cancel every pending submission of `op`; their handlers still fire (usually
 * with -ECANCELED). Returns 0 or a negative code; a no-op when nothing is pending. */
int crow_io_cancel(crow_loop_t *loop, crow_op_t *op);

/* Provided buffer ring for multishot receives: `count` (a power of two) buffers of `size` bytes,
 * registered as buffer group `group`. */
typedef struct crow_bufring crow_bufring_t;
int crow_bufring_new(crow_loop_t *loop, crow_bufring_t **out, unsigned count, unsigned size, uint16_t group);
void crow_bufring_free(crow_loop_t *loop, crow_bufring_t *br);
void *crow_bufring_buffer(crow_bufring_t *br, unsigned id);
unsigned crow_bufring_size(const crow_bufring_t *br);
/* Gives buffer `id` back to the kernel once its contents were consumed. */
void crow_bufring_recycle(crow_bufring_t *br, unsigned id);
/* Multishot recvmsg into `br`. `tmpl` names how much room the name and control data take
 * (msg_namelen, msg_controllen); the handler gets res = bytes used in buffer flags >> 16. */
int crow_io_recvmsg_multishot(crow_loop_t *loop, crow_op_t *op, int fd, struct msghdr *tmpl,
                              crow_bufring_t *br);

/* Signals: blocks `signals` (count entries) for the process and delivers each as a completion with
 * res = the signal number, re-arming itself until crow_io_cancel. */
typedef struct crow_signals crow_signals_t;
int crow_signals_watch(crow_loop_t *loop, crow_signals_t **out, const int *signals, unsigned count,
                       void (*fn)(void *ctx, int signo), void *ctx);
void crow_signals_close(crow_loop_t *loop, crow_signals_t *s);

#endif
