/* Gap picker: a chunk bitmap of the release plus a ledger of outstanding requests, from which it
 * chooses what to ask each neighbour for (see crowcast/picker.h for the rules). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/picker.h"

struct neighbour {
    bool used;
    bool same_rack;
    bool unresponsive; /* a request expired (or it kept us choked): its claims are not believed */
    const crow_bitfield_t *remote;
    uint32_t distance;
    uint32_t depth, max_request, outstanding;
    crow_picker_stats_t stats;
};

struct entry {
    bool used;
    bool dup;    /* another neighbour has the same range outstanding (endgame) */
    bool cancel; /* useless now: its owner should send CANCEL */
    crow_block_t block;
    uint64_t deadline;
    uint64_t seq; /* order of issue: the latest of a queue is served last */
};

struct crow_picker {
    crow_picker_config_t cfg;
    const crow_manifest_t *m;
    uint32_t piece_chunks; /* chunks in a full piece; chunk id = piece * piece_chunks + k */
    crow_bitfield_t present, inflight, verified;
    uint16_t *rack_avail; /* per piece: same-rack neighbours that have it */
    struct neighbour *nbs;
    struct entry *ledger; /* neighbour i owns ledger[i * max_depth ...] */
    uint64_t frontier;
    bool hold_untouched;  /* pieces with no chunk present wait for the stream */
    crow_bitfield_t held; /* those pieces (left to the stream until it ends or says it does not resend) */
    uint64_t missing;     /* chunks not present */
    uint64_t fresh;       /* chunks neither present nor in flight */
    uint64_t issued;      /* requests issued so far (entry seq) */
    crow_picker_stats_t total;
};

int crow_picker_new(const crow_picker_config_t *cfg, crow_picker_t **out)
{
    const crow_manifest_t *m = cfg->manifest;
    if (!m || !m->chunk_size || !m->piece_length || !m->piece_count || !cfg->max_neighbours ||
        !cfg->max_depth)
        return CROW_EUSAGE;
    uint64_t chunks = crow_manifest_total_chunks(m);
    if (chunks > UINT32_MAX)
        return CROW_ELIMIT;
    int ret = -ENOMEM;
    crow_picker_t *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->cfg = *cfg;
    p->m = m;
    p->piece_chunks = crow_manifest_piece_chunks(m, 0);
    p->missing = p->fresh = chunks;
    p->frontier = cfg->multicast ? 0 : m->total_length;
    if (crow_bitfield_init(&p->present, (uint32_t)chunks) ||
        crow_bitfield_init(&p->inflight, (uint32_t)chunks) ||
        crow_bitfield_init(&p->verified, m->piece_count) || crow_bitfield_init(&p->held, m->piece_count))
        goto fail;
    p->rack_avail = calloc(m->piece_count, sizeof *p->rack_avail);
    p->nbs = calloc(cfg->max_neighbours, sizeof *p->nbs);
    p->ledger = calloc((size_t)cfg->max_neighbours * cfg->max_depth, sizeof *p->ledger);
    if (!p->rack_avail || !p->nbs || !p->ledger)
        goto fail;
    *out = p;
    return 0;
fail:
    crow_picker_free(p);
    return ret;
}

void crow_picker_free(crow_picker_t *p)
{
    if (!p)
        return;
    free(p->ledger);
    free(p->nbs);
    free(p->rack_avail);
    crow_bitfield_dispose(&p->held);
    crow_bitfield_dispose(&p->verified);
    crow_bitfield_dispose(&p->inflight);
    crow_bitfield_dispose(&p->present);
    free(p);
}

static uint32_t chunk_id(const crow_picker_t *p, uint32_t piece, uint32_t k)
{
    return piece * p->piece_chunks + k;
}

/* Bytes of chunk k of a piece of piece_size bytes. */
static uint32_t chunk_len(const crow_picker_t *p, uint32_t piece_size, uint32_t k)
{
    uint32_t start = k * p->m->chunk_size;
    uint32_t left = piece_size - start;
    return left < p->m->chunk_size ? left : p->m->chunk_size;
}

static bool is_fresh(const crow_picker_t *p, uint32_t c)
{
    return !crow_bitfield_get(&p->present, c) && !crow_bitfield_get(&p->inflight, c);
}

static void set_present(crow_picker_t *p, uint32_t c)
{
    bool was_fresh = is_fresh(p, c);
    if (crow_bitfield_set(&p->present, c)) {
        p->missing--;
        p->fresh -= was_fresh;
    }
}

static void clear_present(crow_picker_t *p, uint32_t c)
{
    if (crow_bitfield_clear(&p->present, c)) {
        p->missing++;
        p->fresh += !crow_bitfield_get(&p->inflight, c);
    }
}

static void set_inflight(crow_picker_t *p, uint32_t c)
{
    bool was_fresh = is_fresh(p, c);
    if (crow_bitfield_set(&p->inflight, c))
        p->fresh -= was_fresh;
}

static void clear_inflight(crow_picker_t *p, uint32_t c)
{
    if (crow_bitfield_clear(&p->inflight, c))
        p->fresh += !crow_bitfield_get(&p->present, c);
}

/* Chunk range [*k0, *k1) of a block; blocks from the ledger are chunk-aligned. */
static void block_chunks(const crow_picker_t *p, const crow_block_t *b, uint32_t *k0, uint32_t *k1)
{
    uint32_t cs = p->m->chunk_size;
    *k0 = b->begin / cs;
    *k1 = (uint32_t)(((uint64_t)b->begin + b->length + cs - 1) / cs);
}

static bool same_block(const crow_block_t *a, const crow_block_t *b)
{
    return a->piece == b->piece && a->begin == b->begin && a->length == b->length;
}

static struct entry *entries_of(const crow_picker_t *p, int nb)
{
    return &p->ledger[(size_t)nb * p->cfg.max_depth];
}

static int owner_of(const crow_picker_t *p, const struct entry *e)
{
    return (int)((size_t)(e - p->ledger) / p->cfg.max_depth);
}

/* The endgame twin of e, if any. */
static struct entry *partner_of(crow_picker_t *p, const struct entry *e)
{
    if (!e->dup)
        return NULL;
    size_t n = (size_t)p->cfg.max_neighbours * p->cfg.max_depth;
    for (size_t i = 0; i < n; i++) {
        struct entry *o = &p->ledger[i];
        if (o != e && o->used && o->dup && same_block(&o->block, &e->block))
            return o;
    }
    return NULL;
}

/* Frees a ledger entry; its chunks leave flight unless its twin still covers them. */
static void free_entry(crow_picker_t *p, struct entry *e)
{
    struct entry *twin = partner_of(p, e);
    if (twin) {
        twin->dup = false;
    } else {
        uint32_t k0, k1;
        block_chunks(p, &e->block, &k0, &k1);
        for (uint32_t k = k0; k < k1; k++)
            clear_inflight(p, chunk_id(p, e->block.piece, k));
    }
    p->nbs[owner_of(p, e)].outstanding--;
    memset(e, 0, sizeof *e);
}

/* Flags outstanding requests on `piece` whose chunks are all present. */
static void cancel_satisfied(crow_picker_t *p, uint32_t piece)
{
    size_t n = (size_t)p->cfg.max_neighbours * p->cfg.max_depth;
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &p->ledger[i];
        if (!e->used || e->cancel || e->block.piece != piece)
            continue;
        uint32_t k0, k1, k;
        block_chunks(p, &e->block, &k0, &k1);
        for (k = k0; k < k1 && crow_bitfield_get(&p->present, chunk_id(p, piece, k)); k++)
            ;
        e->cancel = k == k1;
    }
}

void crow_picker_mark(crow_picker_t *p, uint32_t piece, uint32_t begin, uint32_t length)
{
    uint32_t size = crow_manifest_piece_size(p->m, piece);
    if (begin >= size || length > size - begin)
        return;
    uint32_t cs = p->m->chunk_size, end = begin + length;
    uint32_t k0 = (begin + cs - 1) / cs;
    uint32_t k1 = end == size ? crow_manifest_piece_chunks(p->m, piece) : end / cs;
    bool touched_flight = false;
    for (uint32_t k = k0; k < k1; k++) {
        uint32_t c = chunk_id(p, piece, k);
        touched_flight |= crow_bitfield_get(&p->inflight, c) && !crow_bitfield_get(&p->present, c);
        set_present(p, c);
    }
    if (touched_flight)
        cancel_satisfied(p, piece);
}

bool crow_picker_piece_filled(const crow_picker_t *p, uint32_t piece)
{
    if (piece >= p->m->piece_count)
        return false;
    uint32_t c0 = chunk_id(p, piece, 0), n = crow_manifest_piece_chunks(p->m, piece);
    uint32_t c = crow_bitfield_next_clear(&p->present, c0);
    return c >= c0 + n;
}

void crow_picker_piece_verified(crow_picker_t *p, uint32_t piece)
{
    if (piece >= p->m->piece_count)
        return;
    crow_picker_mark(p, piece, 0, crow_manifest_piece_size(p->m, piece));
    crow_bitfield_set(&p->verified, piece);
}

void crow_picker_piece_failed(crow_picker_t *p, uint32_t piece)
{
    if (piece >= p->m->piece_count)
        return;
    crow_bitfield_clear(&p->verified, piece);
    uint32_t n = crow_manifest_piece_chunks(p->m, piece);
    for (uint32_t k = 0; k < n; k++)
        clear_present(p, chunk_id(p, piece, k));
}

uint64_t crow_picker_missing(const crow_picker_t *p)
{
    return p->missing;
}

/* No chunk of the piece is present. */
static bool untouched(const crow_picker_t *p, uint32_t piece)
{
    uint32_t first = chunk_id(p, piece, 0);
    return crow_bitfield_next_set(&p->present, first) >= first + crow_manifest_piece_chunks(p->m, piece);
}

/* Holding: the pieces the frontier passed on its way from `from` to `end` (those ending in between)
 * of which nothing arrived stay with the stream (also once its resend starts filling them: TCP must
 * not race it for their rest). Each frontier move scans only what it passed. */
static void hold_behind(crow_picker_t *p, uint64_t from, uint64_t end)
{
    if (!p->hold_untouched || end <= from)
        return;
    uint32_t start = (uint32_t)(from / p->m->piece_length);
    for (uint32_t piece = crow_bitfield_next_clear(&p->verified, start); piece < p->m->piece_count;
         piece = crow_bitfield_next_clear(&p->verified, piece + 1)) {
        uint64_t piece_end = (uint64_t)piece * p->m->piece_length + crow_manifest_piece_size(p->m, piece);
        if (piece_end > end)
            break;
        if (untouched(p, piece))
            crow_bitfield_set(&p->held, piece);
    }
}

void crow_picker_set_frontier(crow_picker_t *p, uint64_t offset)
{
    if (offset > p->m->total_length)
        offset = p->m->total_length;
    if (offset > p->frontier) {
        hold_behind(p, p->frontier, offset);
        p->frontier = offset;
    }
}

static void drop_holds(crow_picker_t *p)
{
    p->hold_untouched = false;
    memset(p->held.bytes, 0, crow_bitfield_bytes(p->held.nbits));
    p->held.count = 0;
}

void crow_picker_stream_end(crow_picker_t *p)
{
    p->frontier = p->m->total_length;
    drop_holds(p);
}

void crow_picker_hold_untouched(crow_picker_t *p, bool hold)
{
    if (!hold) {
        drop_holds(p);
        return;
    }
    if (!p->hold_untouched) {
        p->hold_untouched = true;
        hold_behind(p, 0, p->frontier);
    }
}

void crow_picker_stream_resume(crow_picker_t *p, uint64_t offset)
{
    uint64_t to = offset < p->m->total_length ? offset : p->m->total_length;
    hold_behind(p, p->frontier, to);
    p->frontier = to;
}

int crow_picker_join(crow_picker_t *p, const crow_bitfield_t *remote, uint32_t distance, bool same_rack)
{
    for (uint32_t i = 0; i < p->cfg.max_neighbours; i++) {
        struct neighbour *n = &p->nbs[i];
        if (n->used)
            continue;
        memset(n, 0, sizeof *n);
        n->used = true;
        n->remote = remote;
        n->distance = distance;
        n->same_rack = same_rack;
        return (int)i;
    }
    return CROW_ELIMIT;
}

/* Whether a neighbour's pieces count in the rack availability: a rack neighbour that answers. A
 * neighbour that claims pieces and never delivers them would otherwise keep the chain head from
 * fetching them outside the rack for good. */
static bool counted(const struct neighbour *n)
{
    return n->same_rack && !n->unresponsive;
}

/* Adds (+1) or removes (-1) a neighbour's pieces from the rack availability counts. */
static void count_rack(crow_picker_t *p, const struct neighbour *n, int delta)
{
    if (!counted(n))
        return;
    for (uint32_t i = crow_bitfield_next_set(n->remote, 0); i < n->remote->nbits && i < p->m->piece_count;
         i = crow_bitfield_next_set(n->remote, i + 1))
        p->rack_avail[i] = (uint16_t)(p->rack_avail[i] + delta);
}

void crow_picker_release(crow_picker_t *p, int nb)
{
    struct entry *es = entries_of(p, nb);
    for (uint32_t i = 0; i < p->cfg.max_depth; i++)
        if (es[i].used)
            free_entry(p, &es[i]);
}

void crow_picker_leave(crow_picker_t *p, int nb)
{
    crow_picker_release(p, nb);
    count_rack(p, &p->nbs[nb], -1);
    p->nbs[nb].used = false;
}

void crow_picker_set_link(crow_picker_t *p, int nb, uint32_t distance, bool same_rack)
{
    struct neighbour *n = &p->nbs[nb];
    count_rack(p, n, -1);
    n->same_rack = same_rack;
    count_rack(p, n, +1);
    n->distance = distance;
}

/* Flips whether nb answers, keeping the rack availability counts in step. */
static void set_unresponsive(crow_picker_t *p, int nb, bool unresponsive)
{
    struct neighbour *n = &p->nbs[nb];
    if (n->unresponsive == unresponsive)
        return;
    count_rack(p, n, -1);
    n->unresponsive = unresponsive;
    count_rack(p, n, +1);
}

void crow_picker_unresponsive(crow_picker_t *p, int nb)
{
    set_unresponsive(p, nb, true);
}

bool crow_picker_is_unresponsive(const crow_picker_t *p, int nb)
{
    return p->nbs[nb].unresponsive;
}

void crow_picker_set_pipeline(crow_picker_t *p, int nb, uint32_t depth, uint32_t max_request)
{
    p->nbs[nb].depth = depth < p->cfg.max_depth ? depth : p->cfg.max_depth;
    p->nbs[nb].max_request = max_request;
}

void crow_picker_remote_have(crow_picker_t *p, int nb, uint32_t piece)
{
    if (counted(&p->nbs[nb]) && piece < p->m->piece_count)
        p->rack_avail[piece]++;
}

void crow_picker_remote_bitfield(crow_picker_t *p, int nb)
{
    count_rack(p, &p->nbs[nb], +1);
}

/* May nb be asked for piece? Non-heads stay in the rack; the head leaves it only for pieces
 * nobody in the rack has. */
static bool allowed(const crow_picker_t *p, const struct neighbour *n, uint32_t piece)
{
    if (!crow_bitfield_get(n->remote, piece))
        return false;
    if (n->same_rack)
        return true;
    return p->cfg.chain_head && p->rack_avail[piece] == 0;
}

static bool ready(const struct neighbour *n)
{
    return n->used && n->outstanding < n->depth;
}

/* Chain distance as the picker ranks it: a neighbour that does not answer comes after all others. */
static uint64_t rank(const struct neighbour *n)
{
    return n->unresponsive ? UINT64_MAX : n->distance;
}

/* A nearer neighbour, ready for more, could serve this piece. */
static bool nearer_ready(const crow_picker_t *p, const struct neighbour *me, uint32_t piece)
{
    for (uint32_t i = 0; i < p->cfg.max_neighbours; i++) {
        const struct neighbour *n = &p->nbs[i];
        if (n != me && ready(n) && rank(n) < rank(me) && allowed(p, n, piece))
            return true;
    }
    return false;
}

/* Another neighbour that answers could serve this piece (ready or not): an unresponsive neighbour is
 * asked only for what nobody else may be asked for, or it would hold those chunks until its requests
 * expire again whenever the others happen to be busy. */
static bool answering_other(const crow_picker_t *p, const struct neighbour *me, uint32_t piece)
{
    for (uint32_t i = 0; i < p->cfg.max_neighbours; i++) {
        const struct neighbour *n = &p->nbs[i];
        if (n != me && n->used && !n->unresponsive && allowed(p, n, piece))
            return true;
    }
    return false;
}

static struct entry *add_entry(crow_picker_t *p, int nb, const crow_block_t *b, uint64_t deadline)
{
    struct entry *es = entries_of(p, nb);
    for (uint32_t i = 0; i < p->cfg.max_depth; i++) {
        if (es[i].used)
            continue;
        es[i] = (struct entry){.used = true, .block = *b, .deadline = deadline, .seq = ++p->issued};
        p->nbs[nb].outstanding++;
        p->nbs[nb].stats.requested += b->length;
        p->total.requested += b->length;
        return &es[i];
    }
    return NULL; /* unreachable while outstanding < depth <= max_depth */
}

/* The longest run of fresh chunks in `piece`, starting at its first fresh chunk that lies
 * behind the frontier, within max_len bytes. Returns false when there is none. */
static bool fresh_run(const crow_picker_t *p, uint32_t piece, uint32_t max_len, crow_block_t *out)
{
    if (p->hold_untouched && crow_bitfield_get(&p->held, piece))
        return false;
    uint32_t size = crow_manifest_piece_size(p->m, piece);
    uint32_t n = crow_manifest_piece_chunks(p->m, piece);
    uint64_t base = (uint64_t)piece * p->m->piece_length;
    uint32_t k = 0;
    while (k < n && !is_fresh(p, chunk_id(p, piece, k)))
        k++;
    uint32_t begin = k * p->m->chunk_size, len = 0;
    for (; k < n && is_fresh(p, chunk_id(p, piece, k)); k++) {
        uint32_t cl = chunk_len(p, size, k);
        if (base + begin + len + cl > p->frontier || len + cl > max_len)
            break;
        len += cl;
    }
    *out = (crow_block_t){.piece = piece, .begin = begin, .length = len};
    return len > 0;
}

static bool pick_fresh(crow_picker_t *p, int nb, uint64_t deadline, crow_block_t *out)
{
    struct neighbour *n = &p->nbs[nb];
    for (uint32_t piece = crow_bitfield_next_clear(&p->verified, 0); piece < p->m->piece_count;
         piece = crow_bitfield_next_clear(&p->verified, piece + 1)) {
        if ((uint64_t)piece * p->m->piece_length >= p->frontier)
            break;
        if (!allowed(p, n, piece) || !fresh_run(p, piece, n->max_request, out) || nearer_ready(p, n, piece) ||
            (n->unresponsive && answering_other(p, n, piece)))
            continue;
        add_entry(p, nb, out, deadline);
        uint32_t k0, k1;
        block_chunks(p, out, &k0, &k1);
        for (uint32_t k = k0; k < k1; k++)
            set_inflight(p, chunk_id(p, piece, k));
        return true;
    }
    return false;
}

/* Endgame: nothing fresh is left and the stream is over. A neighbour whose own queue has run dry
 * takes a duplicate of the request that would otherwise come last: the newest one of the longest
 * queue not duplicated yet. Only an idle neighbour does: a duplicate issued while both copies sit
 * in full queues is served twice, and with megabytes in flight per neighbour the endgame starts
 * when a large part of the release is still on its way. */
static bool pick_duplicate(crow_picker_t *p, int nb, uint64_t deadline, crow_block_t *out)
{
    struct neighbour *n = &p->nbs[nb];
    if (p->fresh || !p->missing || p->frontier < p->m->total_length || n->outstanding || n->unresponsive)
        return false;
    struct entry *best = NULL;
    size_t total = (size_t)p->cfg.max_neighbours * p->cfg.max_depth;
    for (size_t i = 0; i < total; i++) {
        struct entry *e = &p->ledger[i];
        if (!e->used || e->dup || e->cancel || owner_of(p, e) == nb || e->block.length > n->max_request ||
            !allowed(p, n, e->block.piece))
            continue;
        uint32_t queue = p->nbs[owner_of(p, e)].outstanding;
        uint32_t best_queue = best ? p->nbs[owner_of(p, best)].outstanding : 0;
        if (!best || queue > best_queue || (queue == best_queue && e->seq > best->seq))
            best = e;
    }
    if (!best)
        return false;
    *out = best->block;
    struct entry *twin = add_entry(p, nb, out, deadline);
    best->dup = twin->dup = true;
    return true;
}

/* Some chunk of the piece may be asked for now: fresh and wholly behind the frontier. */
static bool askable(const crow_picker_t *p, uint32_t piece)
{
    crow_block_t b;
    return fresh_run(p, piece, UINT32_MAX, &b);
}

void crow_picker_needs(const crow_picker_t *p, crow_picker_needs_t *out)
{
    *out = (crow_picker_needs_t){0};
    for (uint32_t i = 0; i < p->cfg.max_neighbours; i++) {
        const struct neighbour *n = &p->nbs[i];
        out->requests_out |= n->used && n->outstanding > 0;
        out->rack_neighbours |= n->used && n->same_rack;
    }
    for (uint32_t piece = crow_bitfield_next_clear(&p->verified, 0); piece < p->m->piece_count;
         piece = crow_bitfield_next_clear(&p->verified, piece + 1)) {
        if ((uint64_t)piece * p->m->piece_length >= p->frontier)
            break;
        if (!askable(p, piece))
            continue;
        bool served = false;
        for (uint32_t i = 0; i < p->cfg.max_neighbours && !served; i++)
            served = p->nbs[i].used && !p->nbs[i].unresponsive && allowed(p, &p->nbs[i], piece);
        out->unserved += !served;
    }
}

bool crow_picker_pick(crow_picker_t *p, int nb, uint64_t deadline, crow_block_t *out)
{
    if (!ready(&p->nbs[nb]))
        return false;
    return pick_fresh(p, nb, deadline, out) || pick_duplicate(p, nb, deadline, out);
}

static struct entry *find_entry(crow_picker_t *p, int nb, const crow_block_t *b)
{
    struct entry *es = entries_of(p, nb);
    for (uint32_t i = 0; i < p->cfg.max_depth; i++)
        if (es[i].used && same_block(&es[i].block, b))
            return &es[i];
    return NULL;
}

static void count_wasted(crow_picker_t *p, int nb, uint32_t length)
{
    p->nbs[nb].stats.wasted += length;
    p->total.wasted += length;
}

bool crow_picker_received(crow_picker_t *p, int nb, uint32_t piece, uint32_t begin, uint32_t length)
{
    crow_block_t b = {piece, begin, length};
    struct entry *e = find_entry(p, nb, &b);
    if (!e || e->cancel) {
        if (e)
            free_entry(p, e);
        count_wasted(p, nb, length);
        return false;
    }
    struct entry *twin = partner_of(p, e);
    if (twin)
        twin->cancel = true;
    uint32_t k0, k1;
    block_chunks(p, &b, &k0, &k1);
    for (uint32_t k = k0; k < k1; k++)
        set_present(p, chunk_id(p, piece, k));
    free_entry(p, e);
    set_unresponsive(p, nb, false); /* it delivers after all */
    p->nbs[nb].stats.received += length;
    p->total.received += length;
    return true;
}

void crow_picker_extend(crow_picker_t *p, int nb, uint64_t deadline)
{
    struct entry *es = entries_of(p, nb);
    for (uint32_t i = 0; i < p->cfg.max_depth; i++)
        if (es[i].used && es[i].deadline < deadline)
            es[i].deadline = deadline;
}

bool crow_picker_next_cancel(crow_picker_t *p, int nb, crow_block_t *out)
{
    struct entry *es = entries_of(p, nb);
    for (uint32_t i = 0; i < p->cfg.max_depth; i++) {
        if (es[i].used && es[i].cancel) {
            *out = es[i].block;
            free_entry(p, &es[i]);
            return true;
        }
    }
    return false;
}

bool crow_picker_next_expired(crow_picker_t *p, int nb, uint64_t now, crow_block_t *out)
{
    struct entry *es = entries_of(p, nb);
    for (uint32_t i = 0; i < p->cfg.max_depth; i++) {
        if (es[i].used && es[i].deadline <= now) {
            *out = es[i].block;
            free_entry(p, &es[i]);
            set_unresponsive(p, nb, true);
            p->nbs[nb].stats.timeouts++;
            p->total.timeouts++;
            return true;
        }
    }
    return false;
}

uint32_t crow_picker_outstanding(const crow_picker_t *p, int nb)
{
    return p->nbs[nb].outstanding;
}

uint64_t crow_picker_next_deadline(const crow_picker_t *p, int nb)
{
    const struct entry *es = entries_of(p, nb);
    uint64_t next = UINT64_MAX;
    for (uint32_t i = 0; i < p->cfg.max_depth; i++)
        if (es[i].used && !es[i].cancel && es[i].deadline < next)
            next = es[i].deadline;
    return next;
}

void crow_picker_neighbour_stats(const crow_picker_t *p, int nb, crow_picker_stats_t *out)
{
    *out = p->nbs[nb].stats;
}

void crow_picker_total_stats(const crow_picker_t *p, crow_picker_stats_t *out)
{
    *out = p->total;
}

bool crow_picker_chain_head(const crow_picker_t *p)
{
    return p->cfg.chain_head;
}

void crow_picker_set_chain_head(crow_picker_t *p, bool chain_head)
{
    p->cfg.chain_head = chain_head;
}
