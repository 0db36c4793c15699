/* The tracker's state, sans I/O: swarms (one per info hash), their peers, rack chains, neighbour
 * selection, expiry, and status/metrics text. The caller injects the clock (`now`, milliseconds on any
 * monotonic-enough clock; the registry only compares and subtracts times, and reports them in status).
 *
 * Peers. A peer is identified within a swarm by its address and port (like opentracker; a restarted
 * client on the same endpoint replaces its entry, peer id included). It is a seeder when its last
 * announce said left=0. Its rack is given by the caller (crow_racks_resolve), CROW_RACK_NONE included.
 *
 * Chains. The peers of one rack in one swarm, ordered by address then port, form the rack's chain;
 * a peer's position is its index in it (neighbour order and chain distance follow from positions).
 * Peers in no rack form one more chain of their own, under the same rules.
 *
 * Chain head. The head is the chain's oldest member: the one that joined it first. A peer joins a
 * chain at its first announce, or at an announce under another rack, and takes the next number of a
 * registry-wide count, so announces within the same millisecond are still ordered by arrival. The head
 * keeps that role until it leaves the chain (event=stopped, expiry, or a move to another rack); then the
 * next-oldest member is head, and is told so at its next announce. So a newcomer is never told head
 * while an older member is registered, and at most one registered member's last reply said head, also
 * when every host of a rack starts at the same instant (the first to announce is head, and stays).
 * Announcing again, completing, or restarting on the same endpoint keep a peer's seniority; a peer that
 * left and comes back is a newcomer. The head sits wherever its address puts it in the chain, and data
 * spreads from it both ways (i-1, i+1, ...). Positions stay in address order rather than join order so
 * that the same hosts form the same chain whatever order they announce in.
 *
 * A seeder (left=0) may be head like any member: moving the role when the head completes would leave
 * the rack without a head during the handover, and a complete head already has every piece the rack
 * could miss (the foreign seeders it is given are then simply unused). Nothing survives a restart of the
 * registry's owner: after the tracker restarts, the first peer to announce again becomes head, and a
 * previous head believes it is still head until its own next announce.
 *
 * Relays. In a rack the racks file marks relayed, the head is also the rack's relay ("relay" in its
 * answer): the role follows the head's, so a relay that stops or expires is replaced by the next oldest.
 *
 * Neighbours for an asking peer P at position i of its rack's chain, n = min(numwant, max_numwant,
 * caller's capacity):
 *   1. Chain neighbours in order i-1, i+1, i-2, i+2, ... (skipping ends), as many as fit.
 *   2. When P is the chain head (the one test that also sets the reply's head flag): seeders of other
 *      racks (or of no rack), oldest first (earliest first announce: the origin seeder before peers
 *      that completed later), k = min(their number, head_seeders, n) of them; the chain neighbours of
 *      step 1 are cut to n - k so these always fit, and they come last. Seeders in P's own rack are
 *      chain members and appear in chain order.
 *   3. Peers of other racks only when the rack cannot serve P, that is when all of these hold:
 *        - P is not a seeder;
 *        - the swarm has no seeder other than P (with one, the rack's head fetches from it, and data
 *          flows down the chain);
 *        - no other peer of P's chain has data, where a peer "has data" when its `left` is below the
 *          largest `left` among the swarm's peers (the tracker knows no release size).
 *      Then peers of other racks that have data follow the chain neighbours, in swarm order, up to n.
 * Every listed peer carries CROW_PEER_SEEDER and CROW_PEER_OTHER_RACK flags. Every reply counts the
 * swarm's incomplete peers whose last announce said mcast=lit and mcast=dark (crowcast "lit", "dark"),
 * and carries the OR of their need= maps ("need") when every one of them sent one, and the swarm's peers
 * whose last announce said sending=1 and streaming=1 ("sending", "streaming"). An
 * announce costs O(peers in the swarm): a binary search, one insertion (memmove; none when a known peer
 * announces again from its rack: it is rewritten in place), one scan for seeders and `left`, and one of
 * P's chain for its head.
 *
 * Memory is reserved once in crow_tracker_registry_new: max_swarms * max_peers_per_swarm peer slots (about
 * 200 bytes each, 128 of them a need map; calloc'd, so pages the kernel never hands out until used).
 * Nothing allocates afterwards; a new release when all swarms are taken, or a new peer in a full swarm, is
 * refused (CROW_ELIMIT).
 */
#ifndef CROWCAST_TRACKER_REGISTRY_H
#define CROWCAST_TRACKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/announce.h"
#include "crowcast/racks.h"

typedef struct crow_tracker_registry_config {
    uint32_t max_swarms;          /* default 64 */
    uint32_t max_peers_per_swarm; /* default 4096 */
    uint32_t interval;            /* seconds, told to peers; default 30 */
    uint32_t min_interval;        /* seconds; default 5 */
    uint64_t peer_timeout_ms;     /* a peer silent this long expires; default 3 * interval */
    uint32_t default_numwant;     /* when the peer sent none; default 50 */
    uint32_t head_seeders;        /* foreign seeders given to a chain head; default 2 */
    uint32_t max_numwant;         /* default 200 */
    /* A deliberate fault for the simulator's property check (`crowcast sim --fault two-heads`; the
     * tracker never sets it): seniority judged by the millisecond of the first announce, as the
     * registry once did, so peers of a rack whose first announces land in the same millisecond are
     * each told head. */
    bool fault_same_ms_heads;
} crow_tracker_registry_config_t;

typedef struct crow_tracker_registry crow_tracker_registry_t;

/* Creates a registry. cfg may be NULL (defaults; a zero field also means its default). racks is
 * borrowed: it must outlive the registry and not change (status and replies read rack names and
 * groups from it). Returns 0, -ENOMEM, or CROW_EUSAGE for an inconsistent configuration. */
int crow_tracker_registry_new(crow_tracker_registry_t **out, const crow_tracker_registry_config_t *cfg,
                              const crow_racks_t *racks);
void crow_tracker_registry_free(crow_tracker_registry_t *reg);

/* The effective configuration (defaults filled in). */
const crow_tracker_registry_config_t *crow_tracker_registry_config(const crow_tracker_registry_t *reg);

/* Records an announce from addr (host order; the caller decides whether to believe req->ip) in rack
 * `rack` and fills *resp: counts, intervals, the crowcast dictionary and the neighbours (written to
 * peers[0..cap), resp->peers points there). event=stopped removes the peer and lists nobody.
 * Returns 0, or CROW_ELIMIT with *failure set ("tracker full: too many releases" / "release full: too
 * many peers"), in which case nothing changed. */
int crow_tracker_registry_announce(crow_tracker_registry_t *reg, const crow_announce_req_t *req,
                                   uint32_t addr, uint32_t rack, uint64_t now, crow_announce_peer_t *peers,
                                   size_t cap, crow_announce_resp_t *resp, const char **failure);

/* Removes peers silent for peer_timeout_ms or longer, and swarms left empty. Returns how many peers. */
uint32_t crow_tracker_registry_expire(crow_tracker_registry_t *reg, uint64_t now);

/* When crow_tracker_registry_expire next has work: a lower bound (UINT64_MAX with no peers). Calling earlier
 * is harmless. */
uint64_t crow_tracker_registry_next_deadline(const crow_tracker_registry_t *reg);

/* Scrape: fills out[] for the given hashes (unknown ones are left out), or for every swarm when count
 * is 0, up to cap. Returns the number of entries written. */
size_t crow_tracker_registry_scrape(const crow_tracker_registry_t *reg,
                                    const uint8_t (*hashes)[CROW_INFO_HASH_LEN], size_t count,
                                    crow_scrape_entry_t *out, size_t cap);

/* Status as one JSON object into buf:
 *   {"now_ms":N,"releases":[{"info_hash":"<hex>","since_ms":T,"peers":N,"complete":N,"incomplete":N,
 *    "downloaded":N,"bytes_left":N,"racks":[{"rack":"NAME"|null,"group":"A.B.C.D:PORT"|null,"peers":N,
 *    "complete":N,"bytes_left":N,"since_ms":T,"head":"A.B.C.D:PORT",["relay":"A.B.C.D:PORT",] (a relayed
 * rack's) "chain":[{"peer":"A.B.C.D:PORT","left":N,"since_ms":T,"hook":N|null,"mcast":"lit"|"dark"|null},
 * ...]},
 *    ...]}, ...]}
 * A release's since_ms is when its swarm was created; a rack's is its oldest current peer's first
 * announce, a peer's its own first announce. "head" is the chain head defined above (the oldest member,
 * not necessarily the first of "chain"); "chain" lists the rack's peers in chain order; "hook" is the
 * last exit status of the peer's --on-complete command it announced (hook=N; kept across later
 * announces without it), null before any; "mcast" its last announce's mcast= report. The text grows with the
 * peers (about 90 bytes each). Returns the length (no NUL counted; one is written when it fits) or
 * CROW_ESPACE. */
long crow_tracker_registry_status_json(const crow_tracker_registry_t *reg, uint64_t now, char *buf,
                                       size_t cap);

/* Metrics in the Prometheus text exposition format (version 0.0.4) into buf: gauges per release and
 * rack (crowcast_tracker_peers, _complete, _bytes_left), crowcast_tracker_swarms, and counters
 * (crowcast_tracker_announces_total, _rejected_total, _expired_total, _downloaded_total per release).
 * Returns the length or CROW_ESPACE. */
long crow_tracker_registry_metrics(const crow_tracker_registry_t *reg, char *buf, size_t cap);

#endif
