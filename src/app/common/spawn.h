/* Child processes of the demo, the agent and the benchmarks: started with posix_spawn, ended by PID only. */
#ifndef CROWCAST_APP_SPAWN_H
#define CROWCAST_APP_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct crow_child {
    pid_t pid;  /* 0 when not running */
    int out_fd; /* read end of its stdout when captured, else -1 */
    int status; /* wait status once exited */
    bool exited;
};

/* Starts argv[0] (a path) with stdout captured into a pipe (capture) or sent where stderr goes,
 * and stderr appended to log_path (NULL: our own stderr). The child gets an empty signal mask and
 * default dispositions. Returns 0 or -errno. */
int crow_spawn(struct crow_child *c, char *const argv[], const char *log_path, bool capture);
/* Like crow_spawn with stdout captured and stderr shared, but the child is killed (SIGKILL) when
 * this process dies, however it dies (PR_SET_PDEATHSIG): a download must not outlive the agent that
 * started it and race the restarted agent over the same staging area. Returns 0 or -errno. */
int crow_spawn_tied(struct crow_child *c, char *const argv[]);
/* Collects the child's exit without waiting. Returns true once it exited. */
bool crow_child_poll(struct crow_child *c);
/* Waits for the child to exit (at most `seconds`; SIGKILL after). Returns its exit code, or 128 +
 * signal number. */
int crow_child_wait(struct crow_child *c, double seconds);
/* SIGTERM, up to `grace` seconds, then SIGKILL; reaps it. */
void crow_child_stop(struct crow_child *c, double grace);
/* Exit code of an exited child (128 + signal when killed). */
int crow_child_code(const struct crow_child *c);

#endif
