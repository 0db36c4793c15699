/* Staged rollouts in the simulator (crowcast sim --rollout): the real rollout coordinator
 * (crowcast/rollout.h, its plan parser and its records) driven by simulated agents in racks.
 *
 * Agents register (a HOST record each), the operator starts a rollout of a plan, and then every
 * record the coordinator decides (crow_rollout_next) is applied at once (the journal's sync is not
 * simulated). An agent holds a long poll; an ORDER record for it answers the poll a half round trip
 * later (the tracker answers the moment an order appears), and the agent carries the order out:
 * a download takes download_ns, an activation activate_ns, its health check health_ns; each step is
 * reported (a REPORT record through crow_rollout_check and _apply, a half round trip later), and the
 * agent polls again. Hosts of the sick rack fail their health check. The wall time the coordinator
 * spends per poll (crow_rollout_order_for) and per decision (crow_rollout_next) is measured, and the
 * work it counts (crow_rollout_work), to see how the tracker's work grows with the hosts. */
#ifndef CROWCAST_SIM_ROLLOUT_H
#define CROWCAST_SIM_ROLLOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sim_rollout_config {
    uint32_t racks, hosts_per_rack;
    const char *plan;   /* plan text (crowcast/rollout_plan.h) */
    uint32_t sick_rack; /* its hosts fail their health check (UINT32_MAX: none) */
    uint64_t download_ns, activate_ns, health_ns, rtt_ns;
    uint64_t limit_ns;
    uint64_t seed;
} sim_rollout_config_t;

typedef struct sim_rollout_result {
    char state[32];       /* the rollout's state at the end */
    char reason[160];     /* why it ended */
    uint32_t registered;  /* hosts the coordinator took */
    uint32_t refused;     /* registrations it refused (its host table is full) */
    uint64_t activations; /* activations ordered */
    uint32_t healthy, failed;
    uint64_t polls, reports, records;
    double poll_ns, next_ns;     /* wall time per poll and per crow_rollout_next call */
    double poll_work, next_work; /* crow_rollout_work per poll and per crow_rollout_next call */
    double sim_s;
    uint64_t events, hash;
} sim_rollout_result_t;

/* The default plan for `racks` racks: canary r0, then waves of 10 % of the others, the rest last;
 * every wave healthy=90% failures=5. */
void sim_rollout_default_plan(char *buf, size_t cap, uint32_t racks);
/* Runs one rollout; `status` (may be NULL) gets the coordinator's text status at the end. Returns 0
 * or a negative code (a plan that does not parse, out of memory). */
int sim_rollout_run(const sim_rollout_config_t *c, sim_rollout_result_t *r, FILE *status);

#endif
