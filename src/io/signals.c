/* Signals as loop completions, through a signalfd read by io_uring. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "crowcast/loop.h"

struct crow_signals {
    crow_op_t op;
    int fd;
    bool closing;
    struct signalfd_siginfo info;
    void (*fn)(void *ctx, int signo);
    void *ctx;
    crow_loop_t *loop;
};

static void on_signal(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    crow_signals_t *s = op->owner;
    if (s->closing) {
        close(s->fd);
        free(s);
        return;
    }
    if (res == (int)sizeof s->info)
        s->fn(s->ctx, (int)s->info.ssi_signo);
    if (!s->closing && (res > 0 || res == -EINTR || res == -EAGAIN))
        crow_io_read(s->loop, &s->op, s->fd, &s->info, sizeof s->info, 0);
    else if (s->closing && !crow_op_pending(&s->op)) {
        close(s->fd);
        free(s);
    }
}

int crow_signals_watch(crow_loop_t *loop, crow_signals_t **out, const int *signals, unsigned count,
                       void (*fn)(void *ctx, int signo), void *ctx)
{
    sigset_t set;
    sigemptyset(&set);
    for (unsigned i = 0; i < count; i++)
        sigaddset(&set, signals[i]);
    crow_signals_t *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    int ret = -errno;
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 || (s->fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
        ret = -errno;
        free(s);
        return ret;
    }
    s->fn = fn;
    s->ctx = ctx;
    s->loop = loop;
    crow_op_init(&s->op, on_signal, s);
    ret = crow_io_read(loop, &s->op, s->fd, &s->info, sizeof s->info, 0);
    if (ret) {
        close(s->fd);
        free(s);
        return ret;
    }
    *out = s;
    return 0;
}

void crow_signals_close(crow_loop_t *loop, crow_signals_t *s)
{
    if (!s)
        return;
    s->closing = true;
    crow_io_cancel(loop, &s->op);
}
