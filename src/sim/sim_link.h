/* Simulated links and loss. A link serialises packets at its rate behind the ones queued before
 * (FIFO), holds at most `queue_bytes` waiting, and delivers each `delay_ns` after its last bit left.
 * It is computed, not evented: offering a packet at time t says when it arrives (or that it was
 * dropped because the queue was full), so a link costs no event of its own. Packets must be offered
 * in time order for the queue to be exact.
 *
 * Loss models decide per packet, from the simulation's generator: independent (probability p), or
 * bursty Gilbert-Elliott (a good and a bad state, moving good->bad with p_gb and bad->good with p_bg
 * per packet, losing loss_good / loss_bad in each). Where a loss sits decides who misses what: on a
 * host's downlink only that host, on a rack's downlink from the fabric the whole rack (the same
 * datagrams). A host whose receive buffer overflows is a downlink slower than the traffic into it,
 * with a small queue: it drops what the queue cannot hold. */
#ifndef CROWCAST_SIM_LINK_H
#define CROWCAST_SIM_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_rng.h"

#define SIM_DROPPED UINT64_MAX

enum sim_loss_kind {
    SIM_LOSS_NONE,
    SIM_LOSS_RANDOM,
    SIM_LOSS_GE,
};

typedef struct sim_loss {
    enum sim_loss_kind kind;
    double p;                   /* RANDOM */
    double p_gb, p_bg;          /* GE: state changes per packet */
    double loss_good, loss_bad; /* GE: loss in each state */
    bool bad;                   /* GE: the current state */
    uint64_t dropped;
} sim_loss_t;

typedef struct sim_link {
    uint64_t rate_bps;    /* > 0 */
    uint64_t delay_ns;    /* propagation and switching */
    uint64_t queue_bytes; /* bytes that may wait; droppable packets beyond it are dropped */
    uint64_t free_at;     /* when the last packet offered has left */
    uint64_t sent_bytes, sent_packets, dropped_packets;
    sim_loss_t loss;
} sim_link_t;

void sim_link_init(sim_link_t *l, uint64_t rate_bps, uint64_t delay_ns, uint64_t queue_bytes);
/* Nanoseconds to put `bytes` on the link. */
uint64_t sim_link_serialise_ns(const sim_link_t *l, uint64_t bytes);
/* Offers a packet of `bytes` at time now. Returns its arrival time at the far end, or SIM_DROPPED
 * when `droppable` and the queue is full or the link's loss model drops it. A packet that may not
 * be dropped (TCP: the simulator does not model retransmission) always queues and is never lost. */
uint64_t sim_link_offer(sim_link_t *l, uint64_t now, uint64_t bytes, bool droppable, sim_rng_t *rng);
/* Whether the loss model drops the next packet. */
bool sim_loss_drop(sim_loss_t *m, sim_rng_t *rng);

#endif
