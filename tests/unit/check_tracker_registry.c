/* tracker_registry: rack chains and linear neighbours (3 racks of 8 peers), the head (the oldest member,
 * one per rack in every announce order of a simultaneous start, handed on when it stops or expires) and
 * the seeders it is given, cross-rack fallback only without a source, expiry under a fake clock, bounds,
 * stats, status, metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/tracker_registry.h"
#include "check_main.h"

#define RACKS    3
#define PER_RACK 8
#define SEEDER   0x7f000901u /* 127.0.9.1, in no rack */
#define SIZE     1000000u

static const char racks_text[] = "rack r0 127.0.1.0/24 239.9.0.1:7000\n"
                                 "rack r1 127.0.2.0/24 239.9.0.2:7000\n"
                                 "rack r2 127.0.3.0/24 239.9.0.2:7000\n"
                                 "trust-announced-rack yes\n";

static crow_racks_t racks;
static crow_tracker_registry_t *reg;
static const uint8_t hash_a[20] = "AAAAAAAAAAAAAAAAAAAA";

static void setup(void)
{
    ck_assert_int_eq(crow_racks_parse(&racks, racks_text, strlen(racks_text), NULL), 0);
    crow_tracker_registry_config_t cfg = {.interval = 30, .peer_timeout_ms = 90000};
    ck_assert_int_eq(crow_tracker_registry_new(&reg, &cfg, &racks), 0);
}

static void teardown(void)
{
    crow_tracker_registry_free(reg);
}

/* Peer j of rack r: 127.0.(r+1).(10+j), port 6881; its address order is its chain order. */
static uint32_t peer_addr(int r, int j)
{
    return 0x7f000000u | (uint32_t)(r + 1) << 8 | (uint32_t)(10 + j);
}

static crow_announce_req_t make_req(const uint8_t *hash, uint32_t addr, uint64_t left, int numwant)
{
    crow_announce_req_t req;
    memset(&req, 0, sizeof(req));
    memcpy(req.info_hash, hash, 20);
    memset(req.peer_id, 'p', 20);
    memcpy(req.peer_id, &addr, sizeof(addr));
    req.port = 6881;
    req.left = left;
    req.numwant = numwant;
    req.compact = true;
    return req;
}

static crow_announce_peer_t list[256];
static crow_announce_resp_t resp;
static int head_of[RACKS]; /* after populate(): index of each rack's first announcer, its chain head */

static int announce_at(uint32_t addr, uint64_t left, int numwant, enum crow_announce_event ev, uint64_t now)
{
    crow_announce_req_t req = make_req(hash_a, addr, left, numwant);
    const char *failure = NULL;
    uint32_t rack = crow_racks_lookup(&racks, addr);
    req.event = ev;
    return crow_tracker_registry_announce(reg, &req, addr, rack, now, list, 256, &resp, &failure);
}

static void announce_ok(uint32_t addr, uint64_t left, int numwant)
{
    ck_assert_int_eq(announce_at(addr, left, numwant, CROW_EVENT_NONE, 1000), 0);
}

/* The seeder and 24 fresh peers, announced in a scrambled order (the first of rack r is peer
 * head_of[r]: 3, 2 and 1). */
static void populate(bool with_seeder)
{
    if (with_seeder)
        announce_ok(SEEDER, 0, 50);
    for (int r = 0; r < RACKS; r++)
        head_of[r] = -1;
    for (int k = 0; k < RACKS * PER_RACK; k++) {
        int idx = (k * 7 + 3) % (RACKS * PER_RACK);
        announce_ok(peer_addr(idx / PER_RACK, idx % PER_RACK), SIZE, 50);
        if (head_of[idx / PER_RACK] < 0)
            head_of[idx / PER_RACK] = idx % PER_RACK;
    }
}

/* Chain neighbours of position j in a chain of n, in the order i-1, i+1, i-2, i+2 ... */
static int expected_chain(int j, int n, int want, int *out)
{
    int count = 0;
    for (int d = 1; count < want && (j - d >= 0 || j + d < n); d++) {
        if (j - d >= 0)
            out[count++] = j - d;
        if (count < want && j + d < n)
            out[count++] = j + d;
    }
    return count;
}

START_TEST(test_each_peer_gets_its_chain_neighbours)
{
    populate(true);
    for (int r = 0; r < RACKS; r++) {
        for (int j = 0; j < PER_RACK; j++) {
            announce_ok(peer_addr(r, j), SIZE, 50);
            int want[PER_RACK];
            int n = expected_chain(j, PER_RACK, 50, want);
            bool head = j == head_of[r];
            ck_assert_uint_eq(resp.crowcast.position, (uint32_t)j);
            ck_assert_int_eq(resp.crowcast.head, head);
            ck_assert_str_eq(resp.crowcast.rack, racks.racks[r].name);
            ck_assert_uint_eq(resp.crowcast.group, racks.racks[r].group);
            ck_assert_uint_eq(resp.crowcast.port, 7000);
            ck_assert_uint_eq(resp.peer_count, (size_t)n + head);
            for (int i = 0; i < n; i++) {
                ck_assert_msg(list[i].addr == peer_addr(r, want[i]), "rack %d peer %d: item %d", r, j, i);
                ck_assert_uint_eq(list[i].flags, 0);
            }
            if (head) {
                ck_assert_uint_eq(list[n].addr, SEEDER);
                ck_assert_uint_eq(list[n].flags, CROW_PEER_SEEDER | CROW_PEER_OTHER_RACK);
            }
            ck_assert_uint_eq(resp.complete, 1);
            ck_assert_uint_eq(resp.incomplete, RACKS * PER_RACK);
        }
    }
}
END_TEST

START_TEST(test_numwant_cuts_the_chain_but_keeps_the_seeder)
{
    populate(true);
    announce_ok(peer_addr(1, 4), SIZE, 3);
    ck_assert_uint_eq(resp.peer_count, 3);
    ck_assert_uint_eq(list[0].addr, peer_addr(1, 3));
    ck_assert_uint_eq(list[1].addr, peer_addr(1, 5));
    ck_assert_uint_eq(list[2].addr, peer_addr(1, 2));
    ck_assert_int_eq(head_of[2], 1);
    announce_ok(peer_addr(2, 1), SIZE, 3);
    ck_assert_uint_eq(resp.peer_count, 3);
    ck_assert_uint_eq(list[0].addr, peer_addr(2, 0));
    ck_assert_uint_eq(list[1].addr, peer_addr(2, 2));
    ck_assert_uint_eq(list[2].addr, SEEDER);
    announce_ok(peer_addr(2, 1), SIZE, 1);
    ck_assert_uint_eq(resp.peer_count, 1);
    ck_assert_uint_eq(list[0].addr, SEEDER);
    announce_ok(peer_addr(2, 7), SIZE, 0);
    ck_assert_uint_eq(resp.peer_count, 0);
    ck_assert_uint_eq(resp.crowcast.position, 7);
}
END_TEST

/* Without a seeder, a rack with data keeps to itself; a rack with none borrows from other racks. */
START_TEST(test_cross_rack_only_without_a_source)
{
    populate(false);
    announce_ok(peer_addr(0, 5), SIZE / 2, 50); /* r0 has data */
    for (int r = 0; r < RACKS; r++) {
        for (int j = 0; j < PER_RACK; j++) {
            announce_ok(peer_addr(r, j), r == 0 && j == 5 ? SIZE / 2 : SIZE, 50);
            size_t foreign = 0;
            for (size_t i = 0; i < resp.peer_count; i++)
                if (list[i].flags & CROW_PEER_OTHER_RACK) {
                    foreign++;
                    ck_assert_uint_eq(list[i].addr, peer_addr(0, 5));
                    ck_assert_uint_eq(i, PER_RACK - 1); /* after all chain neighbours */
                }
            /* r0's peers have a source in their rack; peer 5 itself has nobody with data to ask. */
            ck_assert_uint_eq(foreign, r == 0 ? 0 : 1);
        }
    }
    /* A seeder appears: the heads can reach it, so no rack borrows any more. */
    announce_ok(SEEDER, 0, 50);
    for (int r = 1; r < RACKS; r++) {
        for (int j = 0; j < PER_RACK; j++) {
            announce_ok(peer_addr(r, j), SIZE, 50);
            for (size_t i = 0; i < resp.peer_count; i++)
                ck_assert(!(list[i].flags & CROW_PEER_OTHER_RACK) ||
                          (j == head_of[r] && list[i].addr == SEEDER));
        }
    }
}
END_TEST

START_TEST(test_seeder_in_rack_is_a_chain_member)
{
    populate(false);
    announce_ok(peer_addr(1, 6), 0, 50);
    announce_ok(peer_addr(1, 0), SIZE, 50);
    /* The in-rack seeder is listed in chain order, not appended as a foreign seeder. */
    ck_assert_uint_eq(resp.peer_count, PER_RACK - 1);
    ck_assert_uint_eq(list[5].addr, peer_addr(1, 6));
    ck_assert_uint_eq(list[5].flags, CROW_PEER_SEEDER);
    /* Heads of other racks get it as their foreign seeder. */
    announce_ok(peer_addr(2, head_of[2]), SIZE, 50);
    ck_assert(resp.crowcast.head);
    ck_assert_uint_eq(list[resp.peer_count - 1].addr, peer_addr(1, 6));
    ck_assert_uint_eq(list[resp.peer_count - 1].flags, CROW_PEER_SEEDER | CROW_PEER_OTHER_RACK);
}
END_TEST

/* Once whole racks complete, a head still gets its chain and only the oldest foreign seeders. */
START_TEST(test_head_gets_oldest_seeders_only)
{
    ck_assert_int_eq(announce_at(SEEDER, 0, 50, CROW_EVENT_NONE, 10), 0);
    for (int j = 0; j < PER_RACK; j++) {
        ck_assert_int_eq(announce_at(peer_addr(0, j), 0, 50, CROW_EVENT_COMPLETED, 20 + (uint64_t)j), 0);
        ck_assert_int_eq(announce_at(peer_addr(2, j), 0, 50, CROW_EVENT_COMPLETED, 20 + (uint64_t)j), 0);
        ck_assert_int_eq(announce_at(peer_addr(1, j), SIZE, 50, CROW_EVENT_STARTED, 30), 0);
    }
    ck_assert_int_eq(announce_at(peer_addr(1, 0), SIZE, 50, CROW_EVENT_NONE, 40), 0);
    ck_assert_uint_eq(resp.peer_count, PER_RACK - 1 + 2);
    for (int i = 0; i < PER_RACK - 1; i++)
        ck_assert_uint_eq(list[i].addr, peer_addr(1, i + 1));
    ck_assert_uint_eq(list[PER_RACK - 1].addr, SEEDER);
    ck_assert_uint_eq(list[PER_RACK].addr, peer_addr(0, 0)); /* first_seen 20, before r2's peer 0 by order */
    ck_assert_uint_eq(resp.complete, 1 + 2 * PER_RACK);
}
END_TEST

/* A peer behind a head that brings nothing says lead=1: it is listed the seeder, as the head is,
 * without becoming the head (the reply's head flag and everyone else's view stay as they were). */
START_TEST(test_a_leading_peer_is_listed_the_seeder)
{
    ck_assert_int_eq(announce_at(SEEDER, 0, 50, CROW_EVENT_NONE, 10), 0);
    ck_assert_int_eq(announce_at(peer_addr(1, 0), SIZE, 50, CROW_EVENT_STARTED, 20), 0); /* the head */
    ck_assert_int_eq(announce_at(peer_addr(1, 1), SIZE, 50, CROW_EVENT_STARTED, 30), 0);
    bool seeder = false;
    for (size_t i = 0; i < resp.peer_count; i++)
        seeder |= list[i].addr == SEEDER;
    ck_assert(!seeder && !resp.crowcast.head);
    crow_announce_req_t req = make_req(hash_a, peer_addr(1, 1), SIZE, 50);
    req.lead = true;
    const char *failure = NULL;
    ck_assert_int_eq(crow_tracker_registry_announce(reg, &req, peer_addr(1, 1),
                                                    crow_racks_lookup(&racks, peer_addr(1, 1)), 40, list, 256,
                                                    &resp, &failure),
                     0);
    for (size_t i = 0; i < resp.peer_count; i++)
        seeder |= list[i].addr == SEEDER;
    ck_assert(seeder);
    ck_assert(!resp.crowcast.head);
    ck_assert_int_eq(announce_at(peer_addr(1, 0), SIZE, 50, CROW_EVENT_NONE, 50), 0);
    ck_assert(resp.crowcast.head); /* the head is still the head */
}
END_TEST

/* --- One head per rack: a simultaneous start in every announce order, then departures. ----------
 * Four hosts of r0 (127.0.1.10-13) start at the same instant and announce in one of the 24 orders,
 * after the unracked seeder. A model follows what each host was last told and who joined when; after
 * every announce: the reply's head flag is the model's oldest live host, at most one live host was
 * last told head, the head flag and the seeder in the list agree, positions are address order, and the
 * status names the same head. Then the head leaves (stopped, or silent until it expires), repeatedly:
 * the next-oldest is head from its next announce on, and a host that left and comes back is a newcomer.
 */
#define HOSTS 4

enum leave { LEAVE_NONE, LEAVE_STOPPED, LEAVE_EXPIRED, LEAVE_MODES };

struct rack_model {
    bool live[HOSTS], told_head[HOSTS], silent[HOSTS]; /* silent: registered, but skips rounds */
    uint64_t joined[HOSTS];                            /* order of joining the chain, 0 when not live */
    uint64_t joins;
};

static int model_oldest(const struct rack_model *m)
{
    int best = -1;
    for (int h = 0; h < HOSTS; h++)
        if (m->live[h] && (best < 0 || m->joined[h] < m->joined[best]))
            best = h;
    return best;
}

static void model_leave(struct rack_model *m, int h)
{
    m->live[h] = m->told_head[h] = m->silent[h] = false;
    m->joined[h] = 0;
}

static void check_rack(const struct rack_model *m, uint64_t now)
{
    int heads = 0;
    for (int h = 0; h < HOSTS; h++)
        heads += m->live[h] && m->told_head[h];
    ck_assert_int_le(heads, 1);
    static char text[4096];
    ck_assert_int_gt(crow_tracker_registry_status_json(reg, now, text, sizeof(text)), 0);
    int oldest = model_oldest(m);
    for (int h = 0; h < HOSTS; h++) {
        char needle[40];
        snprintf(needle, sizeof(needle), "\"head\":\"127.0.1.1%d:6881\"", h);
        ck_assert_msg((strstr(text, needle) != NULL) == (h == oldest), "status head: %s", text);
    }
}

static void rack_announce(struct rack_model *m, int h, enum crow_announce_event ev, uint64_t now)
{
    ck_assert_int_eq(announce_at(peer_addr(0, h), SIZE, 50, ev, now), 0);
    if (!m->live[h]) {
        m->live[h] = true;
        m->joined[h] = ++m->joins;
    }
    int oldest = model_oldest(m), below = 0;
    for (int k = 0; k < h; k++)
        below += m->live[k];
    ck_assert_msg(resp.crowcast.head == (h == oldest), "host %d told head=%d, oldest is %d", h,
                  resp.crowcast.head, oldest);
    ck_assert_uint_eq(resp.crowcast.position, (uint32_t)below);
    bool seeder_listed = false;
    for (size_t i = 0; i < resp.peer_count; i++)
        if (list[i].addr == SEEDER) {
            ck_assert_uint_eq(list[i].flags, CROW_PEER_SEEDER | CROW_PEER_OTHER_RACK);
            seeder_listed = true;
        }
    ck_assert_int_eq(seeder_listed, resp.crowcast.head);
    m->told_head[h] = resp.crowcast.head;
    check_rack(m, now);
}

/* Everyone live and not silent announces once, in the order `order` rotated by `shift`. */
static void rack_round(struct rack_model *m, const int *order, int shift, uint64_t now)
{
    for (int k = 0; k < HOSTS; k++) {
        int h = order[(k + shift) % HOSTS];
        if (m->live[h] && !m->silent[h])
            rack_announce(m, h, CROW_EVENT_NONE, now);
    }
}

/* The n-th permutation of 0..HOSTS-1 in lexicographic order. */
static void permutation(int n, int *out)
{
    int pool[HOSTS];
    for (int i = 0; i < HOSTS; i++)
        pool[i] = i;
    for (int i = 0, left = HOSTS; i < HOSTS; i++, left--) {
        int fact = 1;
        for (int k = 2; k < left; k++)
            fact *= k;
        int pick = n / fact;
        n %= fact;
        out[i] = pool[pick];
        memmove(&pool[pick], &pool[pick + 1], (size_t)(left - pick - 1) * sizeof(*pool));
    }
}

START_TEST(test_one_head_in_every_start_order)
{
    int order[HOSTS];
    permutation(_i / LEAVE_MODES, order);
    enum leave mode = (enum leave)(_i % LEAVE_MODES);
    struct rack_model m = {0};
    uint64_t now = 1000;
    ck_assert_int_eq(announce_at(SEEDER, 0, 50, CROW_EVENT_STARTED, now), 0);
    for (int k = 0; k < HOSTS; k++) /* the same instant: the join order is the arrival order */
        rack_announce(&m, order[k], CROW_EVENT_STARTED, now);
    for (int round = 1; round <= 2; round++) {
        now += 30000;
        ck_assert_int_eq(announce_at(SEEDER, 0, 50, CROW_EVENT_NONE, now), 0);
        rack_round(&m, order, round, now);
        ck_assert_int_eq(model_oldest(&m), order[0]);
        ck_assert(m.told_head[order[0]]);
    }
    if (mode == LEAVE_NONE)
        return;
    /* The head leaves, then the next one, until one host is left; each comes back as a newcomer. */
    for (int gone = 0; gone < HOSTS - 1; gone++) {
        int head = model_oldest(&m);
        ck_assert_int_eq(head, order[gone]);
        if (mode == LEAVE_STOPPED) {
            now += 1000;
            ck_assert_int_eq(announce_at(peer_addr(0, head), SIZE, 50, CROW_EVENT_STOPPED, now), 0);
            model_leave(&m, head);
        } else {
            /* Everyone but the head keeps announcing until its 90 s run out. */
            uint64_t silent_since = now;
            m.silent[head] = true;
            for (int round = 0; now + 30000 < silent_since + 90000; round++) {
                now += 30000;
                ck_assert_int_eq(announce_at(SEEDER, 0, 50, CROW_EVENT_NONE, now), 0);
                rack_round(&m, order, round, now);
                ck_assert(m.told_head[head] && crow_tracker_registry_expire(reg, now) == 0);
            }
            now = silent_since + 90000;
            ck_assert_uint_eq(crow_tracker_registry_expire(reg, now), 1);
            model_leave(&m, head);
        }
        check_rack(&m, now);
        /* The successor is told head at its own next announce, not before and nobody else. */
        for (int h = 0; h < HOSTS; h++)
            ck_assert(!m.told_head[h]);
        now += 1000;
        ck_assert_int_eq(announce_at(SEEDER, 0, 50, CROW_EVENT_NONE, now), 0);
        rack_round(&m, order, gone + 1, now);
        ck_assert(m.told_head[order[gone + 1]]);
        /* The host that left comes back: the newest member, never head while others are live. */
        rack_announce(&m, head, CROW_EVENT_STARTED, now);
        ck_assert(!m.told_head[head]);
    }
}
END_TEST

/* Moving to another rack is joining that chain: the mover is its newest member, even at position 0 and
 * with an older first announce, and its old chain hands the head on. */
START_TEST(test_rack_change_joins_as_newcomer)
{
    const char *failure = NULL;
    uint32_t r1;
    ck_assert_int_eq(crow_racks_resolve(&racks, peer_addr(0, 0), "r1", &r1), 0);
    ck_assert_int_eq(announce_at(SEEDER, 0, 50, CROW_EVENT_STARTED, 1), 0);
    ck_assert_int_eq(announce_at(peer_addr(0, 0), SIZE, 50, CROW_EVENT_STARTED, 1), 0);
    ck_assert(resp.crowcast.head);
    ck_assert_int_eq(announce_at(peer_addr(0, 1), SIZE, 50, CROW_EVENT_STARTED, 2), 0);
    ck_assert(!resp.crowcast.head);
    ck_assert_int_eq(announce_at(peer_addr(1, 5), SIZE, 50, CROW_EVENT_STARTED, 3), 0);
    ck_assert(resp.crowcast.head);
    crow_announce_req_t req = make_req(hash_a, peer_addr(0, 0), SIZE, 50);
    ck_assert_int_eq(
        crow_tracker_registry_announce(reg, &req, peer_addr(0, 0), r1, 4, list, 256, &resp, &failure), 0);
    ck_assert_str_eq(resp.crowcast.rack, "r1");
    ck_assert_uint_eq(resp.crowcast.position, 0); /* 127.0.1.10 sorts before 127.0.2.15 */
    ck_assert(!resp.crowcast.head);
    ck_assert_uint_eq(resp.peer_count, 1); /* its chain neighbour, no foreign seeder */
    ck_assert_uint_eq(list[0].addr, peer_addr(1, 5));
    ck_assert_int_eq(announce_at(peer_addr(1, 5), SIZE, 50, CROW_EVENT_NONE, 5), 0);
    ck_assert(resp.crowcast.head);
    ck_assert_uint_eq(resp.crowcast.position, 1);
    ck_assert_uint_eq(list[resp.peer_count - 1].addr, SEEDER);
    ck_assert_int_eq(announce_at(peer_addr(0, 1), SIZE, 50, CROW_EVENT_NONE, 6), 0);
    ck_assert(resp.crowcast.head);
    ck_assert_uint_eq(resp.peer_count, 1);
    ck_assert_uint_eq(list[0].addr, SEEDER);
}
END_TEST

/* A complete peer in the rack: a head that completes stays head, a rack's first announcer that is
 * already complete is head, and a seeder joining later is not. Announces go to .12, .10, .11 in turn
 * (all at one instant), then .12 completes, then .13 joins; rows give each host's `left`. */
static const struct {
    const char *what;
    uint64_t left[4]; /* hosts .10-.13 */
} seeder_rows[] = {
    {"all incomplete, the head completes", {SIZE, SIZE, SIZE, SIZE}},
    {"the first announcer is already complete", {SIZE, SIZE, 0, SIZE}},
    {"a complete newcomer joins", {SIZE, SIZE, SIZE, 0}},
    {"everyone complete", {0, 0, 0, 0}},
};

START_TEST(test_complete_peers_and_the_head)
{
    const uint64_t *left = seeder_rows[_i].left;
    ck_assert_int_eq(announce_at(SEEDER, 0, 50, CROW_EVENT_STARTED, 1), 0);
    static const int order[] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        int h = order[k];
        ck_assert_int_eq(announce_at(peer_addr(0, h), left[h], 50, CROW_EVENT_STARTED, 10), 0);
        ck_assert_msg(resp.crowcast.head == (h == 2), "%s: host %d", seeder_rows[_i].what, h);
    }
    ck_assert_int_eq(announce_at(peer_addr(0, 2), 0, 50, CROW_EVENT_COMPLETED, 20), 0);
    ck_assert_msg(resp.crowcast.head, "%s: the head lost its role on completion", seeder_rows[_i].what);
    ck_assert_uint_eq(list[resp.peer_count - 1].addr, SEEDER);
    ck_assert_int_eq(announce_at(peer_addr(0, 3), left[3], 50, CROW_EVENT_STARTED, 30), 0);
    ck_assert_msg(!resp.crowcast.head, "%s: the newcomer was told head", seeder_rows[_i].what);
    for (int h = 0; h < 4; h++) {
        ck_assert_int_eq(announce_at(peer_addr(0, h), h == 2 ? 0 : left[h], 50, CROW_EVENT_NONE, 40), 0);
        ck_assert_msg(resp.crowcast.head == (h == 2), "%s: host %d", seeder_rows[_i].what, h);
        bool seeder_listed = false;
        for (size_t i = 0; i < resp.peer_count; i++) {
            seeder_listed |= list[i].addr == SEEDER;
            if (list[i].addr == peer_addr(0, 2))
                ck_assert_uint_eq(list[i].flags, CROW_PEER_SEEDER); /* in-rack: a chain member */
        }
        ck_assert_int_eq(seeder_listed, h == 2);
    }
}
END_TEST

START_TEST(test_unracked_and_rack_change)
{
    crow_announce_req_t req = make_req(hash_a, 0x0a000001, SIZE, 50);
    const char *failure = NULL;
    ck_assert_int_eq(
        crow_tracker_registry_announce(reg, &req, 0x0a000001, CROW_RACK_NONE, 5, list, 256, &resp, &failure),
        0);
    ck_assert_str_eq(resp.crowcast.rack, "");
    ck_assert_uint_eq(resp.crowcast.group, 0);
    ck_assert(resp.crowcast.head);
    /* The same endpoint, now announcing a (trusted) rack: moved, not duplicated. */
    uint32_t rack;
    ck_assert_int_eq(crow_racks_resolve(&racks, 0x0a000001, "r1", &rack), 0);
    ck_assert_int_eq(
        crow_tracker_registry_announce(reg, &req, 0x0a000001, rack, 6, list, 256, &resp, &failure), 0);
    ck_assert_str_eq(resp.crowcast.rack, "r1");
    ck_assert_uint_eq(resp.incomplete, 1);
}
END_TEST

START_TEST(test_expiry_with_fake_clock)
{
    ck_assert_uint_eq(crow_tracker_registry_next_deadline(reg), UINT64_MAX);
    for (int j = 0; j < 4; j++)
        ck_assert_int_eq(announce_at(peer_addr(0, j), SIZE, 50, CROW_EVENT_STARTED, 0), 0);
    ck_assert_uint_eq(crow_tracker_registry_next_deadline(reg), 90000);
    ck_assert_int_eq(announce_at(peer_addr(0, 1), SIZE, 50, CROW_EVENT_NONE, 60000), 0);
    ck_assert_int_eq(announce_at(peer_addr(0, 3), 0, 50, CROW_EVENT_COMPLETED, 60000), 0);
    ck_assert_uint_eq(crow_tracker_registry_expire(reg, 89999), 0);
    ck_assert_uint_eq(crow_tracker_registry_expire(reg, 90000), 2);
    ck_assert_uint_eq(crow_tracker_registry_next_deadline(reg), 150000);
    ck_assert_int_eq(announce_at(peer_addr(0, 1), SIZE, 50, CROW_EVENT_NONE, 100000), 0);
    ck_assert_uint_eq(resp.peer_count, 1);
    ck_assert_uint_eq(list[0].addr, peer_addr(0, 3));
    ck_assert_uint_eq(resp.crowcast.position, 0); /* peer 0 is gone: peer 1 heads the chain */
    ck_assert(resp.crowcast.head);
    crow_scrape_entry_t e[2];
    ck_assert_uint_eq(crow_tracker_registry_scrape(reg, NULL, 0, e, 2), 1);
    ck_assert_uint_eq(e[0].complete, 1);
    ck_assert_uint_eq(e[0].incomplete, 1);
    ck_assert_uint_eq(e[0].downloaded, 1);
    ck_assert_uint_eq(crow_tracker_registry_expire(reg, 1000000), 2);
    ck_assert_uint_eq(crow_tracker_registry_scrape(reg, NULL, 0, e, 2), 0);
    ck_assert_uint_eq(crow_tracker_registry_next_deadline(reg), UINT64_MAX);
}
END_TEST

START_TEST(test_stopped_and_completed_counts)
{
    ck_assert_int_eq(announce_at(peer_addr(0, 0), SIZE, 50, CROW_EVENT_STARTED, 1), 0);
    ck_assert_int_eq(announce_at(peer_addr(0, 1), SIZE, 50, CROW_EVENT_STARTED, 1), 0);
    ck_assert_int_eq(announce_at(peer_addr(0, 1), 0, 50, CROW_EVENT_COMPLETED, 2), 0);
    ck_assert_int_eq(announce_at(peer_addr(0, 1), 0, 50, CROW_EVENT_COMPLETED, 3), 0); /* repeated */
    ck_assert_uint_eq(resp.complete, 1);
    ck_assert_uint_eq(resp.incomplete, 1);
    /* announcing again in place: a peer that lost its copy counts as incomplete, then complete */
    ck_assert_int_eq(announce_at(peer_addr(0, 1), SIZE, 50, CROW_EVENT_NONE, 3), 0);
    ck_assert_uint_eq(resp.complete, 0);
    ck_assert_uint_eq(resp.incomplete, 2);
    ck_assert_int_eq(announce_at(peer_addr(0, 1), 0, 50, CROW_EVENT_NONE, 3), 0);
    ck_assert_uint_eq(resp.complete, 1);
    ck_assert_uint_eq(resp.incomplete, 1);
    ck_assert_int_eq(announce_at(peer_addr(0, 0), SIZE, 50, CROW_EVENT_STOPPED, 4), 0);
    ck_assert_uint_eq(resp.peer_count, 0);
    ck_assert_uint_eq(resp.complete, 1);
    ck_assert_uint_eq(resp.incomplete, 0);
    crow_scrape_entry_t e[1];
    ck_assert_uint_eq(crow_tracker_registry_scrape(reg, &hash_a, 1, e, 1), 1);
    ck_assert_uint_eq(e[0].downloaded, 1);
    ck_assert_int_eq(announce_at(peer_addr(0, 1), 0, 50, CROW_EVENT_STOPPED, 5), 0);
    ck_assert_uint_eq(crow_tracker_registry_scrape(reg, &hash_a, 1, e, 1), 0);
    /* Stopping an unknown peer of an unknown release is harmless. */
    ck_assert_int_eq(announce_at(peer_addr(0, 1), 0, 50, CROW_EVENT_STOPPED, 6), 0);
}
END_TEST

START_TEST(test_bounded_by_configuration)
{
    crow_tracker_registry_t *small;
    crow_tracker_registry_config_t cfg = {.max_swarms = 2, .max_peers_per_swarm = 3};
    ck_assert_int_eq(crow_tracker_registry_new(&small, &cfg, &racks), 0);
    const char *failure = NULL;
    uint8_t hashes[3][20];
    for (int h = 0; h < 3; h++)
        memset(hashes[h], 'a' + h, 20);
    for (int h = 0; h < 2; h++) {
        crow_announce_req_t req = make_req(hashes[h], 1, SIZE, 50);
        ck_assert_int_eq(
            crow_tracker_registry_announce(small, &req, 1, CROW_RACK_NONE, 0, list, 256, &resp, &failure), 0);
    }
    crow_announce_req_t req = make_req(hashes[2], 1, SIZE, 50);
    ck_assert_int_eq(
        crow_tracker_registry_announce(small, &req, 1, CROW_RACK_NONE, 0, list, 256, &resp, &failure),
        CROW_ELIMIT);
    ck_assert_str_eq(failure, "tracker full: too many releases");
    for (uint32_t a = 2; a <= 3; a++) {
        req = make_req(hashes[0], a, SIZE, 50);
        ck_assert_int_eq(
            crow_tracker_registry_announce(small, &req, a, CROW_RACK_NONE, 0, list, 256, &resp, &failure), 0);
    }
    req = make_req(hashes[0], 4, SIZE, 50);
    ck_assert_int_eq(
        crow_tracker_registry_announce(small, &req, 4, CROW_RACK_NONE, 0, list, 256, &resp, &failure),
        CROW_ELIMIT);
    ck_assert_str_eq(failure, "release full: too many peers");
    /* Known peers still get through, and a stopped one frees its slot. */
    req = make_req(hashes[0], 3, SIZE, 50);
    ck_assert_int_eq(
        crow_tracker_registry_announce(small, &req, 3, CROW_RACK_NONE, 1, list, 256, &resp, &failure), 0);
    ck_assert_uint_eq(resp.peer_count, 2);
    req.event = CROW_EVENT_STOPPED;
    ck_assert_int_eq(
        crow_tracker_registry_announce(small, &req, 3, CROW_RACK_NONE, 2, list, 256, &resp, &failure), 0);
    req = make_req(hashes[0], 4, SIZE, 50);
    ck_assert_int_eq(
        crow_tracker_registry_announce(small, &req, 4, CROW_RACK_NONE, 3, list, 256, &resp, &failure), 0);
    /* The caller's capacity bounds the list too. */
    req = make_req(hashes[0], 5, SIZE, 50);
    ck_assert_int_eq(
        crow_tracker_registry_announce(small, &req, 4, CROW_RACK_NONE, 4, list, 1, &resp, &failure), 0);
    ck_assert_uint_eq(resp.peer_count, 1);
    char text[4096];
    ck_assert_int_gt(crow_tracker_registry_metrics(small, text, sizeof(text)), 0);
    ck_assert_ptr_nonnull(strstr(text, "crowcast_tracker_rejected_total 2\n"));
    crow_tracker_registry_free(small);
    cfg = (crow_tracker_registry_config_t){.interval = 10, .min_interval = 20};
    ck_assert_int_eq(crow_tracker_registry_new(&small, &cfg, &racks), CROW_EUSAGE);
    ck_assert_ptr_null(small);
}
END_TEST

START_TEST(test_status_and_metrics)
{
    populate(true);
    /* hook=N is kept per peer, and survives a later announce without it. */
    crow_announce_req_t req = make_req(hash_a, peer_addr(2, 3), SIZE - 400, 50);
    const char *failure = NULL;
    req.has_hook = true;
    req.hook = 7;
    ck_assert_int_eq(
        crow_tracker_registry_announce(reg, &req, peer_addr(2, 3), 2, 1000, list, 256, &resp, &failure), 0);
    /* mcast= is what the peer sees now: every answer counts the incomplete peers' reports */
    req.has_hook = false;
    req.mcast = CROW_MCAST_REPORT_LIT;
    ck_assert_int_eq(
        crow_tracker_registry_announce(reg, &req, peer_addr(2, 3), 2, 1000, list, 256, &resp, &failure), 0);
    ck_assert_uint_eq(resp.crowcast.lit, 1);
    ck_assert_uint_eq(resp.crowcast.dark, 0);
    static char text[16384];
    long n = crow_tracker_registry_status_json(reg, 5000, text, sizeof(text));
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(strlen(text), (size_t)n);
    ck_assert_msg(
        strstr(text,
               "{\"now_ms\":5000,\"releases\":[{\"info_hash\":\"4141414141414141414141414141414141414141\","
               "\"since_ms\":1000,\"peers\":25,\"complete\":1,\"incomplete\":24,\"downloaded\":0,"
               "\"bytes_left\":23999600,\"racks\":[{\"rack\":\"r0\",\"group\":\"239.9.0.1:7000\","
               "\"peers\":8,\"complete\":0,\"bytes_left\":8000000,\"since_ms\":1000,"
               "\"head\":\"127.0.1.13:6881\",\"chain\":[{\"peer\":\"127.0.1.10:6881\",\"left\":1000000,"
               "\"since_ms\":1000,\"hook\":null,\"mcast\":null},{\"peer\":\"127.0.1.11:6881\",") == text,
        "%s", text);
    ck_assert_ptr_nonnull(strstr(text,
                                 "{\"rack\":\"r2\",\"group\":\"239.9.0.2:7000\",\"peers\":8,\"complete\":0,"
                                 "\"bytes_left\":7999600,"));
    ck_assert_ptr_nonnull(
        strstr(text, "{\"rack\":null,\"group\":null,\"peers\":1,\"complete\":1,\"bytes_left\":0,"
                     "\"since_ms\":1000,\"head\":\"127.0.9.1:6881\",\"chain\":[{\"peer\":"
                     "\"127.0.9.1:6881\",\"left\":0,\"since_ms\":1000,\"hook\":null,\"mcast\":null}]}]}]}"));
    ck_assert_ptr_nonnull(strstr(text,
                                 "{\"peer\":\"127.0.3.13:6881\",\"left\":999600,\"since_ms\":1000,\"hook\":7,"
                                 "\"mcast\":\"lit\"}"));
    for (size_t cap = 0; cap < (size_t)n; cap += 97)
        ck_assert_int_eq(crow_tracker_registry_status_json(reg, 5000, text, cap), CROW_ESPACE);

    n = crow_tracker_registry_metrics(reg, text, sizeof(text));
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(
        strstr(text, "# TYPE crowcast_tracker_peers gauge\n"
                     "crowcast_tracker_peers{info_hash=\"4141414141414141414141414141414141414141\","
                     "rack=\"r0\"} 8\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "crowcast_tracker_complete{info_hash=\"4141414141414141414141414141414141414141\","
                     "rack=\"\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "rack=\"r2\"} 7999600\n"));
    ck_assert_ptr_nonnull(strstr(text, "crowcast_tracker_swarms 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "crowcast_tracker_announces_total 27\n"));
    ck_assert_int_eq(crow_tracker_registry_metrics(reg, text, 100), CROW_ESPACE);
}
END_TEST

/* Every answer counts the incomplete peers that say they receive the multicast stream (lit) and
 * that say it never came (dark); seeders and peers that say nothing are not counted, and a report
 * is what the peer's last announce said. */
static void report(uint32_t addr, uint64_t left, enum crow_mcast_report m)
{
    crow_announce_req_t req = make_req(hash_a, addr, left, 50);
    req.mcast = (uint8_t)m;
    const char *failure = NULL;
    ck_assert_int_eq(crow_tracker_registry_announce(reg, &req, addr, crow_racks_lookup(&racks, addr), 1000,
                                                    list, 256, &resp, &failure),
                     0);
}

START_TEST(test_counts_what_peers_see_of_the_stream)
{
    report(peer_addr(0, 1), 0, CROW_MCAST_REPORT_LIT); /* a seeder: not counted */
    ck_assert_uint_eq(resp.crowcast.lit + resp.crowcast.dark, 0);
    report(peer_addr(0, 2), 100, CROW_MCAST_REPORT_DARK);
    report(peer_addr(1, 2), 100, CROW_MCAST_REPORT_DARK);
    report(peer_addr(2, 2), 100, CROW_MCAST_REPORT_NONE);
    ck_assert_uint_eq(resp.crowcast.dark, 2);
    ck_assert_uint_eq(resp.crowcast.lit, 0);
    report(peer_addr(1, 2), 100, CROW_MCAST_REPORT_LIT); /* its stream came after all */
    ck_assert_uint_eq(resp.crowcast.dark, 1);
    ck_assert_uint_eq(resp.crowcast.lit, 1);
    report(peer_addr(1, 2), 0, CROW_MCAST_REPORT_NONE); /* complete */
    ck_assert_uint_eq(resp.crowcast.dark, 1);
    ck_assert_uint_eq(resp.crowcast.lit, 0);
    /* need maps are ORed, and known only when every incomplete peer sent one */
    ck_assert(!resp.crowcast.has_need);
    crow_announce_req_t req = make_req(hash_a, peer_addr(0, 2), 100, 50);
    req.has_need = true;
    req.need = (crow_need_map_t){{0x3}};
    crow_need_map_set(&req.need, 1000);
    req.mcast = CROW_MCAST_REPORT_DARK; /* it still says so */
    const char *failure = NULL;
    ck_assert_int_eq(crow_tracker_registry_announce(reg, &req, peer_addr(0, 2),
                                                    crow_racks_lookup(&racks, peer_addr(0, 2)), 1000, list,
                                                    256, &resp, &failure),
                     0);
    ck_assert(!resp.crowcast.has_need); /* peer 2.2 sent none */
    req = make_req(hash_a, peer_addr(2, 2), 100, 50);
    req.has_need = true;
    req.need = (crow_need_map_t){{0x30}};
    ck_assert_int_eq(crow_tracker_registry_announce(reg, &req, peer_addr(2, 2),
                                                    crow_racks_lookup(&racks, peer_addr(2, 2)), 1000, list,
                                                    256, &resp, &failure),
                     0);
    ck_assert(resp.crowcast.has_need);
    ck_assert_uint_eq(resp.crowcast.need.w[0], 0x33);
    ck_assert(crow_need_map_get(&resp.crowcast.need, 1000));
    ck_assert_uint_eq(crow_need_map_count(&resp.crowcast.need), 5);
    /* and the codec carries the counts to the seeder */
    uint8_t body[4096];
    long n = crow_announce_encode(body, sizeof body, &resp, true, false);
    ck_assert_int_gt(n, 0);
    crow_bencode_node_t nodes[256];
    crow_announce_peer_t peers[64];
    crow_announce_result_t r;
    const char *why = NULL;
    ck_assert_int_eq(crow_announce_decode(body, (size_t)n, nodes, 256, peers, 64, &r, &why), 0);
    ck_assert_uint_eq(r.crowcast.dark, 1);
    ck_assert_uint_eq(r.crowcast.lit, 0);
    ck_assert(r.crowcast.has_need);
    ck_assert(crow_need_map_equal(&r.crowcast.need, &resp.crowcast.need));
    ck_assert(r.crowcast.has_sending);
    ck_assert_uint_eq(r.crowcast.sending, 0); /* nobody said sending=1 */
}
END_TEST

/* The seeders whose passes are not over are counted for every peer: a late peer learns that no
 * stream is coming once the last of them says so (or leaves). */
START_TEST(test_counts_seeders_still_sending)
{
    crow_announce_req_t req = make_req(hash_a, peer_addr(0, 1), 0, 50);
    req.sending = req.streaming = true;
    const char *failure = NULL;
    ck_assert_int_eq(crow_tracker_registry_announce(reg, &req, peer_addr(0, 1),
                                                    crow_racks_lookup(&racks, peer_addr(0, 1)), 1000, list,
                                                    256, &resp, &failure),
                     0);
    report(peer_addr(1, 2), 100, CROW_MCAST_REPORT_NONE);
    ck_assert_uint_eq(resp.crowcast.sending, 1);
    ck_assert_uint_eq(resp.crowcast.streaming, 1);
    req.sending = req.streaming = false; /* its passes are over */
    ck_assert_int_eq(crow_tracker_registry_announce(reg, &req, peer_addr(0, 1),
                                                    crow_racks_lookup(&racks, peer_addr(0, 1)), 2000, list,
                                                    256, &resp, &failure),
                     0);
    report(peer_addr(1, 2), 100, CROW_MCAST_REPORT_NONE);
    ck_assert_uint_eq(resp.crowcast.sending, 0);
    req.sending = true; /* a new pass, then it leaves */
    ck_assert_int_eq(crow_tracker_registry_announce(reg, &req, peer_addr(0, 1),
                                                    crow_racks_lookup(&racks, peer_addr(0, 1)), 3000, list,
                                                    256, &resp, &failure),
                     0);
    req.event = CROW_EVENT_STOPPED;
    ck_assert_int_eq(crow_tracker_registry_announce(reg, &req, peer_addr(0, 1),
                                                    crow_racks_lookup(&racks, peer_addr(0, 1)), 4000, list,
                                                    256, &resp, &failure),
                     0);
    report(peer_addr(1, 2), 100, CROW_MCAST_REPORT_NONE);
    ck_assert_uint_eq(resp.crowcast.sending, 0);
}
END_TEST

/* A relayed rack's head is its relay, and only it; a direct rack's head and peers in no rack never are;
 * when the relay stops or expires the next head is named relay, and the old one back is a newcomer. */
START_TEST(test_relayed_rack_names_its_head_relay)
{
    static const char text[] = "rack d 127.0.1.0/24 239.9.0.1:7000\n"
                               "rack x 127.0.2.0/24 239.9.0.2:7000 relayed\n";
    crow_tracker_registry_free(reg);
    ck_assert_int_eq(crow_racks_parse(&racks, text, strlen(text), NULL), 0);
    crow_tracker_registry_config_t cfg = {.interval = 30, .peer_timeout_ms = 90000};
    ck_assert_int_eq(crow_tracker_registry_new(&reg, &cfg, &racks), 0);
    ck_assert_int_eq(announce_at(SEEDER, 0, 50, CROW_EVENT_STARTED, 1000), 0);
    ck_assert(!resp.crowcast.relay);
    ck_assert_int_eq(announce_at(peer_addr(0, 0), SIZE, 50, CROW_EVENT_STARTED, 1000), 0);
    ck_assert(resp.crowcast.head && !resp.crowcast.relay);
    ck_assert_int_eq(announce_at(peer_addr(1, 0), SIZE, 50, CROW_EVENT_STARTED, 1000), 0);
    ck_assert(resp.crowcast.head && resp.crowcast.relay);
    ck_assert_uint_eq(resp.crowcast.group, 0xef090002u);
    for (int j = 1; j < 4; j++) {
        ck_assert_int_eq(announce_at(peer_addr(1, j), SIZE, 50, CROW_EVENT_STARTED, 1000 + (uint64_t)j), 0);
        ck_assert(!resp.crowcast.head && !resp.crowcast.relay);
    }
    ck_assert_int_eq(announce_at(peer_addr(1, 0), SIZE / 2, 50, CROW_EVENT_NONE, 30000), 0);
    ck_assert(resp.crowcast.relay);
    /* The relay stops: the next oldest takes over. */
    ck_assert_int_eq(announce_at(peer_addr(1, 0), SIZE / 2, 50, CROW_EVENT_STOPPED, 31000), 0);
    ck_assert_int_eq(announce_at(peer_addr(1, 1), SIZE, 50, CROW_EVENT_NONE, 31000), 0);
    ck_assert(resp.crowcast.relay);
    ck_assert_int_eq(announce_at(peer_addr(1, 0), SIZE / 2, 50, CROW_EVENT_STARTED, 32000), 0);
    ck_assert(!resp.crowcast.relay);
    /* The new relay goes silent and expires: the oldest left (peer 2) relays. */
    for (int j = 0; j < 4; j++)
        if (j != 1)
            ck_assert_int_eq(announce_at(peer_addr(1, j), SIZE, 50, CROW_EVENT_NONE, 100000), 0);
    ck_assert_uint_eq(crow_tracker_registry_expire(reg, 121001), 3); /* peer 1, the seeder, rack d's peer */
    ck_assert_int_eq(announce_at(peer_addr(1, 2), SIZE, 50, CROW_EVENT_NONE, 121001), 0);
    ck_assert(resp.crowcast.head && resp.crowcast.relay);
    ck_assert_int_eq(announce_at(peer_addr(1, 0), SIZE, 50, CROW_EVENT_NONE, 121001), 0);
    ck_assert(!resp.crowcast.relay);
    /* /status names the relayed rack's relay, and no relay for the direct rack. */
    static char buf[16384];
    ck_assert_int_eq(announce_at(peer_addr(0, 0), SIZE, 50, CROW_EVENT_STARTED, 121001), 0);
    ck_assert_int_gt(crow_tracker_registry_status_json(reg, 121001, buf, sizeof buf), 0);
    ck_assert_ptr_nonnull(
        strstr(buf, "\"head\":\"127.0.2.12:6881\",\"relay\":\"127.0.2.12:6881\",\"chain\""));
    ck_assert_ptr_nonnull(strstr(buf, "\"head\":\"127.0.1.10:6881\",\"chain\""));
    ck_assert_ptr_null(strstr(buf, "\"relay\":\"127.0.1."));
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("tracker_registry");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_each_peer_gets_its_chain_neighbours);
    tcase_add_test(tc, test_numwant_cuts_the_chain_but_keeps_the_seeder);
    tcase_add_test(tc, test_cross_rack_only_without_a_source);
    tcase_add_test(tc, test_seeder_in_rack_is_a_chain_member);
    tcase_add_test(tc, test_head_gets_oldest_seeders_only);
    tcase_add_test(tc, test_a_leading_peer_is_listed_the_seeder);
    tcase_add_loop_test(tc, test_one_head_in_every_start_order, 0, 24 * LEAVE_MODES);
    tcase_add_test(tc, test_rack_change_joins_as_newcomer);
    tcase_add_loop_test(tc, test_complete_peers_and_the_head, 0,
                        (int)(sizeof(seeder_rows) / sizeof(seeder_rows[0])));
    tcase_add_test(tc, test_unracked_and_rack_change);
    tcase_add_test(tc, test_expiry_with_fake_clock);
    tcase_add_test(tc, test_stopped_and_completed_counts);
    tcase_add_test(tc, test_bounded_by_configuration);
    tcase_add_test(tc, test_status_and_metrics);
    tcase_add_test(tc, test_counts_what_peers_see_of_the_stream);
    tcase_add_test(tc, test_counts_seeders_still_sending);
    tcase_add_test(tc, test_relayed_rack_names_its_head_relay);
    suite_add_tcase(s, tc);
    return s;
}
