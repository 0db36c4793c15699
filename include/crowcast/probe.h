/* `crowcast probe`: synthetic multicast sessions that step the send rate up, sans I/O.
 *
 * Probe traffic is ordinary crowcast datagrams (datagram.h) of a synthetic release that exists only
 * in memory: no manifest file, no disk, payload bytes all zero. Each step of a run is its own
 * one-pass session whose id (the first 8 bytes of its release id) reads
 *
 *   bytes 0..3  "PROB" (CROW_PROBE_MAGIC)    bytes 4..5  run number    bytes 6..7  step number
 *
 * and the rest of the release id is zero. A `crowcast get` compares session ids with its own
 * release, so it counts probe datagrams as foreign and ignores them; `crow_probe_session_parse`
 * recognises them. The step's BEACON carries the geometry (length, piece length of
 * CROW_PROBE_PIECE_LENGTH, chunk size) and the step's rate, so a receiver rebuilds the synthetic
 * release from the BEACON alone and accounts for DATA with the ordinary receiver engine
 * (mcast_receiver.h): a chunk that never arrived is a datagram lost.
 *
 * Receiver bookkeeping (crow_probe_rx): a step ends with its final END, with the first datagram of a
 * later step, or after a silence; the step's report (probe_report.h) is then ready for the tracker.
 * Verdict (crow_probe_verdict): per rack, the highest rate every host of the rack received with
 * loss at or below a threshold, and where loss beyond it happens: on every host of the rack at once
 * (the rack's uplink or switch) or on single hosts.
 */
#ifndef CROWCAST_PROBE_H
#define CROWCAST_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/datagram.h"
#include "crowcast/manifest.h"
#include "crowcast/mcast_receiver.h"
#include "crowcast/probe_report.h"

#define CROW_PROBE_MAGIC          0x50524F42u /* "PROB" */
#define CROW_PROBE_PIECE_LENGTH   (1u << 20)
#define CROW_PROBE_MAX_STEP_BYTES (16ull << 30) /* a receiver refuses BEACONs of larger steps */
#define CROW_PROBE_MAX_HOSTS      256u
#define CROW_PROBE_MAX_RACKS      64u

/* ---- sessions and synthetic releases ---- */

uint64_t crow_probe_session(uint16_t run, uint16_t step);
/* True (and *run, *step set, either may be NULL) when session is a probe session. */
bool crow_probe_session_parse(uint64_t session, uint16_t *run, uint16_t *step);

/* Fills *m with the synthetic release of (run, step): `bytes` bytes (1..CROW_PROBE_MAX_STEP_BYTES)
 * in chunks of chunk_size (CROW_MIN_CHUNK_SIZE..CROW_MAX_CHUNK_SIZE). *m owns nothing (no name, no
 * files, no hashes): crow_manifest_dispose on it is harmless. Returns 0 or CROW_EUSAGE. */
int crow_probe_manifest(crow_manifest_t *m, uint16_t run, uint16_t step, uint64_t bytes, uint32_t chunk_size);
/* Rebuilds the synthetic release a BEACON announces. Returns 0, CROW_ESESSION when it is not a
 * probe session, or CROW_EPROTO when its geometry is not one crow_probe_manifest makes. */
int crow_probe_manifest_from_beacon(crow_manifest_t *m, const crow_dgram_beacon_t *b);

/* Payload bytes a step must carry to last `seconds` at rate_bps (IP level), with chunk_size bytes
 * of payload and CROW_DGRAM_HEADER_LEN + overhead_bytes more per datagram; at least one chunk. */
uint64_t crow_probe_step_bytes(uint64_t rate_bps, double seconds, uint32_t chunk_size,
                               uint32_t overhead_bytes);

/* The rates of a run: from, from*factor, from*factor^2 ... while below `to`, then `to`
 * (factor > 1; from <= to). Writes at most max; returns how many. */
size_t crow_probe_ladder(uint64_t from, uint64_t to, double factor, uint64_t *out, size_t max);

/* ---- receiver bookkeeping ---- */

typedef struct crow_probe_rx_stats {
    uint64_t datagrams, malformed, foreign, refused, stale;
    uint64_t steps; /* steps reported */
} crow_probe_rx_stats_t;

/* Caller-allocated; fields other than `stats` are private. */
typedef struct crow_probe_rx {
    bool active; /* a step is being received */
    uint16_t run, step;
    crow_manifest_t m;
    crow_mcast_receiver_t r;
    uint64_t rate_bps, first_ns, last_ns, payload;
    uint64_t early_session, early; /* DATA of a step whose BEACON has not arrived (yet) */
    bool have_done;                /* a step was reported: (done_run, done_step) and older are stale */
    uint16_t done_run, done_step;
    crow_probe_rx_stats_t stats;
} crow_probe_rx_t;

void crow_probe_rx_init(crow_probe_rx_t *rx);
void crow_probe_rx_dispose(crow_probe_rx_t *rx);

/* Accounts for one datagram buf[0..len) from `source` at now_ns. Returns 1 when a step ended
 * (its final END arrived, or this datagram starts a later step): *done holds its report with
 * kernel_drops 0 (the caller knows the socket's); 0 when nothing ended; -ENOMEM. */
int crow_probe_rx_on_datagram(crow_probe_rx_t *rx, uint64_t source, const uint8_t *buf, size_t len,
                              uint64_t now_ns, crow_probe_report_t *done);
/* Ends the step under way if nothing arrived for silence_ns. Returns 1 with *done filled, or 0. */
int crow_probe_rx_poll(crow_probe_rx_t *rx, uint64_t now_ns, uint64_t silence_ns, crow_probe_report_t *done);

/* ---- verdict ---- */

/* What the sender learnt about one step and one host. */
typedef struct crow_probe_cell {
    bool reported;
    uint64_t received, payload_bytes, usec, kernel_drops;
} crow_probe_cell_t;

typedef struct crow_probe_step {
    uint64_t rate_bps;     /* asked for */
    uint64_t achieved_bps; /* what the sender managed (IP level); the verdict uses this */
    uint64_t sent;         /* DATA datagrams per group */
    uint32_t wire_bytes;   /* IP-level bytes of one DATA datagram */
} crow_probe_step_t;

typedef struct crow_probe_host {
    uint32_t addr;
    uint32_t rack; /* index into the racks of the table */
} crow_probe_host_t;

/* Everything a run measured. Caller-allocated (about 1 MiB: heap). */
typedef struct crow_probe_table {
    uint32_t loss_ppm; /* threshold: a host passes a step when its loss is at most this */
    uint32_t nracks, nhosts, nsteps;
    char racks[CROW_PROBE_MAX_RACKS][CROW_RACK_NAME_MAX + 1];
    crow_probe_host_t hosts[CROW_PROBE_MAX_HOSTS];
    crow_probe_step_t steps[CROW_PROBE_MAX_STEPS];
    crow_probe_cell_t cells[CROW_PROBE_MAX_HOSTS][CROW_PROBE_MAX_STEPS];
} crow_probe_table_t;

/* Loss of host h in step s in parts per million: 1e6 without a report. */
uint32_t crow_probe_verdict_loss_ppm(const crow_probe_table_t *t, uint32_t h, uint32_t s);

enum crow_probe_where {
    CROW_PROBE_CLEAN = 0, /* no host of the rack lost more than the threshold */
    CROW_PROBE_RACK,      /* every host of the rack (two or more) at once: uplink or rack switch */
    CROW_PROBE_HOST,      /* some hosts only (or a rack of one host) */
};

typedef struct crow_probe_rack_verdict {
    uint32_t hosts;
    uint64_t limit_bps;  /* highest achieved rate of a step below the first failing one; 0: none passed */
    int32_t fail_step;   /* first step of two failing in a row (or a failing last step); -1: none */
    uint64_t fail_bps;   /* its achieved rate */
    int where;           /* enum crow_probe_where, judged at fail_step */
    uint32_t hosts_over; /* hosts above the threshold at fail_step */
    uint32_t worst_host; /* index of the host with the most loss at fail_step */
    uint32_t worst_loss_ppm;
    uint64_t delivered_bps; /* at fail_step: median over the rack's hosts of the IP-level rate that
                               reached them (datagrams received x wire bytes / receive span) */
    uint64_t kernel_drops;  /* at fail_step, over the rack's hosts */
    uint32_t flukes;        /* single failing steps followed by a passing one, below fail_step */
} crow_probe_rack_verdict_t;

/* Judges rack r over the steps measured so far. */
void crow_probe_verdict(const crow_probe_table_t *t, uint32_t r, crow_probe_rack_verdict_t *out);
/* True when every rack with hosts has a fail_step: stepping further teaches nothing. */
bool crow_probe_verdict_all_failed(const crow_probe_table_t *t);

#endif
