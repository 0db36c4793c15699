/* storage: memory and POSIX backends (round trips across files, preallocation, missing and short
 * files), parallel piece hashing, verify, staging -> publish, hostile paths and planted symlinks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/storage.h"
#include "release_fixture.h"
#include "check_main.h"

/* 5 pieces of 16 KiB (the last one short), nested directories, an empty file, and a piece that
 * spans three files. */
static const struct fixture_file tree[] = {
    {"a/b/c.bin", 20000}, {"a/b/empty", 0}, {"a/d.bin", 100}, {"a/e.bin", 30000}, {"z.bin", 20000},
};
#define PIECE 16384u

static crow_manifest_t m;
static uint8_t *data; /* the release stream */
static char dir[64];  /* a fresh temp directory per test */

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 2654435761u >> 13);
}

/* Fills m.sha1 / m.sha256 from `data`, as `crowcast make` would. */
static void hash_manifest(crow_manifest_t *r, const uint8_t *bytes)
{
    r->sha1 = malloc((size_t)r->piece_count * CROW_SHA1_LEN);
    r->sha256 = malloc((size_t)r->piece_count * CROW_SHA256_LEN);
    for (uint32_t p = 0; p < r->piece_count; p++) {
        uint64_t start = (uint64_t)p * r->piece_length;
        uint64_t len = r->total_length - start < r->piece_length ? r->total_length - start : r->piece_length;
        crow_sha1(bytes + start, len, r->sha1 + p * CROW_SHA1_LEN);
        crow_sha256(bytes + start, len, r->sha256 + p * CROW_SHA256_LEN);
    }
}

static void setup(void)
{
    fixture_manifest(&m, "rel", false, tree, sizeof tree / sizeof tree[0], PIECE);
    data = malloc(m.total_length);
    for (uint64_t i = 0; i < m.total_length; i++)
        data[i] = pattern(i);
    hash_manifest(&m, data);
    strcpy(dir, "/tmp/check_storage.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(data);
    fixture_free(&m);
}

static char *at(const char *rel)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, rel);
    return path[k];
}

static void write_file(const char *rel, const void *bytes, size_t len)
{
    FILE *f = fopen(at(rel), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

/* Writes the release through the storage in uneven slices, reads it back whole and by piece. */
static void round_trip(crow_storage_t *s)
{
    static const size_t slices[] = {1, 19999, 2, 7000, 33333, 5};
    uint64_t pos = 0;
    for (size_t i = 0; pos < m.total_length; i = (i + 1) % 6) {
        size_t n = slices[i] < m.total_length - pos ? slices[i] : (size_t)(m.total_length - pos);
        ck_assert_int_eq(crow_storage_write(s, pos, data + pos, n), 0);
        pos += n;
    }
    uint8_t *back = calloc(1, m.total_length);
    ck_assert_int_eq(crow_storage_read(s, 0, back, m.total_length), 0);
    ck_assert_mem_eq(back, data, m.total_length);
    /* Piece 1 = bytes [16384, 32768): the end of c.bin, all of d.bin, the start of e.bin. */
    memset(back, 0, PIECE);
    ck_assert_int_eq(crow_storage_read_piece(s, 1, 0, back, PIECE), 0);
    ck_assert_mem_eq(back, data + PIECE, PIECE);
    ck_assert_int_eq(crow_storage_read_piece(s, 4, 0, back, 4), 0); /* short last piece */
    ck_assert_mem_eq(back, data + 4 * PIECE, 4);
    ck_assert_int_eq(crow_storage_read_piece(s, 4, 0, back, PIECE), -ERANGE);
    ck_assert_int_eq(crow_storage_read(s, m.total_length - 1, back, 2), -ERANGE);
    free(back);
}

START_TEST(test_memory_round_trip)
{
    crow_storage_t *s;
    ck_assert_int_eq(crow_storage_open_memory(&s, &m), 0);
    round_trip(s);
    ck_assert_int_eq(crow_storage_fd(s, 0), CROW_EUNSUPPORTED);
    ck_assert_int_eq(crow_storage_sync(s), 0);
    crow_storage_close(s);
}
END_TEST

START_TEST(test_posix_creates_preallocates_and_round_trips)
{
    crow_storage_t *s;
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), CROW_STORAGE_WRITE), 0);
    for (uint32_t i = 0; i < m.file_count; i++) {
        struct stat st;
        char rel[64];
        snprintf(rel, sizeof rel, "rel/%s", tree[i].path);
        ck_assert_int_eq(stat(at(rel), &st), 0);
        ck_assert_uint_eq((uint64_t)st.st_size, tree[i].length);
        if (tree[i].length) {
            /* fallocate reserved the blocks (not a sparse ftruncate) where the fs supports it */
            ck_assert_uint_ge((uint64_t)st.st_blocks * 512, tree[i].length);
            ck_assert_int_ge(crow_storage_fd(s, i), 0);
        }
    }
    round_trip(s);
    ck_assert_int_eq(crow_storage_sync(s), 0);
    crow_storage_close(s);

    /* Read-only reopen sees the same bytes, refuses writes. */
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), 0), 0);
    uint8_t *back = malloc(m.total_length);
    ck_assert_int_eq(crow_storage_read(s, 0, back, m.total_length), 0);
    ck_assert_mem_eq(back, data, m.total_length);
    ck_assert_int_eq(crow_storage_write(s, 0, back, 1), -EBADF);
    crow_storage_close(s);

    /* Reopening for writing keeps the data (resume). */
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), CROW_STORAGE_WRITE), 0);
    ck_assert_int_eq(crow_storage_read(s, 0, back, m.total_length), 0);
    ck_assert_mem_eq(back, data, m.total_length);
    crow_storage_close(s);
    free(back);
}
END_TEST

START_TEST(test_posix_single_file)
{
    crow_manifest_t one;
    const struct fixture_file f = {"one.bin", 40000};
    fixture_manifest(&one, "one.bin", true, &f, 1, PIECE);
    crow_storage_t *s;
    ck_assert_int_eq(crow_storage_open_posix(&s, &one, AT_FDCWD, at("one.bin"), CROW_STORAGE_WRITE), 0);
    ck_assert_int_eq(crow_storage_write(s, 0, data, 40000), 0);
    crow_storage_close(s);
    struct stat st;
    ck_assert_int_eq(stat(at("one.bin"), &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(st.st_size, 40000);
    fixture_free(&one);
}
END_TEST

START_TEST(test_missing_and_short_files)
{
    crow_storage_t *s;
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), CROW_STORAGE_WRITE), 0);
    ck_assert_int_eq(crow_storage_write(s, 0, data, m.total_length), 0);
    crow_storage_close(s);
    ck_assert_int_eq(unlink(at("rel/a/d.bin")), 0);
    ck_assert_int_eq(truncate(at("rel/z.bin"), 100), 0);

    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), 0), -ENOENT);
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), CROW_STORAGE_PARTIAL), 0);
    uint64_t size;
    ck_assert_int_eq(crow_storage_file_error(s, 2, &size), -ENOENT);
    ck_assert_int_eq(crow_storage_file_error(s, 4, &size), 0);
    ck_assert_uint_eq(size, 100);
    uint8_t buf[PIECE];
    ck_assert_int_eq(crow_storage_read_piece(s, 1, 0, buf, PIECE), -EBADF);             /* d.bin missing */
    ck_assert_int_eq(crow_storage_read(s, m.files[4].offset + 50, buf, 100), -ENODATA); /* short */

    crow_bitfield_t good;
    ck_assert_int_eq(crow_bitfield_init(&good, m.piece_count), 0);
    ck_assert_int_eq(crow_storage_verify(s, 2, &good, NULL, NULL), 0);
    /* piece 0 lies in c.bin only; 1 needs d.bin; 2 is in e.bin; 3 and 4 need z.bin's tail */
    ck_assert(crow_bitfield_get(&good, 0));
    ck_assert(!crow_bitfield_get(&good, 1));
    ck_assert(crow_bitfield_get(&good, 2));
    ck_assert(!crow_bitfield_get(&good, 3));
    ck_assert(!crow_bitfield_get(&good, 4));
    crow_bitfield_dispose(&good);
    crow_storage_close(s);

    /* A missing root: every file reported, nothing crashes. */
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("nothing"), CROW_STORAGE_PARTIAL), 0);
    for (uint32_t i = 0; i < m.file_count; i++)
        ck_assert_int_eq(crow_storage_file_error(s, i, &size), -ENOENT);
    crow_storage_close(s);
}
END_TEST

struct collected {
    uint32_t next;
    uint8_t sha1[8][CROW_SHA1_LEN];
    uint8_t sha256[8][CROW_SHA256_LEN];
};

static void collect(void *ctx, uint32_t piece, const uint8_t sha1[20], const uint8_t sha256[32])
{
    struct collected *c = ctx;
    ck_assert_uint_eq(piece, c->next); /* in piece order */
    memcpy(c->sha1[piece], sha1, CROW_SHA1_LEN);
    memcpy(c->sha256[piece], sha256, CROW_SHA256_LEN);
    c->next++;
}

START_TEST(test_piece_hash_run_matches_reference)
{
    crow_storage_t *s;
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), CROW_STORAGE_WRITE), 0);
    ck_assert_int_eq(crow_storage_write(s, 0, data, m.total_length), 0);
    crow_storage_close(s);
    uint8_t *sha1 = m.sha1, *sha256 = m.sha256;
    m.sha1 = m.sha256 = NULL; /* as during make */
    static const unsigned threads[] = {1, 2, 3, 0, 16};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        struct collected c = {0};
        ck_assert_int_eq(crow_piece_hash_run(&m, at("rel"), threads[t], collect, &c), 0);
        ck_assert_uint_eq(c.next, m.piece_count);
        for (uint32_t p = 0; p < m.piece_count; p++) {
            ck_assert_mem_eq(c.sha1[p], sha1 + p * CROW_SHA1_LEN, CROW_SHA1_LEN);
            ck_assert_mem_eq(c.sha256[p], sha256 + p * CROW_SHA256_LEN, CROW_SHA256_LEN);
        }
    }
    struct collected c = {0};
    ck_assert_int_eq(unlink(at("rel/a/e.bin")), 0);
    ck_assert_int_eq(crow_piece_hash_run(&m, at("rel"), 2, collect, &c), -ENOENT);
    m.sha1 = sha1;
    m.sha256 = sha256;
}
END_TEST

static void count_progress(void *ctx, uint32_t done, uint32_t total, uint32_t good)
{
    uint32_t *calls = ctx;
    ck_assert_uint_eq(done, ++*calls);
    ck_assert_uint_le(good, done);
    ck_assert_uint_eq(total, 5);
}

START_TEST(test_verify_finds_one_flipped_byte)
{
    crow_storage_t *s;
    ck_assert_int_eq(crow_storage_open_memory(&s, &m), 0);
    ck_assert_int_eq(crow_storage_write(s, 0, data, m.total_length), 0);
    crow_bitfield_t good;
    ck_assert_int_eq(crow_bitfield_init(&good, m.piece_count), 0);
    uint32_t calls = 0;
    ck_assert_int_eq(crow_storage_verify(s, 2, &good, count_progress, &calls), 0);
    ck_assert_uint_eq(calls, 5);
    ck_assert(crow_bitfield_full(&good));
    uint8_t flipped = data[3 * PIECE + 7] ^ 0x01;
    ck_assert_int_eq(crow_storage_write(s, 3 * PIECE + 7, &flipped, 1), 0);
    ck_assert_int_eq(crow_storage_verify(s, 0, &good, NULL, NULL), 0);
    ck_assert_uint_eq(good.count, 4);
    ck_assert(!crow_bitfield_get(&good, 3));
    crow_bitfield_dispose(&good);
    crow_storage_close(s);
}
END_TEST

static int exists(const char *rel)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -e '%s'", at(rel));
    return system(cmd) == 0;
}

START_TEST(test_staging_publish)
{
    crow_staging_t *st;
    ck_assert_int_eq(crow_staging_open(&st, &m, dir), 0);
    char hex[65], staged[200];
    crow_hex(m.release_id, 32, hex);
    snprintf(staged, sizeof staged, ".crowcast-staging/%s/rel/a/e.bin", hex);
    ck_assert(exists(staged));
    ck_assert(!crow_staging_resumed(st)); /* just created: nothing there to re-check */
    crow_storage_t *s = crow_staging_storage(st);
    /* Half the pieces, then a restart: resume finds exactly those. */
    ck_assert_int_eq(crow_storage_write_piece(s, 0, 0, data, PIECE), 0);
    ck_assert_int_eq(crow_storage_write_piece(s, 3, 0, data + 3 * PIECE, PIECE), 0);
    crow_staging_close(st);
    ck_assert_int_eq(crow_staging_open(&st, &m, dir), 0);
    ck_assert(crow_staging_resumed(st));
    s = crow_staging_storage(st);
    ck_assert_int_eq(crow_staging_verify(st, 2), 0);
    const crow_bitfield_t *v = crow_staging_verified(st);
    ck_assert_uint_eq(v->count, 2);
    ck_assert(crow_bitfield_get(v, 0) && crow_bitfield_get(v, 3));

    /* Refused while a piece is missing; nothing appears in OUTDIR. */
    char why[200];
    ck_assert_int_eq(crow_staging_publish(st, why, sizeof why), CROW_EHASH);
    ck_assert_ptr_nonnull(strstr(why, "3 of 5"));
    ck_assert(!exists("rel"));

    for (uint32_t p = 0; p < m.piece_count; p++) {
        uint64_t start = (uint64_t)p * PIECE;
        size_t len = m.total_length - start < PIECE ? (size_t)(m.total_length - start) : PIECE;
        ck_assert_int_eq(crow_storage_write_piece(s, p, 0, data + start, len), 0);
        crow_staging_mark_verified(st, p);
    }
    ck_assert_int_eq(crow_staging_publish(st, why, sizeof why), 0);
    crow_staging_close(st);
    ck_assert(exists("rel/a/b/empty"));
    ck_assert(!exists(".crowcast-staging"));
    crow_storage_t *pub;
    ck_assert_int_eq(crow_storage_open_posix(&pub, &m, AT_FDCWD, at("rel"), 0), 0);
    uint8_t *back = malloc(m.total_length);
    ck_assert_int_eq(crow_storage_read(pub, 0, back, m.total_length), 0);
    ck_assert_mem_eq(back, data, m.total_length);
    crow_storage_close(pub);

    /* The same release again: the identical target is accepted and the staged copy removed. */
    ck_assert_int_eq(crow_staging_open(&st, &m, dir), 0);
    ck_assert(!crow_staging_resumed(st)); /* publishing removed the old staging directory */
    ck_assert_int_eq(crow_storage_write(crow_staging_storage(st), 0, data, m.total_length), 0);
    ck_assert_int_eq(crow_staging_verify(st, 1), 0);
    ck_assert_int_eq(crow_staging_publish(st, why, sizeof why), 0);
    crow_staging_close(st);
    ck_assert(!exists(".crowcast-staging"));

    /* A different target is never overwritten. */
    back[0] ^= 0xff;
    write_file("rel/a/b/c.bin", back, 20000);
    ck_assert_int_eq(crow_staging_open(&st, &m, dir), 0);
    ck_assert_int_eq(crow_storage_write(crow_staging_storage(st), 0, data, m.total_length), 0);
    ck_assert_int_eq(crow_staging_verify(st, 1), 0);
    ck_assert_int_eq(crow_staging_publish(st, why, sizeof why), -EEXIST);
    ck_assert_ptr_nonnull(strstr(why, "already exists"));
    crow_staging_close(st);
    ck_assert(exists(staged)); /* the staged copy stays for a later attempt */
    free(back);
}
END_TEST

/* get --previous: pieces come from an older copy on disk when their content matches, each checked;
 * a damaged piece there, or a missing copy, is left to the network. */
START_TEST(test_staging_takes_from_previous)
{
    crow_storage_t *old;
    ck_assert_int_eq(crow_storage_open_posix(&old, &m, AT_FDCWD, at("old"), CROW_STORAGE_WRITE), 0);
    ck_assert_int_eq(crow_storage_write(old, 0, data, m.total_length), 0);
    crow_storage_close(old);
    /* Piece 3 of the old copy rots: bytes [49152, 65536) start in a/e.bin at offset 29052. */
    uint8_t junk[16] = {0};
    FILE *f = fopen(at("old/a/e.bin"), "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 29100, SEEK_SET), 0);
    ck_assert_uint_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    crow_staging_t *st;
    ck_assert_int_eq(crow_staging_open(&st, &m, dir), 0);
    crow_staging_mark_verified(st, 0); /* already there: not copied again */
    uint64_t bytes;
    ck_assert_int_eq(crow_staging_take(st, &m, at("old"), &bytes), 3);
    ck_assert_uint_eq(bytes, 2 * PIECE + (m.total_length - 4 * PIECE));
    const crow_bitfield_t *v = crow_staging_verified(st);
    ck_assert(!crow_bitfield_get(v, 3) && v->count == 4);
    /* What was taken is really there. */
    crow_bitfield_t good;
    ck_assert_int_eq(crow_bitfield_init(&good, m.piece_count), 0);
    ck_assert_int_eq(crow_storage_verify(crow_staging_storage(st), 1, &good, NULL, NULL), 0);
    ck_assert(crow_bitfield_get(&good, 1) && crow_bitfield_get(&good, 2) && crow_bitfield_get(&good, 4));
    crow_bitfield_dispose(&good);
    ck_assert_int_eq(crow_staging_take(st, &m, at("nowhere"), &bytes), 0);
    ck_assert_uint_eq(bytes, 0);
    crow_staging_close(st);
}
END_TEST

static const char *const hostile[] = {"../escape", "/etc/passwd", "a//b", "a/../../b", "./a", "a/", "", ".."};

START_TEST(test_hostile_paths_rejected)
{
    crow_manifest_t bad;
    const struct fixture_file files[] = {{"ok.bin", 10}, {hostile[_i], 10}};
    fixture_manifest(&bad, "rel", false, files, 2, PIECE);
    crow_storage_t *s = NULL;
    ck_assert_int_eq(crow_storage_open_posix(&s, &bad, AT_FDCWD, at("rel"), CROW_STORAGE_WRITE), CROW_EPATH);
    ck_assert_int_eq(crow_storage_open_posix(&s, &bad, AT_FDCWD, at("rel"), CROW_STORAGE_PARTIAL),
                     CROW_EPATH);
    ck_assert(!exists("rel/ok.bin"));
    ck_assert(!exists("escape"));
    fixture_free(&bad);

    crow_manifest_t badname;
    const struct fixture_file one = {"x", 10};
    fixture_manifest(&badname, hostile[_i], true, &one, 1, PIECE);
    crow_staging_t *st;
    ck_assert_int_eq(crow_staging_open(&st, &badname, dir), CROW_EPATH);
    fixture_free(&badname);
}
END_TEST

START_TEST(test_planted_symlinks_rejected)
{
    ck_assert_int_eq(mkdir(at("outside"), 0755), 0);
    ck_assert_int_eq(mkdir(at("rel"), 0755), 0);
    /* A directory of the tree is a symlink to outside: nothing may be created through it. */
    ck_assert_int_eq(symlink(at("outside"), at("rel/a")), 0);
    crow_storage_t *s = NULL;
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), CROW_STORAGE_WRITE), CROW_EPATH);
    ck_assert(!exists("outside/b"));
    ck_assert(!exists("outside/d.bin"));

    /* The file itself is a symlink to an outside file: it is neither written nor read. */
    ck_assert_int_eq(unlink(at("rel/a")), 0);
    write_file("outside/victim", "keep", 4);
    ck_assert_int_eq(symlink(at("outside/victim"), at("rel/z.bin")), 0);
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), CROW_STORAGE_WRITE), CROW_EPATH);
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), 0), CROW_EPATH);
    struct stat st;
    ck_assert_int_eq(stat(at("outside/victim"), &st), 0);
    ck_assert_int_eq(st.st_size, 4);

    /* A FIFO where a file belongs is refused without blocking. */
    ck_assert_int_eq(unlink(at("rel/z.bin")), 0);
    ck_assert_int_eq(mkfifo(at("rel/z.bin"), 0644), 0);
    ck_assert_int_eq(crow_storage_open_posix(&s, &m, AT_FDCWD, at("rel"), 0), CROW_EPATH);
    ck_assert_int_eq(unlink(at("rel/z.bin")), 0);

    /* The staged root replaced by a symlink. */
    char hex[65], link[200];
    crow_hex(m.release_id, 32, hex);
    snprintf(link, sizeof link, ".crowcast-staging/%s", hex);
    ck_assert_int_eq(mkdir(at(".crowcast-staging"), 0700), 0);
    ck_assert_int_eq(mkdir(at(link), 0755), 0);
    snprintf(link, sizeof link, ".crowcast-staging/%s/rel", hex);
    ck_assert_int_eq(symlink(at("outside"), at(link)), 0);
    crow_staging_t *stg;
    ck_assert_int_eq(crow_staging_open(&stg, &m, dir), CROW_EPATH);
    ck_assert(!exists("outside/a"));
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("storage");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_memory_round_trip);
    tcase_add_test(tc, test_posix_creates_preallocates_and_round_trips);
    tcase_add_test(tc, test_posix_single_file);
    tcase_add_test(tc, test_missing_and_short_files);
    tcase_add_test(tc, test_piece_hash_run_matches_reference);
    tcase_add_test(tc, test_verify_finds_one_flipped_byte);
    tcase_add_test(tc, test_staging_publish);
    tcase_add_test(tc, test_staging_takes_from_previous);
    tcase_add_loop_test(tc, test_hostile_paths_rejected, 0, sizeof hostile / sizeof hostile[0]);
    tcase_add_test(tc, test_planted_symlinks_rejected);
    suite_add_tcase(s, tc);
    return s;
}
