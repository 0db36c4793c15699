/* The io_uring event loop: submission helpers, completion dispatch, clock, feature probe.
 *
 * user_data of every SQE is the crow_op_t that owns it (NULL for internal cancels, whose
 * completions are dropped). Completions are reaped in batches and the CQ advanced once per batch,
 * as liburing's examples do.
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "crowcast/clock.h"
#include "crowcast/loop.h"
#include "loop_internal.h"

static bool kernel_at_least(int major, int minor)
{
    struct utsname u;
    int ma = 0, mi = 0;
    if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
        return false;
    return ma > major || (ma == major && mi >= minor);
}

static bool probe_udp_gso(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return false;
    int seg = 1400;
    bool ok = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0;
    close(fd);
    return ok;
}

static void probe_features(crow_loop_t *loop)
{
    struct io_uring_probe *probe = io_uring_get_probe_ring(&loop->ring);
    if (probe) {
        /* Multishot recvmsg arrived in 6.0; the opcode probe cannot see the flag, so check both. */
        loop->features.multishot_recv = io_uring_opcode_supported(probe, IORING_OP_RECVMSG) &&
                                        io_uring_opcode_supported(probe, IORING_OP_PROVIDE_BUFFERS) &&
                                        kernel_at_least(6, 0);
        loop->features.send_zc = io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC);
        io_uring_free_probe(probe);
    }
    loop->features.udp_gso = probe_udp_gso();
}

int crow_loop_new(crow_loop_t **out, unsigned entries)
{
    crow_loop_t *loop = calloc(1, sizeof *loop);
    if (!loop)
        return -ENOMEM;
    struct io_uring_params params = {.flags = IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL,
                                     .cq_entries = entries * 4};
    params.flags |= IORING_SETUP_CQSIZE;
    int ret = io_uring_queue_init_params(entries, &loop->ring, &params);
    if (ret < 0) {
        free(loop);
        return ret;
    }
    probe_features(loop);
    loop->now = crow_clock_mono_ns();
    *out = loop;
    return 0;
}

void crow_loop_free(crow_loop_t *loop)
{
    if (!loop)
        return;
    io_uring_queue_exit(&loop->ring);
    free(loop);
}

const struct crow_loop_features *crow_loop_features(const crow_loop_t *loop)
{
    return &loop->features;
}

void crow_loop_disable_features(crow_loop_t *loop, const struct crow_loop_features *off)
{
    loop->features.multishot_recv &= !off->multishot_recv;
    loop->features.send_zc &= !off->send_zc;
    loop->features.udp_gso &= !off->udp_gso;
}

uint64_t crow_loop_now(const crow_loop_t *loop)
{
    return loop->now;
}

uint64_t crow_loop_update_now(crow_loop_t *loop)
{
    return loop->now = crow_clock_mono_ns();
}

void crow_loop_stop(crow_loop_t *loop, int code)
{
    if (!loop->stopping)
        loop->stop_code = code;
    loop->stopping = true;
}

bool crow_loop_stopping(const crow_loop_t *loop)
{
    return loop->stopping;
}

unsigned crow_loop_inflight(const crow_loop_t *loop)
{
    return loop->inflight;
}

struct io_uring_sqe *crow_loop_sqe(crow_loop_t *loop)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
    if (!sqe) {
        io_uring_submit(&loop->ring);
        sqe = io_uring_get_sqe(&loop->ring);
    }
    return sqe;
}

void crow_loop_arm(crow_loop_t *loop, crow_op_t *op, struct io_uring_sqe *sqe)
{
    io_uring_sqe_set_data(sqe, op);
    op->pending++;
    loop->inflight++;
}

static void dispatch(crow_loop_t *loop, struct io_uring_cqe *cqe)
{
    crow_op_t *op = io_uring_cqe_get_data(cqe);
    if (!op)
        return;
    unsigned flags = 0;
    if (cqe->flags & IORING_CQE_F_MORE)
        flags |= CROW_OP_MORE;
    if (cqe->flags & IORING_CQE_F_BUFFER)
        flags |= CROW_OP_BUFFER | (cqe->flags >> IORING_CQE_BUFFER_SHIFT) << 16;
    if (cqe->flags & IORING_CQE_F_NOTIF)
        flags |= CROW_OP_NOTIF;
    if (!(flags & CROW_OP_MORE)) {
        op->pending--;
        loop->inflight--;
    }
    op->fn(op, cqe->res, flags);
}

int crow_loop_run(crow_loop_t *loop)
{
    loop->stopping = false;
    loop->stop_code = 0;
    while (!loop->stopping && loop->inflight) {
        int ret = io_uring_submit_and_wait(&loop->ring, 1);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
            return ret;
        loop->now = crow_clock_mono_ns();
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&loop->ring, head, cqe)
        {
            seen++;
            dispatch(loop, cqe);
        }
        io_uring_cq_advance(&loop->ring, seen);
    }
    io_uring_submit(&loop->ring);
    return loop->stop_code;
}

static void on_run_for_expired(crow_op_t *op, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    crow_loop_stop(op->owner, 0);
}

int crow_loop_run_for(crow_loop_t *loop, uint64_t ns)
{
    crow_op_t deadline;
    crow_op_init(&deadline, on_run_for_expired, loop);
    int ret = crow_io_timeout(loop, &deadline, ns);
    if (ret)
        return ret;
    ret = crow_loop_run(loop);
    /* The deadline op lives on this stack frame: make sure the kernel is done with it. */
    if (crow_op_pending(&deadline)) {
        crow_io_cancel(loop, &deadline);
        while (crow_op_pending(&deadline) && crow_loop_run(loop) >= 0)
            ; /* its cancellation completes quickly and stops the loop again */
    }
    return ret;
}

int crow_loop_drain(crow_loop_t *loop, uint64_t ns)
{
    uint64_t end = crow_clock_mono_ns() + ns;
    while (loop->inflight) {
        uint64_t now = crow_clock_mono_ns();
        if (now >= end)
            return -ETIME;
        struct __kernel_timespec ts = {.tv_sec = (int64_t)((end - now) / 1000000000ull),
                                       .tv_nsec = (long long)((end - now) % 1000000000ull)};
        struct io_uring_cqe *cqe = NULL;
        int ret = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, &ts, NULL);
        if (ret < 0 && ret != -ETIME && ret != -EINTR)
            return ret;
        loop->now = crow_clock_mono_ns();
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&loop->ring, head, cqe)
        {
            seen++;
            dispatch(loop, cqe);
        }
        io_uring_cq_advance(&loop->ring, seen);
    }
    return 0;
}

/* Gets an SQE or reports -EBUSY; every submission helper below starts with it. */
#define PREP_OR_FAIL(loop, sqe)                                                                              \
    struct io_uring_sqe *sqe = crow_loop_sqe(loop);                                                          \
    if (!sqe)                                                                                                \
        return -EBUSY;

int crow_io_read(crow_loop_t *loop, crow_op_t *op, int fd, void *buf, unsigned len, uint64_t offset)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_read(sqe, fd, buf, len, offset);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_write(crow_loop_t *loop, crow_op_t *op, int fd, const void *buf, unsigned len, uint64_t offset)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_write(sqe, fd, buf, len, offset);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_fsync(crow_loop_t *loop, crow_op_t *op, int fd)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_fsync(sqe, fd, 0);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_sync_file_range(crow_loop_t *loop, crow_op_t *op, int fd, uint64_t offset, unsigned len,
                            unsigned flags)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_sync_file_range(sqe, fd, len, offset, (int)flags);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_send(crow_loop_t *loop, crow_op_t *op, int fd, const void *buf, size_t len, int flags)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_send(sqe, fd, buf, len, flags | MSG_NOSIGNAL);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_recv(crow_loop_t *loop, crow_op_t *op, int fd, void *buf, size_t len, int flags)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_recv(sqe, fd, buf, len, flags);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_sendmsg(crow_loop_t *loop, crow_op_t *op, int fd, const struct msghdr *msg, int flags)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_sendmsg(sqe, fd, msg, (unsigned)(flags | MSG_NOSIGNAL));
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_sendmsg_zc(crow_loop_t *loop, crow_op_t *op, int fd, const struct msghdr *msg, int flags)
{
    if (!loop->features.send_zc)
        return -EOPNOTSUPP;
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_sendmsg_zc(sqe, fd, msg, (unsigned)(flags | MSG_NOSIGNAL));
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_recvmsg(crow_loop_t *loop, crow_op_t *op, int fd, struct msghdr *msg, int flags)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_recvmsg(sqe, fd, msg, (unsigned)flags);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_accept(crow_loop_t *loop, crow_op_t *op, int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_accept(sqe, fd, addr, addrlen, SOCK_CLOEXEC | SOCK_NONBLOCK);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_connect(crow_loop_t *loop, crow_op_t *op, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_connect(sqe, fd, addr, addrlen);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_timeout(crow_loop_t *loop, crow_op_t *op, uint64_t ns)
{
    PREP_OR_FAIL(loop, sqe);
    op->ts.tv_sec = (int64_t)(ns / 1000000000ull);
    op->ts.tv_nsec = (long long)(ns % 1000000000ull);
    io_uring_prep_timeout(sqe, (struct __kernel_timespec *)&op->ts, 0, 0);
    crow_loop_arm(loop, op, sqe);
    return 0;
}

int crow_io_cancel(crow_loop_t *loop, crow_op_t *op)
{
    if (!op->pending)
        return 0;
    PREP_OR_FAIL(loop, sqe);
    io_uring_prep_cancel(sqe, op, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data(sqe, NULL);
    return 0;
}
