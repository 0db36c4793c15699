/* The simulator's discrete event scheduler: a simulated nanosecond clock and a binary min-heap of
 * timed events. Events at the same time come out in the order they were scheduled (a sequence
 * number breaks ties), so a run is a pure function of its inputs. Every event popped is folded into
 * the event log hash (FNV-1a 64 over its time, kind, object and argument): two runs with the same
 * seed have the same log, byte for byte, and the same hash. With a log file every event is also
 * written there as one text line.
 *
 * Events carry no pointers: `obj` names the object (a host, a link, a connection) by index and `arg`
 * a value (a packet slot, a byte count), so the log means the same across runs. */
#ifndef CROWCAST_SIM_SCHED_H
#define CROWCAST_SIM_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sim_event {
    uint64_t t;   /* simulated ns */
    uint64_t seq; /* scheduling order: ties at equal t */
    uint32_t kind, obj;
    uint64_t arg;
} sim_event_t;

typedef struct sim_sched {
    sim_event_t *heap;
    size_t n, cap;
    uint64_t now;      /* the time of the event being handled (never decreases) */
    uint64_t next_seq; /* events scheduled so far */
    uint64_t popped;   /* events handled so far */
    uint64_t hash;     /* FNV-1a 64 of the log so far */
    FILE *log;         /* borrowed; NULL: hash only */
} sim_sched_t;

/* An empty scheduler at time 0. Returns 0 or -ENOMEM. */
int sim_sched_init(sim_sched_t *s);
void sim_sched_dispose(sim_sched_t *s);

/* Schedules an event at t (a t in the past runs now). Returns 0 or -ENOMEM. */
int sim_sched_at(sim_sched_t *s, uint64_t t, uint32_t kind, uint32_t obj, uint64_t arg);
/* Takes the earliest event: the clock moves to its time, the log records it. Returns false when no
 * event is left. */
bool sim_sched_pop(sim_sched_t *s, sim_event_t *out);
/* The time of the earliest event, UINT64_MAX when none. */
uint64_t sim_sched_peek(const sim_sched_t *s);

#endif
