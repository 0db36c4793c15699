/* Piece assembly, verification, disk writes and upload reads for a running peer or seeder.
 * See piece_store.h for the contract. Disk I/O goes through the loop; hashing runs inline (a 1 MiB
 * piece costs about a millisecond of SHA-256, far below what the socket buffers absorb). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/layout.h"
#include "crowcast/log.h"
#include "piece_store.h"

#define MAX_READS   128
#define SPARE_SLOTS 2                   /* spill early so a new piece usually finds a free buffer */
#define DIRECT_CAP  (64u * 1024 * 1024) /* bytes of chunks on their way to disk without a buffer */
#define GROWN_CAP   (64u * 1024 * 1024) /* piece buffers beyond `slots`, while the disk lags */
#define MAX_SLOTS   64u                 /* every put scans the slots: keep them few */

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_SPILLING, SLOT_READING, SLOT_WRITING };

struct slot {
    crow_op_t op; /* every disk operation of the slot */
    struct crow_piece_store *ps;
    enum slot_state state;
    uint32_t piece;
    uint8_t *buf;
    uint8_t *in_mem; /* one flag per chunk: its bytes are in buf */
    uint64_t last_use;
    uint64_t io_expected, io_done;
    int io_error;
};

/* Chunks that found no piece buffer: copied here and written straight to their files. */
struct direct_write {
    crow_op_t op;
    struct crow_piece_store *ps;
    uint32_t piece, len;
    uint64_t done, expected; /* bytes written so far, and those submitted (padding is not) */
    int error;
    uint8_t data[];
};

struct read_req {
    crow_op_t op;
    crow_op_t *user;
    uint64_t expected, done; /* bytes submitted (padding is not), and read so far */
    uint32_t len;            /* what the caller asked for */
    int error;
    bool busy;
};

struct crow_piece_store {
    crow_loop_t *loop;
    crow_storage_t *storage;
    const crow_manifest_t *m;
    crow_bitfield_t chunks, verified;
    uint32_t *piece_have;      /* chunks present, per piece */
    uint16_t *writes_pending;  /* per piece: spills and direct writes not yet on disk */
    crow_bitfield_t to_verify; /* complete pieces waiting for a buffer (or for their writes) */
    uint64_t direct_bytes;     /* in direct writes now */
    uint32_t full_chunks;      /* chunks in a full-length piece */
    struct slot *slots;        /* max_slots of them; the first nslots have their buffers */
    unsigned nslots, max_slots;
    struct slot *last; /* the slot of the last put: the next chunk is most likely for it */
    uint64_t tick;
    struct read_req reads[MAX_READS];
    crow_op_t writeback; /* the write-backs started for verified pieces (several at once) */
    struct crow_piece_store_events ev;
    void *ctx;
    struct crow_piece_store_stats stats;
};

static void on_slot_io(crow_op_t *op, int res, unsigned flags);
static void on_read_io(crow_op_t *op, int res, unsigned flags);
static void try_verify(crow_piece_store_t *ps);

/* Best effort: an error shows at the final sync, which writes whatever is left. */
static void on_writeback(crow_op_t *op, int res, unsigned flags)
{
    (void)op, (void)res, (void)flags;
}

int crow_piece_store_new(crow_piece_store_t **out, crow_loop_t *loop, crow_storage_t *storage,
                         const crow_bitfield_t *verified, unsigned slots,
                         const struct crow_piece_store_events *ev, void *ctx)
{
    const crow_manifest_t *m = crow_storage_manifest(storage);
    crow_piece_store_t *ps = calloc(1, sizeof *ps);
    if (!ps)
        return -ENOMEM;
    ps->loop = loop;
    ps->storage = storage;
    ps->m = m;
    ps->ev = *ev;
    ps->ctx = ctx;
    ps->full_chunks = (m->piece_length + m->chunk_size - 1) / m->chunk_size;
    ps->nslots = slots < SPARE_SLOTS + 2 ? SPARE_SLOTS + 2 : slots;
    /* When no buffer is free (most wait for their writes when the disk lags), more are added, up
     * to GROWN_CAP: the alternative, chunks copied one by one to disk and read back to hash the
     * piece, costs twice the CPU per byte (measured: 8 KiB chunks, 22.8 -> 13.2 us per datagram),
     * so a receiver that lags would lag more. keep_spares still spills partial pieces as before. */
    uint64_t most = ps->nslots + GROWN_CAP / (m->piece_length ? m->piece_length : 1);
    most = most < MAX_SLOTS ? most : MAX_SLOTS;
    ps->max_slots = most > ps->nslots ? (unsigned)most : ps->nslots;
    int ret = -ENOMEM;
    uint64_t total_chunks = crow_manifest_total_chunks(m);
    if (total_chunks > UINT32_MAX || crow_bitfield_init(&ps->chunks, (uint32_t)total_chunks) ||
        crow_bitfield_init(&ps->verified, m->piece_count) ||
        crow_bitfield_init(&ps->to_verify, m->piece_count))
        goto fail;
    ps->piece_have = calloc(m->piece_count ? m->piece_count : 1, sizeof *ps->piece_have);
    ps->writes_pending = calloc(m->piece_count ? m->piece_count : 1, sizeof *ps->writes_pending);
    ps->slots = calloc(ps->max_slots, sizeof *ps->slots);
    if (!ps->piece_have || !ps->writes_pending || !ps->slots)
        goto fail;
    for (unsigned i = 0; i < ps->max_slots; i++) {
        struct slot *s = &ps->slots[i];
        s->ps = ps;
        crow_op_init(&s->op, on_slot_io, s);
        if (i < ps->nslots &&
            (!(s->buf = malloc(m->piece_length)) || !(s->in_mem = calloc(ps->full_chunks, 1))))
            goto fail;
    }
    for (unsigned i = 0; i < MAX_READS; i++)
        crow_op_init(&ps->reads[i].op, on_read_io, &ps->reads[i]);
    crow_op_init(&ps->writeback, on_writeback, ps);
    for (uint32_t p = 0; verified && p < m->piece_count; p++) {
        if (!crow_bitfield_get(verified, p))
            continue;
        crow_bitfield_set(&ps->verified, p);
        uint32_t n = crow_manifest_piece_chunks(m, p);
        uint64_t first = crow_piece_store_first_chunk(ps, p);
        for (uint32_t c = 0; c < n; c++)
            crow_bitfield_set(&ps->chunks, (uint32_t)(first + c));
        ps->piece_have[p] = n;
    }
    *out = ps;
    return 0;
fail:
    crow_piece_store_free(ps);
    return ret;
}

void crow_piece_store_free(crow_piece_store_t *ps)
{
    if (!ps)
        return;
    for (unsigned i = 0; ps->slots && i < ps->max_slots; i++) {
        free(ps->slots[i].buf);
        free(ps->slots[i].in_mem);
    }
    free(ps->slots);
    free(ps->piece_have);
    free(ps->writes_pending);
    crow_bitfield_dispose(&ps->chunks);
    crow_bitfield_dispose(&ps->verified);
    crow_bitfield_dispose(&ps->to_verify);
    free(ps);
}

bool crow_piece_store_busy(const crow_piece_store_t *ps)
{
    for (unsigned i = 0; i < ps->nslots; i++)
        if (crow_op_pending(&ps->slots[i].op))
            return true;
    for (unsigned i = 0; i < MAX_READS; i++)
        if (ps->reads[i].busy)
            return true;
    return ps->direct_bytes != 0 || crow_op_pending(&ps->writeback);
}

uint64_t crow_piece_store_first_chunk(const crow_piece_store_t *ps, uint32_t piece)
{
    return (uint64_t)piece * ps->full_chunks;
}

const crow_bitfield_t *crow_piece_store_chunks(const crow_piece_store_t *ps)
{
    return &ps->chunks;
}
const crow_bitfield_t *crow_piece_store_verified(const crow_piece_store_t *ps)
{
    return &ps->verified;
}
void crow_piece_store_get_stats(const crow_piece_store_t *ps, struct crow_piece_store_stats *out)
{
    *out = ps->stats;
}

/* Submits one read or write per file segment of piece bytes [offset, offset+len) on `op`. Padding
 * files (BEP 47) are zeros that never reach the disk: their bytes are zeroed on a read, dropped on
 * a write, and not submitted. Returns the bytes covered, with the submitted ones in *io_bytes, or a
 * negative code when nothing could be covered. */
static long submit_range(crow_piece_store_t *ps, crow_op_t *op, bool write, uint32_t piece, uint32_t offset,
                         uint8_t *buf, uint32_t len, uint64_t *io_bytes)
{
    crow_layout_iter_t it;
    *io_bytes = 0;
    int ret = crow_layout_iter_piece(&it, ps->m, piece, offset, len);
    if (ret)
        return ret;
    crow_segment_t seg;
    long covered = 0;
    while (crow_layout_next(&it, &seg)) {
        if (ps->m->files[seg.file].attr & CROW_ATTR_PAD) {
            if (!write)
                memset(buf, 0, seg.length);
        } else {
            int fd = crow_storage_fd(ps->storage, seg.file);
            if (fd < 0)
                return covered ? covered : fd;
            ret = write ? crow_io_write(ps->loop, op, fd, buf, (unsigned)seg.length, seg.offset)
                        : crow_io_read(ps->loop, op, fd, buf, (unsigned)seg.length, seg.offset);
            if (ret)
                return covered ? covered : ret;
            *io_bytes += seg.length;
        }
        buf += seg.length;
        covered += (long)seg.length;
    }
    return covered;
}

static void slot_io_begin(struct slot *s, enum slot_state state)
{
    s->state = state;
    s->io_expected = s->io_done = 0;
    s->io_error = 0;
}

/* Adds a range to the slot's pending I/O; a failure to submit is recorded as the slot's error. */
static void slot_io_range(struct slot *s, bool write, uint32_t offset, uint32_t len)
{
    uint64_t io_bytes;
    long n = submit_range(s->ps, &s->op, write, s->piece, offset, s->buf + offset, len, &io_bytes);
    if (n < 0) {
        s->io_error = (int)n;
        return;
    }
    s->io_expected += io_bytes;
    if ((uint64_t)n < len)
        s->io_error = -EIO;
}

static uint32_t chunk_len(const crow_piece_store_t *ps, uint32_t piece, uint32_t c)
{
    uint32_t size = crow_manifest_piece_size(ps->m, piece);
    uint32_t off = c * ps->m->chunk_size;
    return size - off < ps->m->chunk_size ? size - off : ps->m->chunk_size;
}

/* Submits one I/O per run of chunks whose in_mem flag equals `want`. */
static void slot_io_runs(struct slot *s, bool write, bool want)
{
    uint32_t n = crow_manifest_piece_chunks(s->ps->m, s->piece), c = 0;
    while (c < n) {
        if ((s->in_mem[c] != 0) != want) {
            c++;
            continue;
        }
        uint32_t first = c;
        uint32_t len = 0;
        while (c < n && (s->in_mem[c] != 0) == want)
            len += chunk_len(s->ps, s->piece, c++);
        slot_io_range(s, write, first * s->ps->m->chunk_size, len);
    }
}

static void slot_release(struct slot *s)
{
    s->state = SLOT_FREE;
    memset(s->in_mem, 0, s->ps->full_chunks);
}

static void forget_piece(crow_piece_store_t *ps, uint32_t piece)
{
    uint64_t first = crow_piece_store_first_chunk(ps, piece);
    uint32_t n = crow_manifest_piece_chunks(ps->m, piece);
    for (uint32_t c = 0; c < n; c++)
        crow_bitfield_clear(&ps->chunks, (uint32_t)(first + c));
    ps->piece_have[piece] = 0;
}

/* Every chunk of the slot's piece is in its buffer: check the hash, then write the piece out. */
static void verify_and_write(struct slot *s)
{
    crow_piece_store_t *ps = s->ps;
    uint32_t size = crow_manifest_piece_size(ps->m, s->piece);
    uint8_t digest[CROW_SHA256_LEN];
    crow_sha256(s->buf, size, digest);
    if (memcmp(digest, ps->m->sha256 + (size_t)s->piece * CROW_SHA256_LEN, CROW_SHA256_LEN) != 0) {
        uint32_t piece = s->piece;
        ps->stats.pieces_failed++;
        forget_piece(ps, piece);
        slot_release(s);
        crow_log_warn("piece %u failed its SHA-256 check; fetching it again", piece);
        if (ps->ev.on_failed)
            ps->ev.on_failed(ps->ctx, piece);
        try_verify(ps);
        return;
    }
    slot_io_begin(s, SLOT_WRITING);
    slot_io_range(s, true, 0, size);
    if (!crow_op_pending(&s->op))
        on_slot_io(&s->op, 0, 0);
}

/* The piece's chunks are all present: read those not in the buffer, then verify. */
static void start_verify(struct slot *s)
{
    crow_bitfield_clear(&s->ps->to_verify, s->piece);
    slot_io_begin(s, SLOT_READING);
    slot_io_runs(s, false, false);
    if (!crow_op_pending(&s->op))
        on_slot_io(&s->op, 0, 0);
}

/* Starts the write-back of a piece just written: a download at link rate otherwise leaves the
 * whole release dirty (the kernel's background write-back waits for 10% of RAM or 30 s) for the
 * one fsync of the publish (0.15-0.22 s for 256 MiB on an ext4 VM disk). */
static void start_writeback(crow_piece_store_t *ps, uint32_t piece)
{
    crow_layout_iter_t it;
    if (crow_layout_iter_piece(&it, ps->m, piece, 0, crow_manifest_piece_size(ps->m, piece)))
        return;
    crow_segment_t seg;
    while (crow_layout_next(&it, &seg)) {
        int fd = ps->m->files[seg.file].attr & CROW_ATTR_PAD ? -1 : crow_storage_fd(ps->storage, seg.file);
        if (fd >= 0)
            (void)crow_io_sync_file_range(ps->loop, &ps->writeback, fd, seg.offset, (unsigned)seg.length,
                                          SYNC_FILE_RANGE_WRITE);
    }
}

static void on_slot_io(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct slot *s = op->owner;
    crow_piece_store_t *ps = s->ps;
    if (res < 0 && !s->io_error)
        s->io_error = res;
    else if (res > 0)
        s->io_done += (uint64_t)res;
    if (crow_op_pending(op))
        return;
    if (s->state == SLOT_SPILLING)
        ps->writes_pending[s->piece]--;
    int err = s->io_error ? s->io_error : s->io_done != s->io_expected ? -ENOSPC : 0;
    if (err) {
        crow_log_error("disk %s of piece %u: %s", s->state == SLOT_READING ? "read" : "write", s->piece,
                       crow_strerror(err));
        slot_release(s);
        if (ps->ev.on_error)
            ps->ev.on_error(ps->ctx, err);
        return;
    }
    switch (s->state) {
    case SLOT_SPILLING:
        slot_release(s);
        try_verify(ps);
        break;
    case SLOT_READING:
        verify_and_write(s);
        break;
    case SLOT_WRITING: {
        uint32_t piece = s->piece;
        slot_release(s);
        start_writeback(ps, piece);
        crow_bitfield_set(&ps->verified, piece);
        if (ps->ev.on_verified)
            ps->ev.on_verified(ps->ctx, piece);
        try_verify(ps);
        break;
    }
    default:
        break;
    }
}

static void start_spill(struct slot *s)
{
    s->ps->stats.spills++;
    s->ps->writes_pending[s->piece]++;
    slot_io_begin(s, SLOT_SPILLING);
    slot_io_runs(s, true, true);
    if (!crow_op_pending(&s->op))
        on_slot_io(&s->op, 0, 0);
}

/* Keeps SPARE_SLOTS buffers free by spilling the least recently used partial piece other than
 * `taking` (the slot about to be filled: spilling it would release it under the caller). */
static void keep_spares(crow_piece_store_t *ps, const struct slot *taking)
{
    unsigned free_slots = 0;
    struct slot *lru = NULL;
    for (unsigned i = 0; i < ps->nslots; i++) {
        struct slot *s = &ps->slots[i];
        free_slots += s->state == SLOT_FREE;
        if (s != taking && s->state == SLOT_FILLING && (!lru || s->last_use < lru->last_use))
            lru = s;
    }
    if (free_slots < SPARE_SLOTS && lru)
        start_spill(lru);
}

static struct slot *filling_slot(crow_piece_store_t *ps, uint32_t piece)
{
    if (ps->last && ps->last->state == SLOT_FILLING && ps->last->piece == piece)
        return ps->last;
    for (unsigned i = 0; i < ps->nslots; i++)
        if (ps->slots[i].state == SLOT_FILLING && ps->slots[i].piece == piece)
            return &ps->slots[i];
    return NULL;
}

static struct slot *free_slot(crow_piece_store_t *ps)
{
    for (unsigned i = 0; i < ps->nslots; i++)
        if (ps->slots[i].state == SLOT_FREE)
            return &ps->slots[i];
    if (ps->nslots == ps->max_slots)
        return NULL;
    struct slot *s = &ps->slots[ps->nslots];
    if (!(s->buf = malloc(ps->m->piece_length)) || !(s->in_mem = calloc(ps->full_chunks, 1))) {
        free(s->buf);
        s->buf = NULL;
        return NULL;
    }
    ps->nslots++;
    ps->stats.buffers_added++;
    return s;
}

/* The buffer for a piece's new chunks: its own, or a free one; NULL while some of the piece is on
 * its way to disk or when no buffer is free (the chunks then go straight to disk). */
static struct slot *slot_for(crow_piece_store_t *ps, uint32_t piece)
{
    struct slot *s = filling_slot(ps, piece);
    if (s || ps->writes_pending[piece])
        return s;
    if (!(s = free_slot(ps)))
        return NULL;
    s->state = SLOT_FILLING;
    s->piece = piece;
    s->last_use = ++ps->tick;
    keep_spares(ps, s);
    return s;
}

/* Starts verifying complete pieces whose chunks are all on disk or in their buffer. */
static void try_verify(crow_piece_store_t *ps)
{
    for (uint32_t p = crow_bitfield_next_set(&ps->to_verify, 0); p < ps->m->piece_count;
         p = crow_bitfield_next_set(&ps->to_verify, p + 1)) {
        if (ps->writes_pending[p])
            continue;
        struct slot *s = filling_slot(ps, p);
        if (!s && (s = free_slot(ps))) {
            s->state = SLOT_FILLING;
            s->piece = p;
        }
        if (!s)
            return;
        start_verify(s);
    }
}

static void on_direct_written(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct direct_write *dw = op->owner;
    crow_piece_store_t *ps = dw->ps;
    if (res < 0 && !dw->error)
        dw->error = res;
    else if (res > 0)
        dw->done += (uint64_t)res;
    if (crow_op_pending(op))
        return;
    int err = dw->error ? dw->error : dw->done != dw->expected ? -ENOSPC : 0;
    ps->writes_pending[dw->piece]--;
    ps->direct_bytes -= dw->len;
    free(dw);
    if (err) {
        crow_log_error("disk write: %s", crow_strerror(err));
        if (ps->ev.on_error)
            ps->ev.on_error(ps->ctx, err);
        return;
    }
    try_verify(ps);
}

/* Writes chunk-aligned bytes of a piece straight to disk (no buffer was free for the piece). */
static int put_direct(crow_piece_store_t *ps, uint32_t piece, uint32_t offset, const uint8_t *data,
                      uint32_t len)
{
    if (ps->direct_bytes + len > DIRECT_CAP)
        return CROW_ELIMIT;
    struct direct_write *dw = malloc(sizeof *dw + len);
    if (!dw)
        return -ENOMEM;
    *dw = (struct direct_write){.ps = ps, .piece = piece, .len = len};
    crow_op_init(&dw->op, on_direct_written, dw);
    memcpy(dw->data, data, len);
    long n = submit_range(ps, &dw->op, true, piece, offset, dw->data, len, &dw->expected);
    if (!crow_op_pending(&dw->op) && (n < 0 || n == (long)len)) {
        free(dw); /* failed, or all padding: nothing to wait for */
        return n < 0 ? (int)n : 0;
    }
    if (n < (long)len)
        dw->error = -EIO;
    ps->writes_pending[piece]++;
    ps->direct_bytes += len;
    return 0;
}

long crow_piece_store_put(crow_piece_store_t *ps, uint32_t piece, uint32_t offset, const uint8_t *data,
                          uint32_t len)
{
    const crow_manifest_t *m = ps->m;
    uint32_t size = crow_manifest_piece_size(m, piece);
    if (piece >= m->piece_count || offset % m->chunk_size || offset >= size || len > size - offset ||
        (len % m->chunk_size && offset + len != size) || len == 0)
        return CROW_EPROTO;
    uint32_t first = offset / m->chunk_size, last = (offset + len - 1) / m->chunk_size;
    uint64_t base = crow_piece_store_first_chunk(ps, piece);
    uint32_t fresh = 0;
    for (uint32_t c = first; c <= last; c++)
        fresh += !crow_bitfield_get(&ps->chunks, (uint32_t)(base + c));
    if (!fresh) {
        ps->stats.bytes_duplicate += len;
        return 0;
    }
    struct slot *s = slot_for(ps, piece);
    if (s) {
        ps->last = s;
        s->last_use = ++ps->tick;
    } else {
        /* The whole range goes to disk; chunks already present are rewritten with the same bytes. */
        int ret = put_direct(ps, piece, offset, data, len);
        if (ret) {
            ps->stats.dropped_busy++;
            return ret;
        }
    }
    long taken = 0;
    for (uint32_t c = first; c <= last; c++) {
        uint32_t clen = chunk_len(ps, piece, c);
        if (!crow_bitfield_set(&ps->chunks, (uint32_t)(base + c)))
            continue;
        if (s) {
            memcpy(s->buf + c * m->chunk_size, data + (c - first) * m->chunk_size, clen);
            s->in_mem[c] = 1;
        }
        ps->piece_have[piece]++;
        taken += clen;
    }
    ps->stats.bytes_accepted += (uint64_t)taken;
    ps->stats.bytes_duplicate += len - (uint64_t)taken;
    if (ps->piece_have[piece] == crow_manifest_piece_chunks(m, piece)) {
        crow_bitfield_set(&ps->to_verify, piece);
        try_verify(ps);
    }
    return taken;
}

static void on_read_io(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct read_req *r = op->owner;
    if (res < 0 && res != -ETIME && !r->error) /* -ETIME: the zero timeout of an all-padding read */
        r->error = res;
    else if (res > 0)
        r->done += (uint64_t)res;
    if (crow_op_pending(op))
        return;
    r->busy = false;
    int result = r->error ? r->error : r->done != r->expected ? -EIO : (int)r->len;
    crow_op_t *user = r->user;
    user->pending--;
    user->fn(user, result, 0);
}

int crow_piece_store_read(crow_piece_store_t *ps, crow_op_t *op, uint32_t piece, uint32_t offset,
                          uint8_t *buf, uint32_t len)
{
    if (piece >= ps->m->piece_count || !crow_bitfield_get(&ps->verified, piece) || len == 0 ||
        offset >= crow_manifest_piece_size(ps->m, piece) ||
        len > crow_manifest_piece_size(ps->m, piece) - offset)
        return CROW_EPROTO;
    struct read_req *r = NULL;
    for (unsigned i = 0; i < MAX_READS && !r; i++)
        if (!ps->reads[i].busy)
            r = &ps->reads[i];
    if (!r)
        return -EBUSY;
    uint64_t io_bytes;
    long n = submit_range(ps, &r->op, false, piece, offset, buf, len, &io_bytes);
    if (n < 0 && !crow_op_pending(&r->op))
        return (int)n;
    /* All padding: nothing to read, but the callback must come from the loop, as for any read. */
    if (!crow_op_pending(&r->op)) {
        int ret = crow_io_timeout(ps->loop, &r->op, 0);
        if (ret)
            return ret;
    }
    r->busy = true;
    r->user = op;
    r->expected = io_bytes;
    r->len = len;
    r->done = 0;
    r->error = n < (long)len ? -EIO : 0;
    op->pending++;
    return 0;
}
