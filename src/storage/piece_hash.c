/* Parallel piece hashing: worker threads claim pieces in order, read them in blocks and hash
 * them; the calling thread hands the results to the callback strictly in piece order.
 *
 * Memory: one read block per worker, and a window of result slots (a few per worker). A worker
 * does not claim a piece that would not fit the window, so a slow callback or a slow early
 * piece holds the workers back instead of letting results pile up. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/layout.h"
#include "crowcast/storage.h"

#define READ_BLOCK       (1u << 20) /* bytes per read: hashed while still in cache */
#define SLOTS_PER_WORKER 4
#define MAX_WORKERS      64

struct slot {
    bool ready;
    int status;
    uint8_t sha1[CROW_SHA1_LEN];
    uint8_t sha256[CROW_SHA256_LEN];
};

struct run {
    crow_storage_t *s;
    const crow_manifest_t *m;
    int which;
    pthread_mutex_t lock;
    pthread_cond_t claimable; /* workers wait here for the window to move */
    pthread_cond_t filled;    /* the caller waits here for the next slot */
    uint32_t next_claim;      /* first piece no worker took yet */
    uint32_t next_deliver;    /* first piece not yet handed to the callback */
    uint32_t window;          /* slots */
    bool stop;
    struct slot *slots;
};

struct worker {
    struct run *run;
    pthread_t thread;
    uint8_t *buf;
    size_t buf_len;
    crow_hasher_t *sha1;
    crow_hasher_t *sha256;
};

static int hash_piece(struct worker *w, uint32_t piece, struct slot *out)
{
    struct run *r = w->run;
    uint64_t start, len;
    int ret = crow_layout_piece_range(r->m, piece, &start, &len);
    if (ret < 0)
        return ret;
    if (w->sha1)
        crow_hasher_reset(w->sha1);
    if (w->sha256)
        crow_hasher_reset(w->sha256);
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < w->buf_len ? (size_t)(len - done) : w->buf_len;
        if ((ret = crow_storage_read(r->s, start + done, w->buf, n)) < 0)
            return ret;
        if (w->sha1)
            crow_hasher_update(w->sha1, w->buf, n);
        if (w->sha256)
            crow_hasher_update(w->sha256, w->buf, n);
        done += n;
    }
    if (w->sha1)
        crow_hasher_final(w->sha1, out->sha1);
    if (w->sha256)
        crow_hasher_final(w->sha256, out->sha256);
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!r->stop && r->next_claim < r->m->piece_count && r->next_claim - r->next_deliver >= r->window)
            pthread_cond_wait(&r->claimable, &r->lock);
        if (r->stop || r->next_claim >= r->m->piece_count)
            break;
        uint32_t piece = r->next_claim++;
        pthread_mutex_unlock(&r->lock);

        struct slot result = {.ready = true};
        result.status = hash_piece(w, piece, &result);

        pthread_mutex_lock(&r->lock);
        r->slots[piece % r->window] = result;
        pthread_cond_signal(&r->filled);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static unsigned worker_count(unsigned threads, uint32_t pieces)
{
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (unsigned)cpus : 1;
    }
    if (threads > MAX_WORKERS)
        threads = MAX_WORKERS;
    if (threads > pieces)
        threads = pieces ? pieces : 1;
    return threads;
}

static void workers_free(struct worker *ws, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        free(ws[i].buf);
        crow_hasher_free(ws[i].sha1);
        crow_hasher_free(ws[i].sha256);
    }
    free(ws);
}

/* Delivers results in order until every piece is through or the callback stops the run. */
static int deliver(struct run *r, crow_piece_result_cb cb, void *ctx)
{
    int ret = 0;
    pthread_mutex_lock(&r->lock);
    while (ret == 0 && r->next_deliver < r->m->piece_count) {
        struct slot *slot = &r->slots[r->next_deliver % r->window];
        while (!slot->ready)
            pthread_cond_wait(&r->filled, &r->lock);
        struct slot result = *slot;
        slot->ready = false;
        uint32_t piece = r->next_deliver;
        pthread_mutex_unlock(&r->lock);

        bool ok = result.status == 0;
        ret = cb(ctx, piece, result.status, ok && (r->which & CROW_PIECE_SHA1) ? result.sha1 : NULL,
                 ok && (r->which & CROW_PIECE_SHA256) ? result.sha256 : NULL);

        pthread_mutex_lock(&r->lock);
        r->next_deliver++;
        if (ret < 0)
            r->stop = true;
        pthread_cond_broadcast(&r->claimable);
    }
    pthread_mutex_unlock(&r->lock);
    return ret;
}

int crow_storage_hash_pieces(crow_storage_t *s, unsigned threads, int which, crow_piece_result_cb cb,
                             void *ctx)
{
    const crow_manifest_t *m = crow_storage_manifest(s);
    if (m->piece_count == 0)
        return 0;
    unsigned n = worker_count(threads, m->piece_count);
    struct run r = {.s = s, .m = m, .which = which, .window = n * SLOTS_PER_WORKER};
    size_t block = m->piece_length < READ_BLOCK ? m->piece_length : READ_BLOCK;
    int ret = 0;
    struct worker *ws = calloc(n, sizeof *ws);
    r.slots = calloc(r.window, sizeof *r.slots);
    if (!ws || !r.slots) {
        free(r.slots);
        free(ws);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        ws[i].run = &r;
        ws[i].buf_len = block;
        ws[i].buf = malloc(block);
        ws[i].sha1 = which & CROW_PIECE_SHA1 ? crow_hasher_new(CROW_HASH_SHA1) : NULL;
        ws[i].sha256 = which & CROW_PIECE_SHA256 ? crow_hasher_new(CROW_HASH_SHA256) : NULL;
        if (!ws[i].buf || (!ws[i].sha1 && (which & CROW_PIECE_SHA1)) ||
            (!ws[i].sha256 && (which & CROW_PIECE_SHA256))) {
            workers_free(ws, n);
            free(r.slots);
            return -ENOMEM;
        }
    }
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.claimable, NULL);
    pthread_cond_init(&r.filled, NULL);

    unsigned started = 0;
    for (; started < n; started++) {
        int err = pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]);
        if (err) {
            ret = -err;
            break;
        }
    }
    if (started == 0) {
        ret = ret ? ret : -EAGAIN;
    } else {
        /* Fewer workers than planned still finish the job. */
        ret = deliver(&r, cb, ctx);
    }
    pthread_mutex_lock(&r.lock);
    r.stop = true;
    pthread_cond_broadcast(&r.claimable);
    pthread_mutex_unlock(&r.lock);
    for (unsigned i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);

    pthread_cond_destroy(&r.filled);
    pthread_cond_destroy(&r.claimable);
    pthread_mutex_destroy(&r.lock);
    workers_free(ws, n);
    free(r.slots);
    return ret;
}

struct make_ctx {
    crow_piece_hash_cb on_piece;
    void *ctx;
};

static int make_result(void *arg, uint32_t piece, int status, const uint8_t *sha1, const uint8_t *sha256)
{
    struct make_ctx *mc = arg;
    if (status < 0)
        return status;
    mc->on_piece(mc->ctx, piece, sha1, sha256);
    return 0;
}

int crow_piece_hash_run(const crow_manifest_t *m, const char *root, unsigned threads,
                        crow_piece_hash_cb on_piece, void *ctx)
{
    crow_storage_t *s = NULL;
    int ret = crow_storage_open_posix(&s, m, AT_FDCWD, root, 0);
    if (ret < 0)
        return ret;
    struct make_ctx mc = {on_piece, ctx};
    ret = crow_storage_hash_pieces(s, threads, CROW_PIECE_SHA1 | CROW_PIECE_SHA256, make_result, &mc);
    crow_storage_close(s);
    return ret;
}
