/* The two ends of `crowcast probe` (probe.h): a receiver that joins its rack's group as the tracker
 * assigns and reports every step to the tracker, and a sender that steps the rate up over every
 * rack's group, collects the reports from the tracker and prints, per rack, the highest rate taken
 * with loss under a threshold and where loss beyond it happens. */
#ifndef CROWCAST_PROBE_RUN_H
#define CROWCAST_PROBE_RUN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct crow_probe_recv_config {
    const char *tracker;  /* http://A.B.C.D:PORT */
    struct in_addr iface; /* joins the group here; talks to the tracker from here */
    const char *rack;     /* rack to ask for (only a racks file that trusts announced racks honours it) */
    double silence;       /* seconds without a datagram of the step under way that end it */
    double idle;    /* exit after this many seconds without probe traffic, once a step was seen; 0: never */
    double timeout; /* exit after this many seconds in all; 0: never */
    bool json;      /* one JSON line per step on stdout */
};

/* Runs until idle/timeout or SIGINT/SIGTERM. Returns 0, 2 (bad usage), 3 (network: no tracker, no
 * rack, cannot join). */
int crow_probe_recv_run(const struct crow_probe_recv_config *cfg);

struct crow_probe_send_config {
    const char *tracker;
    struct in_addr iface; /* multicast source interface and tracker client address */
    int ttl;
    bool mcast_loop;
    uint64_t from_bps, to_bps; /* the rate ladder, IP level, per group */
    double factor;             /* > 1 */
    double step_time;          /* seconds of traffic per step */
    double report_wait;        /* seconds to wait for the reports of a step */
    uint32_t loss_ppm;         /* loss threshold */
    unsigned receivers;        /* start once this many receivers joined; 0: those joined after join_wait */
    double join_wait;          /* seconds */
    uint32_t chunk_size;       /* payload bytes per datagram */
    bool json;                 /* the result as one JSON object instead of tables */
};

/* Returns 0 (a verdict printed), 1 (no receiver, or no report at all), 2 (bad usage), 3 (network). */
int crow_probe_send_run(const struct crow_probe_send_config *cfg);

#endif
