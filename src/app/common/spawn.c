/* Child processes: posix_spawn for the demo, hooks and benchmarks; fork for children tied to our life. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

extern char **environ;

int crow_spawn(struct crow_child *c, char *const argv[], const char *log_path, bool capture)
{
    int pipefd[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    *c = (struct crow_child){.out_fd = -1};
    if (capture && pipe2(pipefd, O_CLOEXEC))
        return -errno;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigemptyset(&all);
    sigaddset(&all, SIGINT);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (log_path)
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (capture)
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    else
        posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    int ret = posix_spawn(&c->pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (capture)
        close(pipefd[1]);
    if (ret) {
        c->pid = 0;
        if (capture)
            close(pipefd[0]);
        return -ret;
    }
    c->out_fd = capture ? pipefd[0] : -1;
    return 0;
}

int crow_spawn_tied(struct crow_child *c, char *const argv[])
{
    int pipefd[2];
    *c = (struct crow_child){.out_fd = -1};
    if (pipe2(pipefd, O_CLOEXEC))
        return -errno;
    pid_t parent = getpid();
    /* fork, not posix_spawn: the death signal must be set in the child before it execs. */
    pid_t pid = fork();
    if (pid < 0) {
        int ret = -errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return ret;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent || devnull < 0 ||
            dup2(devnull, STDIN_FILENO) < 0 || dup2(pipefd[1], STDOUT_FILENO) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pipefd[1]);
    c->pid = pid;
    c->out_fd = pipefd[0];
    return 0;
}

bool crow_child_poll(struct crow_child *c)
{
    if (c->exited || c->pid <= 0)
        return true;
    if (waitpid(c->pid, &c->status, WNOHANG) == c->pid)
        c->exited = true;
    return c->exited;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int crow_child_wait(struct crow_child *c, double seconds)
{
    for (long waited = 0; !crow_child_poll(c); waited += 20) {
        if (waited >= (long)(seconds * 1000)) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &c->status, 0);
            c->exited = true;
            break;
        }
        sleep_ms(20);
    }
    return crow_child_code(c);
}

void crow_child_stop(struct crow_child *c, double grace)
{
    if (c->pid <= 0 || crow_child_poll(c))
        return;
    kill(c->pid, SIGTERM);
    crow_child_wait(c, grace);
}

int crow_child_code(const struct crow_child *c)
{
    if (!c->exited)
        return -1;
    if (WIFEXITED(c->status))
        return WEXITSTATUS(c->status);
    return 128 + (WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0);
}
