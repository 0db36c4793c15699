/* piece store: chunk assembly with fewer buffers than pieces in flight (spills and direct writes),
 * out-of-order and duplicate chunks, a corrupted piece that fails and is fetched again, reads of
 * verified pieces; on a real loop with POSIX files in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/app/piece_store.h"
#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "release_fixture.h"
#include "check_main.h"

#define PIECE 16384u

static const struct fixture_file files[] = {{"a.bin", 100000}, {"sub/empty", 0}, {"sub/b.bin", 250000}};

struct run {
    crow_loop_t *loop;
    uint32_t verified, failed, errors;
    uint32_t pieces;
};

static void on_verified(void *ctx, uint32_t piece)
{
    struct run *r = ctx;
    (void)piece;
    if (++r->verified == r->pieces)
        crow_loop_stop(r->loop, 0);
}

static void on_failed(void *ctx, uint32_t piece)
{
    struct run *r = ctx;
    ck_assert_uint_eq(piece, 5);
    r->failed++;
}

static void on_error(void *ctx, int err)
{
    struct run *r = ctx;
    ck_abort_msg("disk error %s", crow_strerror(err));
    r->errors++;
}

static uint8_t *make_data(crow_manifest_t *m)
{
    uint8_t *data = malloc(m->total_length);
    for (uint64_t i = 0; i < m->total_length; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    m->sha256 = malloc((size_t)m->piece_count * CROW_SHA256_LEN);
    for (uint32_t p = 0; p < m->piece_count; p++)
        crow_sha256(data + (uint64_t)p * PIECE, crow_manifest_piece_size(m, p),
                    m->sha256 + p * CROW_SHA256_LEN);
    return data;
}

static crow_loop_t *new_loop(void)
{
    crow_loop_t *loop;
    int ret = crow_loop_new(&loop, 256);
    if (ret == -ENOSYS || ret == -EPERM)
        exit(77);
    ck_assert_int_eq(ret, 0);
    return loop;
}

/* A store with 4 buffers over the release `files` in a temporary directory, on a real loop; the run
 * stops once `pieces` pieces verified (0: all of them). */
struct rig {
    crow_manifest_t m;
    uint8_t *data;
    char dir[32];
    crow_storage_t *st;
    struct run r;
    crow_piece_store_t *ps;
};

static void rig_open(struct rig *g, uint32_t pieces)
{
    static const struct crow_piece_store_events ev = {on_verified, on_failed, on_error};
    fixture_manifest(&g->m, "rel", false, files, 3, PIECE);
    g->data = make_data(&g->m);
    snprintf(g->dir, sizeof g->dir, "/tmp/check_piece_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g->dir));
    char root[64];
    snprintf(root, sizeof root, "%s/rel", g->dir);
    ck_assert_int_eq(crow_storage_open_posix(&g->st, &g->m, AT_FDCWD, root, CROW_STORAGE_WRITE), 0);
    g->r = (struct run){.loop = new_loop(), .pieces = pieces ? pieces : g->m.piece_count};
    ck_assert_int_eq(crow_piece_store_new(&g->ps, g->r.loop, g->st, NULL, 4, &ev, &g->r), 0);
}

static void rig_close(struct rig *g)
{
    crow_loop_drain(g->r.loop, 1000000000ull);
    crow_piece_store_free(g->ps);
    crow_storage_close(g->st);
    crow_loop_free(g->r.loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g->dir);
    ck_assert_int_eq(system(cmd), 0);
    free(g->data);
    fixture_free(&g->m);
}

START_TEST(test_assembles_more_pieces_than_buffers)
{
    struct rig g;
    rig_open(&g, 0);

    ck_assert_int_eq(crow_piece_store_put(g.ps, 0, 100, g.data, 1024),
                     CROW_EPROTO); /* not on a chunk boundary */
    ck_assert_int_eq(crow_piece_store_put(g.ps, 0, 0, g.data, 1000), CROW_EPROTO); /* ends inside a chunk */
    ck_assert_int_eq(crow_piece_store_put(g.ps, g.m.piece_count, 0, g.data, 1024), CROW_EPROTO);

    /* Round-robin over every piece, one chunk at a time: all 22 pieces in flight with 4 buffers.
     * Piece 5 first gets a corrupted chunk 3. */
    uint8_t bad[1024];
    memset(bad, 0x5a, sizeof bad);
    uint32_t chunks = PIECE / 1024;
    for (uint32_t c = 0; c < chunks; c++) {
        for (uint32_t p = 0; p < g.m.piece_count; p++) {
            uint32_t size = crow_manifest_piece_size(&g.m, p);
            uint32_t off = c * 1024;
            if (off >= size)
                continue;
            uint32_t len = size - off < 1024 ? size - off : 1024;
            const uint8_t *src = p == 5 && c == 3 ? bad : g.data + (uint64_t)p * PIECE + off;
            ck_assert_int_ge(crow_piece_store_put(g.ps, p, off, src, len), 0);
            if (c % 5 == 0) /* duplicates change nothing */
                ck_assert_int_eq(crow_piece_store_put(g.ps, p, off, src, len), 0);
        }
        crow_loop_run_for(g.r.loop, 1000000); /* let some writes complete in between */
    }
    for (int i = 0; i < 200 && g.r.verified + g.r.failed < g.m.piece_count; i++)
        crow_loop_run_for(g.r.loop, 10000000);
    ck_assert_uint_eq(g.r.failed, 1);
    ck_assert_uint_eq(g.r.verified, g.m.piece_count - 1);
    ck_assert(!crow_bitfield_get(crow_piece_store_verified(g.ps), 5));
    /* the failed piece lost its chunks: they are accepted again */
    for (uint32_t c = 0; c < chunks; c++)
        ck_assert_int_eq(crow_piece_store_put(g.ps, 5, c * 1024, g.data + 5 * PIECE + c * 1024, 1024), 1024);
    for (int i = 0; i < 200 && g.r.verified < g.m.piece_count; i++)
        crow_loop_run_for(g.r.loop, 10000000);
    ck_assert_uint_eq(g.r.verified, g.m.piece_count);
    ck_assert(crow_bitfield_full(crow_piece_store_verified(g.ps)));
    struct crow_piece_store_stats stats;
    crow_piece_store_get_stats(g.ps, &stats);
    ck_assert_uint_eq(stats.pieces_failed, 1);
    ck_assert_uint_gt(stats.spills, 0);
    ck_assert_uint_eq(stats.dropped_busy, 0);

    /* what is on disk is the release */
    uint8_t *back = malloc(g.m.total_length);
    ck_assert_int_eq(crow_storage_read(g.st, 0, back, g.m.total_length), 0);
    ck_assert(memcmp(back, g.data, g.m.total_length) == 0);
    free(back);
    crow_loop_drain(g.r.loop, 1000000000ull);
    ck_assert(!crow_piece_store_busy(g.ps));
    rig_close(&g);
}
END_TEST

/* Two pieces busy being written, two buffers free: the next piece takes a free buffer, and keeping
 * spares must not spill (release) that very buffer while its first chunk is being copied in. */
START_TEST(test_new_piece_keeps_its_buffer_while_others_are_written)
{
    struct rig g;
    rig_open(&g, 3);
    /* whole pieces in one call: verified at once, their writes pending until the loop runs */
    ck_assert_int_eq(crow_piece_store_put(g.ps, 0, 0, g.data, PIECE), PIECE);
    ck_assert_int_eq(crow_piece_store_put(g.ps, 1, 0, g.data + PIECE, PIECE), PIECE);
    for (uint32_t off = 0; off < PIECE; off += 1024)
        ck_assert_int_eq(crow_piece_store_put(g.ps, 2, off, g.data + 2 * PIECE + off, 1024), 1024);
    for (int i = 0; i < 200 && g.r.verified + g.r.failed < 3; i++)
        crow_loop_run_for(g.r.loop, 10000000);
    ck_assert_uint_eq(g.r.failed, 0);
    ck_assert_uint_eq(g.r.verified, 3);
    rig_close(&g);
}
END_TEST

/* The disk lags: every buffer holds a complete piece waiting for its write (the loop does not run,
 * so nothing is submitted). Later pieces get new buffers instead of going to disk chunk by chunk
 * (to be read back for the hash), and nothing is spilled. */
START_TEST(test_buffers_added_while_the_disk_lags)
{
    struct rig g;
    rig_open(&g, 10);
    for (uint32_t p = 0; p < 10; p++)
        for (uint32_t off = 0; off < PIECE; off += 1024)
            ck_assert_int_eq(crow_piece_store_put(g.ps, p, off, g.data + p * PIECE + off, 1024), 1024);
    struct crow_piece_store_stats stats;
    crow_piece_store_get_stats(g.ps, &stats);
    ck_assert_uint_eq(stats.buffers_added, 6);
    for (int i = 0; i < 200 && g.r.verified < 10; i++)
        crow_loop_run_for(g.r.loop, 10000000);
    ck_assert_uint_eq(g.r.verified, 10);
    crow_piece_store_get_stats(g.ps, &stats);
    ck_assert_uint_eq(stats.spills, 0);
    ck_assert_uint_eq(stats.buffers_added, 6);
    uint8_t *back = malloc(10 * PIECE);
    ck_assert_int_eq(crow_storage_read(g.st, 0, back, 10 * PIECE), 0);
    ck_assert(memcmp(back, g.data, 10 * PIECE) == 0);
    free(back);
    rig_close(&g);
}
END_TEST

static int read_result;
static void on_read(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    read_result = res;
    crow_loop_stop(op->owner, 0);
}

START_TEST(test_reads_verified_pieces_only)
{
    crow_manifest_t m;
    fixture_manifest(&m, "rel", false, files, 3, PIECE);
    uint8_t *data = make_data(&m);
    char dir[] = "/tmp/check_piece_store.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char root[64];
    snprintf(root, sizeof root, "%s/rel", dir);
    crow_storage_t *st;
    ck_assert_int_eq(crow_storage_open_posix(&st, &m, AT_FDCWD, root, CROW_STORAGE_WRITE), 0);
    ck_assert_int_eq(crow_storage_write(st, 0, data, m.total_length), 0);
    crow_bitfield_t have;
    ck_assert_int_eq(crow_bitfield_init(&have, m.piece_count), 0);
    crow_bitfield_set(&have, 6); /* piece 6 spans a.bin's end, the empty file and b.bin's start */
    struct run r = {.loop = new_loop()};
    static const struct crow_piece_store_events ev = {on_verified, on_failed, on_error};
    crow_piece_store_t *ps;
    ck_assert_int_eq(crow_piece_store_new(&ps, r.loop, st, &have, 4, &ev, &r), 0);
    uint8_t buf[3000];
    crow_op_t op;
    crow_op_init(&op, on_read, r.loop);
    ck_assert_int_eq(crow_piece_store_read(ps, &op, 5, 0, buf, sizeof buf), CROW_EPROTO); /* not verified */
    ck_assert_int_eq(crow_piece_store_read(ps, &op, 6, PIECE - 10, buf, 20),
                     CROW_EPROTO); /* past the piece */
    ck_assert_int_eq(crow_piece_store_read(ps, &op, 6, 1000, buf, sizeof buf), 0);
    crow_loop_run(r.loop);
    ck_assert_int_eq(read_result, (int)sizeof buf);
    ck_assert(memcmp(buf, data + 6 * PIECE + 1000, sizeof buf) == 0);
    crow_piece_store_free(ps);
    crow_bitfield_dispose(&have);
    crow_storage_close(st);
    crow_loop_free(r.loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(data);
    fixture_free(&m);
}
END_TEST

/* BEP 47 padding: reads of it are zeros, one lying wholly inside it completes through the loop
 * like any other (nothing is read from disk), and none of it is a file. */
START_TEST(test_padding_reads_as_zeros)
{
    static const struct fixture_file padded[] = {{"a.bin", 20000}, {".pad/12768", 12768}, {"b.bin", 30000}};
    crow_manifest_t m;
    fixture_manifest(&m, "rel", false, padded, 3, PIECE);
    m.files[1].attr = CROW_ATTR_PAD;
    uint8_t *data = make_data(&m);
    memset(data + 20000, 0, 12768);
    for (uint32_t p = 0; p < m.piece_count; p++)
        crow_sha256(data + (uint64_t)p * PIECE, crow_manifest_piece_size(&m, p),
                    m.sha256 + p * CROW_SHA256_LEN);
    char dir[] = "/tmp/check_piece_store.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char root[64], pad[96];
    snprintf(root, sizeof root, "%s/rel", dir);
    crow_storage_t *st;
    ck_assert_int_eq(crow_storage_open_posix(&st, &m, AT_FDCWD, root, CROW_STORAGE_WRITE), 0);
    ck_assert_int_eq(crow_storage_write(st, 0, data, m.total_length), 0);
    snprintf(pad, sizeof pad, "%s/.pad", root);
    ck_assert_int_eq(access(pad, F_OK), -1);
    crow_bitfield_t have;
    ck_assert_int_eq(crow_bitfield_init(&have, m.piece_count), 0);
    crow_bitfield_set(&have, 1);
    struct run r = {.loop = new_loop()};
    static const struct crow_piece_store_events ev = {on_verified, on_failed, on_error};
    crow_piece_store_t *ps;
    ck_assert_int_eq(crow_piece_store_new(&ps, r.loop, st, &have, 4, &ev, &r), 0);
    uint8_t buf[PIECE];
    crow_op_t op;
    crow_op_init(&op, on_read, r.loop);
    static const uint32_t reads[][2] = {
        {4000, 12384}, {0, PIECE}, {16383, 1}}; /* padding only, mixed, last byte */
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        memset(buf, 0xaa, sizeof buf);
        read_result = 0;
        ck_assert_int_eq(crow_piece_store_read(ps, &op, 1, reads[i][0], buf, reads[i][1]), 0);
        crow_loop_run(r.loop);
        ck_assert_int_eq(read_result, (int)reads[i][1]);
        ck_assert(memcmp(buf, data + PIECE + reads[i][0], reads[i][1]) == 0);
    }
    crow_piece_store_free(ps);
    crow_bitfield_dispose(&have);
    crow_storage_close(st);
    crow_loop_free(r.loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(data);
    fixture_free(&m);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("piece_store");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_assembles_more_pieces_than_buffers);
    tcase_add_test(tc, test_reads_verified_pieces_only);
    tcase_add_test(tc, test_padding_reads_as_zeros);
    tcase_add_test(tc, test_new_piece_keeps_its_buffer_while_others_are_written);
    tcase_add_test(tc, test_buffers_added_while_the_disk_lags);
    suite_add_tcase(s, tc);
    return s;
}
