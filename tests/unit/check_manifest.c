/* manifest: round trips through the writer and the parser, piece/chunk arithmetic, path checks,
 * and a table of hostile manifests that must each fail with a precise code and reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/manifest.h"
#include "check_main.h"

/* A manifest under construction, as `crowcast make` builds one; hashes are a fixed pattern. */
static void build(crow_manifest_t *m, const char *name, const char *const *paths, const uint64_t *lengths,
                  uint32_t n, bool single, uint32_t piece_length)
{
    memset(m, 0, sizeof *m);
    m->name = strdup(name);
    m->announce = strdup("http://127.0.0.1:6969/announce");
    m->single_file = single;
    m->piece_length = piece_length;
    m->chunk_size = CROW_DEFAULT_CHUNK_SIZE;
    m->file_count = n;
    m->files = calloc(n, sizeof *m->files);
    for (uint32_t i = 0; i < n; i++) {
        m->files[i].path = strdup(paths[i]);
        m->files[i].length = lengths[i];
    }
    char why[200];
    ck_assert_msg(crow_manifest_layout(m, why, sizeof why) == 0, "%s", why);
    m->sha1 = malloc((size_t)m->piece_count * CROW_SHA1_LEN);
    m->sha256 = malloc((size_t)m->piece_count * CROW_SHA256_LEN);
    for (size_t i = 0; i < (size_t)m->piece_count * CROW_SHA1_LEN; i++)
        m->sha1[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < (size_t)m->piece_count * CROW_SHA256_LEN; i++)
        m->sha256[i] = (uint8_t)(i * 13 + 5);
}

static uint8_t *encode_alloc(const crow_manifest_t *m, long *len)
{
    size_t need = crow_manifest_encoded_size(m);
    uint8_t *buf = malloc(need);
    ck_assert_int_eq(crow_manifest_encode(m, buf, need - 1), CROW_ESPACE);
    *len = crow_manifest_encode(m, buf, need);
    ck_assert_int_eq(*len, (long)need);
    return buf;
}

static void assert_same(const crow_manifest_t *a, const crow_manifest_t *b)
{
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->announce, b->announce);
    ck_assert_int_eq(a->single_file, b->single_file);
    ck_assert_uint_eq(a->total_length, b->total_length);
    ck_assert_uint_eq(a->piece_length, b->piece_length);
    ck_assert_uint_eq(a->piece_count, b->piece_count);
    ck_assert_uint_eq(a->chunk_size, b->chunk_size);
    ck_assert_uint_eq(a->file_count, b->file_count);
    for (uint32_t i = 0; i < a->file_count; i++) {
        ck_assert_str_eq(a->files[i].path, b->files[i].path);
        ck_assert_uint_eq(a->files[i].length, b->files[i].length);
        ck_assert_uint_eq(a->files[i].offset, b->files[i].offset);
    }
    for (uint32_t i = 0; i < a->file_count; i++)
        ck_assert_uint_eq(a->files[i].attr, b->files[i].attr);
    ck_assert_uint_eq(a->link_count, b->link_count);
    for (uint32_t i = 0; i < a->link_count; i++) {
        ck_assert_str_eq(a->links[i].path, b->links[i].path);
        ck_assert_str_eq(a->links[i].target, b->links[i].target);
    }
    ck_assert_uint_eq(a->dir_count, b->dir_count);
    for (uint32_t i = 0; i < a->dir_count; i++)
        ck_assert_str_eq(a->dirs[i], b->dirs[i]);
    ck_assert_uint_eq(a->tracker_count, b->tracker_count);
    for (uint32_t i = 0; i < a->tracker_count; i++) {
        ck_assert_str_eq(a->trackers[i].url, b->trackers[i].url);
        ck_assert_uint_eq(a->trackers[i].tier, b->trackers[i].tier);
    }
    ck_assert_mem_eq(a->sha1, b->sha1, (size_t)a->piece_count * CROW_SHA1_LEN);
    ck_assert_mem_eq(a->sha256, b->sha256, (size_t)a->piece_count * CROW_SHA256_LEN);
}

/* The info dictionary's bytes: from after "4:info" to the root's closing 'e'. */
static void info_ids(const uint8_t *buf, long len, uint8_t id[32], uint8_t ih[20])
{
    const uint8_t *at = memmem(buf, (size_t)len, "4:infod", 7);
    ck_assert_ptr_nonnull(at);
    const uint8_t *info = at + 6;
    size_t n = (size_t)(buf + len - 1 - info);
    crow_sha256(info, n, id);
    crow_sha1(info, n, ih);
}

static void round_trip(crow_manifest_t *m)
{
    long len;
    uint8_t *buf = encode_alloc(m, &len);
    crow_manifest_t p;
    char why[200];
    ck_assert_msg(crow_manifest_parse(buf, (size_t)len, &p, why, sizeof why) == 0, "%s", why);
    assert_same(m, &p);
    uint8_t id[32], ih[20];
    info_ids(buf, len, id, ih);
    ck_assert_mem_eq(p.release_id, id, 32);
    ck_assert_mem_eq(p.info_hash, ih, 20);
    long len2;
    uint8_t *again = encode_alloc(&p, &len2);
    ck_assert_int_eq(len, len2);
    ck_assert_mem_eq(buf, again, (size_t)len);
    free(again);
    free(buf);
    crow_manifest_dispose(&p);
}

START_TEST(test_round_trip_single)
{
    crow_manifest_t m;
    const char *paths[] = {"image.bin"};
    uint64_t lengths[] = {100000};
    build(&m, "image.bin", paths, lengths, 1, true, 16384);
    ck_assert_uint_eq(m.piece_count, 7);
    round_trip(&m);
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_round_trip_multi)
{
    crow_manifest_t m;
    const char *paths[] = {"bin/tool", "empty", "lib/a/b/c.so", "lib/a/d", "README"};
    uint64_t lengths[] = {40000, 0, 1, 70000, 5};
    build(&m, "release-1", paths, lengths, 5, false, 32768);
    ck_assert_uint_eq(m.total_length, 110006);
    ck_assert_uint_eq(m.files[2].offset, 40000);
    ck_assert_uint_eq(m.files[3].offset, 40001);
    ck_assert_uint_eq(m.files[4].offset, 110001);
    ck_assert_uint_eq(m.piece_count, 4);
    round_trip(&m);
    /* Without a tracker the announce key is simply absent. */
    free(m.announce);
    m.announce = NULL;
    long len;
    uint8_t *buf = encode_alloc(&m, &len);
    crow_manifest_t p;
    ck_assert_int_eq(crow_manifest_parse(buf, (size_t)len, &p, NULL, 0), 0);
    ck_assert_ptr_null(p.announce);
    crow_manifest_dispose(&p);
    free(buf);
    crow_manifest_dispose(&m);
}
END_TEST

/* Adds symlinks and empty directories to a manifest being built, then lays it out again. */
static void add_tree_extras(crow_manifest_t *m, const char *const *links, uint32_t nlinks,
                            const char *const *dirs, uint32_t ndirs)
{
    m->links = calloc(nlinks ? nlinks : 1, sizeof *m->links);
    for (uint32_t i = 0; i < nlinks; i++) {
        m->links[i].path = strdup(links[2 * i]);
        m->links[i].target = strdup(links[2 * i + 1]);
    }
    m->link_count = nlinks;
    m->dirs = calloc(ndirs ? ndirs : 1, sizeof *m->dirs);
    for (uint32_t i = 0; i < ndirs; i++)
        m->dirs[i] = strdup(dirs[i]);
    m->dir_count = ndirs;
    char why[200];
    ck_assert_msg(crow_manifest_layout(m, why, sizeof why) == 0, "%s", why);
}

/* BEP 47: executables, padding, symlinks (listed after the files) and crowcast's empty
 * directories survive a round trip; they make a version 2 manifest, a plain tree stays version 1. */
START_TEST(test_round_trip_attributes)
{
    crow_manifest_t m;
    const char *paths[] = {"bin/tool", ".pad/a", "lib/x.so", ".pad/b", "z"};
    uint64_t lengths[] = {100, 16284, 5, 16379, 1};
    build(&m, "rel", paths, lengths, 5, false, 16384);
    long len;
    uint8_t *buf = encode_alloc(&m, &len);
    ck_assert_ptr_nonnull(memmem(buf, (size_t)len, "7:versioni1e", 12));
    ck_assert_ptr_null(memmem(buf, (size_t)len, "4:attr", 6));
    free(buf);
    m.files[0].attr = CROW_ATTR_EXEC;
    m.files[1].attr = m.files[3].attr = CROW_ATTR_PAD;
    m.files[3].path[5] = 'a'; /* the same path twice: padding may repeat */
    const char *links[] = {"lib/current", "lib/x.so", "tool", "bin/tool"};
    const char *dirs[] = {"var/empty", "cache"};
    add_tree_extras(&m, links, 2, dirs, 2);
    ck_assert_uint_eq(m.piece_count, 3);
    ck_assert_uint_eq(m.files[2].offset, 16384); /* after the padding, on a piece boundary */
    round_trip(&m);
    buf = encode_alloc(&m, &len);
    ck_assert_ptr_nonnull(memmem(buf, (size_t)len, "7:versioni2e", 12));
    const char *link_entry = "d4:attr1:l6:lengthi0e4:pathl3:lib7:currente12:symlink pathl3:lib4:x.soee";
    ck_assert_ptr_nonnull(memmem(buf, (size_t)len, link_entry, strlen(link_entry)));
    const char *dir_list = "17:empty directoriesll3:var5:emptyel5:cacheee";
    ck_assert_ptr_nonnull(memmem(buf, (size_t)len, dir_list, strlen(dir_list)));
    free(buf);
    crow_manifest_dispose(&m);

    /* A single executable file: BEP 47 puts attr in info itself. */
    const char *one[] = {"run.sh"};
    uint64_t one_len[] = {10};
    build(&m, "run.sh", one, one_len, 1, true, 16384);
    m.files[0].attr = CROW_ATTR_EXEC;
    round_trip(&m);
    buf = encode_alloc(&m, &len);
    ck_assert_ptr_nonnull(memmem(buf, (size_t)len, "4:infod4:attr1:x8:crowcast", 26));
    free(buf);
    crow_manifest_dispose(&m);
}
END_TEST

/* The writer refuses trees whose paths collide across files, symlinks and empty directories. */
START_TEST(test_layout_rejects_tree_conflicts)
{
    static const struct {
        const char *link, *target, *dir;
        const char *why;
    } cases[] = {
        {"a", "b", NULL, "listed twice"},
        {"l", "a", "l", "listed twice"},
        {"a/l", "a", NULL, "both a file and a directory"},
        {"l", "a", "l/x", "both a symlink and a directory"},
        {NULL, NULL, "a", "listed twice"},
        {NULL, NULL, "b", "both an empty directory and a directory"},
        {"l", "../a", NULL, "unsafe target"},
        {"l", "/etc", NULL, "unsafe target"},
        {"l", "a//b", NULL, "unsafe target"},
        {"/l", "a", NULL, "unsafe path"},
        {NULL, NULL, "x/..", "unsafe path"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crow_manifest_t m;
        const char *paths[] = {"a", "b/c"};
        uint64_t lengths[] = {1, 1};
        build(&m, "rel", paths, lengths, 2, false, 16384);
        m.links = calloc(1, sizeof *m.links);
        m.dirs = calloc(1, sizeof *m.dirs);
        if (cases[i].link) {
            m.links[0].path = strdup(cases[i].link);
            m.links[0].target = strdup(cases[i].target);
            m.link_count = 1;
        }
        if (cases[i].dir) {
            m.dirs[0] = strdup(cases[i].dir);
            m.dir_count = 1;
        }
        char why[200] = "";
        ck_assert_int_eq(crow_manifest_layout(&m, why, sizeof why), CROW_EPATH);
        ck_assert_msg(strstr(why, cases[i].why), "case %zu: \"%s\" lacks \"%s\"", i, why, cases[i].why);
        crow_manifest_dispose(&m);
    }
}
END_TEST

/* BEP 47 asks readers to ignore attr letters they do not know ("h" hidden, Windows'). */
START_TEST(test_attr_unknown_letters_ignored)
{
    const char *t = "d4:infod8:crowcastd10:chunk sizei1408e6:sha25632:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
                    "7:versioni2ee5:filesld4:attr3:hx?6:lengthi100e4:pathl1:xeed4:attr2:hl6:lengthi0e"
                    "4:pathl1:le12:symlink pathl1:xeee4:name1:a12:piece lengthi16384e"
                    "6:pieces20:aaaaaaaaaaaaaaaaaaaaee";
    crow_manifest_t m;
    char why[200];
    ck_assert_msg(crow_manifest_parse((const uint8_t *)t, strlen(t), &m, why, sizeof why) == 0, "%s", why);
    ck_assert_uint_eq(m.file_count, 1);
    ck_assert_uint_eq(m.files[0].attr, CROW_ATTR_EXEC);
    ck_assert_uint_eq(m.link_count, 1);
    ck_assert_str_eq(m.links[0].path, "l");
    ck_assert_str_eq(m.links[0].target, "x");
    ck_assert(crow_manifest_has_attributes(&m));
    crow_manifest_dispose(&m);
}
END_TEST

/* `crowcast make --tracker A --tracker B,C`: announce is A, announce-list is [[A], [B, C]] (BEP 12),
 * written before info and read back tier by tier. */
START_TEST(test_make_writes_announce_list)
{
    crow_manifest_t m;
    const char *paths[] = {"image.bin"};
    uint64_t lengths[] = {100000};
    build(&m, "image.bin", paths, lengths, 1, true, 16384);
    const char *tiers[] = {"http://10.0.0.1:6969/announce",
                           "http://10.0.0.2:6969/announce,udp://t.example:80"};
    char why[200] = "";
    ck_assert_msg(crow_manifest_set_trackers(&m, tiers, 2, why, sizeof why) == 0, "%s", why);
    ck_assert_str_eq(m.announce, "http://10.0.0.1:6969/announce");
    ck_assert_uint_eq(m.tracker_count, 3);
    ck_assert_uint_eq(m.trackers[0].tier, 0);
    ck_assert_uint_eq(m.trackers[1].tier, 1);
    ck_assert_uint_eq(m.trackers[2].tier, 1);
    ck_assert_str_eq(m.trackers[2].url, "udp://t.example:80");
    long len;
    uint8_t *buf = encode_alloc(&m, &len);
    static const char want[] = "d8:announce29:http://10.0.0.1:6969/announce13:announce-list"
                               "ll29:http://10.0.0.1:6969/announceel29:http://10.0.0.2:6969/announce"
                               "18:udp://t.example:80ee4:infod";
    ck_assert_int_eq(memcmp(buf, want, sizeof want - 1), 0);
    free(buf);
    round_trip(&m);

    /* One tracker: announce alone, as before (stock clients read announce). */
    const char *one[] = {"http://10.0.0.1:6969/announce"};
    ck_assert_int_eq(crow_manifest_set_trackers(&m, one, 1, why, sizeof why), 0);
    ck_assert_str_eq(m.announce, one[0]);
    ck_assert_uint_eq(m.tracker_count, 0);
    ck_assert_ptr_null(m.trackers);
    buf = encode_alloc(&m, &len);
    ck_assert_ptr_null(memmem(buf, (size_t)len, "announce-list", 13));
    free(buf);
    round_trip(&m);

    /* None: neither key. */
    ck_assert_int_eq(crow_manifest_set_trackers(&m, NULL, 0, why, sizeof why), 0);
    ck_assert_ptr_null(m.announce);
    ck_assert_uint_eq(m.tracker_count, 0);

    /* Bad arguments leave no tracker behind. */
    static const struct {
        const char *arg;
        int ret;
        const char *why;
    } bad[] = {
        {"", CROW_EMANIFEST, "empty"},
        {"http://a/announce,", CROW_EMANIFEST, "empty"},
        {",http://a/announce", CROW_EMANIFEST, "empty"},
        {"http://a/ann ounce", CROW_EMANIFEST, "space"},
        {"http://a/\x01", CROW_EMANIFEST, "control"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[] = {"http://ok/announce", bad[i].arg};
        ck_assert_int_eq(crow_manifest_set_trackers(&m, args, 2, why, sizeof why), bad[i].ret);
        ck_assert_msg(strstr(why, bad[i].why), "'%s': %s", bad[i].arg, why);
        ck_assert_ptr_null(m.announce);
        ck_assert_ptr_null(m.trackers);
    }
    char many[65 * 4 + 1] = "";
    for (int i = 0; i < 65; i++)
        strcat(many, i ? ",h:/" : "h:/");
    const char *args[] = {many};
    ck_assert_int_eq(crow_manifest_set_trackers(&m, args, 1, why, sizeof why), CROW_ELIMIT);
    ck_assert_ptr_null(m.trackers);
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_encode_needs_hashes)
{
    crow_manifest_t m;
    const char *paths[] = {"x"};
    uint64_t lengths[] = {1};
    build(&m, "x", paths, lengths, 1, true, 16384);
    free(m.sha256);
    m.sha256 = NULL;
    uint8_t buf[512];
    ck_assert_int_eq(crow_manifest_encode(&m, buf, sizeof buf), CROW_EMANIFEST);
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_piece_and_chunk_arithmetic)
{
    crow_manifest_t m;
    const char *paths[] = {"f"};
    uint64_t lengths[] = {100000}; /* 6 full pieces of 16384 and a short one of 1696 */
    build(&m, "f", paths, lengths, 1, true, 16384);
    ck_assert_uint_eq(m.piece_count, 7);
    ck_assert_uint_eq(crow_manifest_piece_size(&m, 0), 16384);
    ck_assert_uint_eq(crow_manifest_piece_size(&m, 5), 16384);
    ck_assert_uint_eq(crow_manifest_piece_size(&m, 6), 1696);
    ck_assert_uint_eq(crow_manifest_piece_size(&m, 7), 0);
    ck_assert_uint_eq(crow_manifest_piece_size(&m, UINT32_MAX), 0);
    ck_assert_uint_eq(crow_manifest_piece_chunks(&m, 0), 12); /* 11 * 1408 + 896 */
    ck_assert_uint_eq(crow_manifest_piece_chunks(&m, 6), 2);  /* 1408 + 288 */
    ck_assert_uint_eq(crow_manifest_piece_chunks(&m, 7), 0);
    ck_assert_uint_eq(crow_manifest_total_chunks(&m), 6 * 12 + 2);
    crow_manifest_dispose(&m);

    /* An exact multiple has no short piece; a chunk size dividing the piece has no short chunk. */
    uint64_t exact[] = {65536};
    build(&m, "f", paths, exact, 1, true, 16384);
    m.chunk_size = 1024;
    ck_assert_uint_eq(m.piece_count, 4);
    ck_assert_uint_eq(crow_manifest_piece_size(&m, 3), 16384);
    ck_assert_uint_eq(crow_manifest_piece_chunks(&m, 3), 16);
    ck_assert_uint_eq(crow_manifest_total_chunks(&m), 64);
    crow_manifest_dispose(&m);

    uint64_t one[] = {1};
    build(&m, "f", paths, one, 1, true, CROW_MAX_PIECE_LENGTH);
    ck_assert_uint_eq(m.piece_count, 1);
    ck_assert_uint_eq(crow_manifest_piece_size(&m, 0), 1);
    ck_assert_uint_eq(crow_manifest_total_chunks(&m), 1);
    crow_manifest_dispose(&m);
}
END_TEST

static const struct {
    const char *path;
    int ret;
} path_cases[] = {
    {"a", 0},
    {"a/b/c.txt", 0},
    {"..a/b..", 0},
    {".hidden/x", 0},
    {"", CROW_EPATH},
    {"/etc/passwd", CROW_EPATH},
    {"a/../b", CROW_EPATH},
    {"..", CROW_EPATH},
    {"a/..", CROW_EPATH},
    {".", CROW_EPATH},
    {"a/./b", CROW_EPATH},
    {"a//b", CROW_EPATH},
    {"a/", CROW_EPATH},
    {"/", CROW_EPATH},
};

START_TEST(test_check_path)
{
    ck_assert_msg(crow_manifest_check_path(path_cases[_i].path, strlen(path_cases[_i].path)) ==
                      path_cases[_i].ret,
                  "%s", path_cases[_i].path);
}
END_TEST

START_TEST(test_check_path_limits)
{
    ck_assert_int_eq(crow_manifest_check_path("a\0b", 3), CROW_EPATH);
    char *big = malloc(CROW_MAX_PATH + 2);
    /* Components of CROW_MAX_NAME bytes pass; one byte more fails. */
    memset(big, 'x', CROW_MAX_NAME + 1);
    ck_assert_int_eq(crow_manifest_check_path(big, CROW_MAX_NAME), 0);
    ck_assert_int_eq(crow_manifest_check_path(big, CROW_MAX_NAME + 1), CROW_EPATH);
    /* Whole paths of CROW_MAX_PATH bytes pass; one byte more fails. */
    for (size_t i = 0; i < CROW_MAX_PATH + 1; i++)
        big[i] = i % 100 == 99 ? '/' : 'y';
    big[CROW_MAX_PATH - 1] = 'z';
    ck_assert_int_eq(crow_manifest_check_path(big, CROW_MAX_PATH), 0);
    big[CROW_MAX_PATH] = 'z';
    ck_assert_int_eq(crow_manifest_check_path(big, CROW_MAX_PATH + 1), CROW_EPATH);
    free(big);
}
END_TEST

static int layout_of(const char *name, const char *const *p, const uint64_t *lengths, uint32_t n, bool single,
                     char *why)
{
    crow_manifest_t m = {.piece_length = 16384, .chunk_size = 1408, .single_file = single, .file_count = n};
    m.name = (char *)name;
    crow_manifest_file_t files[8];
    for (uint32_t i = 0; i < n; i++)
        files[i] = (crow_manifest_file_t){.path = (char *)p[i], .length = lengths[i]};
    m.files = files;
    return crow_manifest_layout(&m, why, 200);
}

START_TEST(test_layout_rejects_conflicts)
{
    char why[200];
    uint64_t len[] = {1, 1, 1, 1};
    const char *dup[] = {"b", "a", "b"};
    ck_assert_int_eq(layout_of("r", dup, len, 3, false, why), CROW_EPATH);
    ck_assert_ptr_nonnull(strstr(why, "listed twice"));
    /* "a-x" sorts between "a" and "a/b" byte-wise: the conflict must still be found. */
    const char *file_and_dir[] = {"a/b", "a-x", "a", "a.txt"};
    ck_assert_int_eq(layout_of("r", file_and_dir, len, 4, false, why), CROW_EPATH);
    ck_assert_ptr_nonnull(strstr(why, "both a file and a directory"));
    const char *fine[] = {"a/b", "a-x", "ab", "a.txt"};
    ck_assert_int_eq(layout_of("r", fine, len, 4, false, why), 0);
    const char *single[] = {"other"};
    ck_assert_int_eq(layout_of("r", single, len, 1, true, why), CROW_EMANIFEST);
    ck_assert_int_eq(layout_of("a/b", fine, len, 4, false, why), CROW_EPATH);
    ck_assert_int_eq(layout_of("..", fine, len, 4, false, why), CROW_EPATH);
    uint64_t zero[] = {0, 0};
    ck_assert_int_eq(layout_of("r", dup, zero, 2, false, why), CROW_EMANIFEST);
    uint64_t huge[] = {(uint64_t)INT64_MAX, 1};
    ck_assert_int_eq(layout_of("r", dup, huge, 2, false, why), CROW_ELIMIT);
}
END_TEST

/* ---- hostile manifests ---- */

#define H20   "aaaaaaaaaaaaaaaaaaaa"
#define H32   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CC    "8:crowcastd10:chunk sizei1408e6:sha25632:" H32 "7:versioni1ee"
#define LEN   "6:lengthi100e"
#define NAM   "4:name1:a"
#define PL    "12:piece lengthi16384e"
#define PCS   "6:pieces20:" H20
#define INFO  "4:infod" CC LEN NAM PL PCS "e"
#define TIER8 "l1:a1:b1:c1:d1:e1:f1:g1:he"
/* BEP 47 and empty directories: a version 2 crowcast dictionary, a file "x", a symlink entry */
#define CC2       "8:crowcastd10:chunk sizei1408e6:sha25632:" H32 "7:versioni2ee"
#define CCD(list) "8:crowcastd10:chunk sizei1408e17:empty directories" list "6:sha25632:" H32 "7:versioni2ee"
#define FILE_X    "5:filesld6:lengthi100e4:pathl1:xee"
#define LINK(t)   "d4:attr1:l6:lengthi0e4:pathl1:le12:symlink path" t "e"

/* A manifest assembled from its info parts, in key order; NULL keeps the valid default. */
static const struct hostile {
    const char *cc, *layout, *name, *plen, *pieces;
    const char *raw; /* used instead of the parts when set */
    int ret;
    const char *why;
} hostile[] = {
    {.raw = "", .ret = CROW_EPARSE, .why = "bencode"},
    {.raw = "i1e", .ret = CROW_EMANIFEST, .why = "top level"},
    {.raw = "d4:infoi1ee", .ret = CROW_EMANIFEST, .why = "info dictionary"},
    {.raw = "d8:announcei1e4:infodee", .ret = CROW_EMANIFEST, .why = "announce"},
    /* announce-list (BEP 12): a list of tiers, each a list of URL strings */
    {.raw = "d13:announce-listi1e" INFO "e", .ret = CROW_EMANIFEST, .why = "list of tiers"},
    {.raw = "d13:announce-listl3:urle" INFO "e", .ret = CROW_EMANIFEST, .why = "tier 1 is not a list"},
    {.raw = "d13:announce-listll1:aeli1eee" INFO "e", .ret = CROW_EMANIFEST, .why = "tier 2: entry 1"},
    {.raw = "d13:announce-listll0:ee" INFO "e", .ret = CROW_EMANIFEST, .why = "not a URL"},
    {.raw = "d13:announce-listll3:a\001bee" INFO "e", .ret = CROW_EMANIFEST, .why = "not a URL"},
    {.raw = "d13:announce-listlldeee" INFO "e", .ret = CROW_EMANIFEST, .why = "not a URL"},
    {.raw = "d13:announce-listl" TIER8 TIER8 TIER8 TIER8 TIER8 TIER8 TIER8 TIER8 "l1:iee" INFO "e",
     .ret = CROW_ELIMIT,
     .why = "more than 64"},
    {.raw = "d4:infod" CC LEN NAM PL PCS "eei0e", .ret = CROW_EPARSE, .why = "trailing"},
    /* unsorted and duplicate keys */
    {.raw = "d4:infod" CC NAM LEN PL PCS "ee", .ret = CROW_EPARSE, .why = "unsorted"},
    {.raw = "d4:infod" CC LEN NAM NAM PL PCS "ee", .ret = CROW_EPARSE, .why = "duplicated"},
    {.raw = "d4:infod" CC LEN NAM PL PCS "e4:infodee", .ret = CROW_EPARSE, .why = "duplicated"},
    /* huge and negative lengths */
    {.layout = "6:lengthi9223372036854775807e", .ret = CROW_ELIMIT, .why = "pieces exceed"},
    {.layout = "6:lengthi1099511627776e",
     .ret = CROW_EMANIFEST,
     .why = "pieces holds 20 bytes, 67108864 pieces"},
    {.layout = "6:lengthi99999999999999999999e", .ret = CROW_EPARSE, .why = "overflows"},
    {.raw = "d4:infod4:name999999999:aee", .ret = CROW_EPARSE, .why = "longer than the input"},
    {.layout = "6:lengthi-1e", .ret = CROW_EMANIFEST, .why = "negative"},
    {.layout = "6:lengthi0e", .ret = CROW_EMANIFEST, .why = "no data"},
    {.layout = "5:filesld6:lengthi-5e4:pathl1:xeee", .ret = CROW_EMANIFEST, .why = "negative"},
    {.layout = "5:filesld6:lengthi9223372036854775807e4:pathl1:xeed6:lengthi1e4:pathl1:yeee",
     .ret = CROW_ELIMIT,
     .why = "2^63-1"},
    {.layout = "", .ret = CROW_EMANIFEST, .why = "length missing"},
    {.layout = "5:filesle6:lengthi100e", .ret = CROW_EMANIFEST, .why = "both"},
    /* unsafe paths */
    {.layout = "5:filesld6:lengthi100e4:pathl2:..1:xeee", .ret = CROW_EPATH, .why = "unsafe path"},
    {.layout = "5:filesld6:lengthi100e4:pathl4:/etceee", .ret = CROW_EPATH, .why = "'/'"},
    {.layout = "5:filesld6:lengthi100e4:pathl0:3:etceee", .ret = CROW_EPATH, .why = "empty"},
    {.layout = "5:filesld6:lengthi100e4:pathl1:a0:eee", .ret = CROW_EPATH, .why = "empty"},
    {.layout = "5:filesld6:lengthi100e4:pathl1:.eee", .ret = CROW_EPATH, .why = "unsafe path"},
    {.layout = "5:filesld6:lengthi100e4:pathl3:a\001beee", .ret = CROW_EPATH, .why = "unsafe"},
    {.layout = "5:filesld6:lengthi100e4:pathleee", .ret = CROW_EMANIFEST, .why = "non-empty list"},
    {.layout = "5:filesld6:lengthi100e4:pathli1eeee", .ret = CROW_EMANIFEST, .why = "not a string"},
    {.layout = "5:filesld6:lengthi100eee", .ret = CROW_EMANIFEST, .why = "path missing"},
    {.layout = "5:filesli1ee", .ret = CROW_EMANIFEST, .why = "not a dictionary"},
    {.layout = "5:filesle", .ret = CROW_EMANIFEST, .why = "non-empty list"},
    {.layout = "5:filesld6:lengthi50e4:pathl1:xeed6:lengthi50e4:pathl1:xeee",
     .ret = CROW_EPATH,
     .why = "twice"},
    {.layout = "5:filesld6:lengthi50e4:pathl1:xeed6:lengthi50e4:pathl1:x1:yeee",
     .ret = CROW_EPATH,
     .why = "file and a directory"},
    {.name = "4:name2:..", .ret = CROW_EPATH, .why = "name"},
    {.name = "4:name3:a/b", .ret = CROW_EPATH, .why = "name"},
    {.name = "4:name0:", .ret = CROW_EPATH, .why = "name"},
    {.name = "4:name3:a\001b", .ret = CROW_EPATH, .why = "NUL"},
    {.name = "", .ret = CROW_EMANIFEST, .why = "name missing"},
    /* piece length and hash lengths */
    {.plen = "12:piece lengthi16385e", .ret = CROW_EMANIFEST, .why = "power of two"},
    {.plen = "12:piece lengthi8192e", .ret = CROW_EMANIFEST, .why = "power of two"},
    {.plen = "12:piece lengthi134217728e", .ret = CROW_EMANIFEST, .why = "piece length"},
    {.plen = "12:piece lengthi0e", .ret = CROW_EMANIFEST, .why = "piece length"},
    {.plen = "12:piece lengthi-16384e", .ret = CROW_EMANIFEST, .why = "piece length"},
    {.plen = "", .ret = CROW_EMANIFEST, .why = "piece length"},
    {.pieces = "6:pieces19:" H20, .ret = CROW_EPARSE, .why = "bencode"},
    {.pieces = "6:pieces19:aaaaaaaaaaaaaaaaaaa", .ret = CROW_EMANIFEST, .why = "pieces holds 19"},
    {.pieces = "6:pieces40:" H20 H20, .ret = CROW_EMANIFEST, .why = "pieces holds 40"},
    {.pieces = "6:piecesi0e", .ret = CROW_EMANIFEST, .why = "pieces missing"},
    {.pieces = "", .ret = CROW_EMANIFEST, .why = "pieces missing"},
    /* the crowcast dictionary */
    {.cc = "", .ret = CROW_EMANIFEST, .why = "crowcast dictionary missing"},
    {.cc = "8:crowcastd10:chunk sizei1408e6:sha25631:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb7:versioni1ee",
     .ret = CROW_EMANIFEST,
     .why = "sha256 holds 31"},
    {.cc = "8:crowcastd10:chunk sizei1408e7:versioni1ee", .ret = CROW_EMANIFEST, .why = "sha256 missing"},
    {.cc = "8:crowcastd10:chunk sizei100e6:sha25632:" H32 "7:versioni1ee",
     .ret = CROW_EMANIFEST,
     .why = "chunk"},
    {.cc = "8:crowcastd10:chunk sizei65001e6:sha25632:" H32 "7:versioni1ee",
     .ret = CROW_EMANIFEST,
     .why = "chunk"},
    {.cc = "8:crowcastd6:sha25632:" H32 "7:versioni1ee", .ret = CROW_EMANIFEST, .why = "chunk"},
    {.cc = "8:crowcastd10:chunk sizei1408e6:sha25632:" H32 "7:versioni2ee",
     .ret = CROW_EMANIFEST,
     .why = "version"},
    {.cc = "8:crowcastl32:" H32 "e", .ret = CROW_EMANIFEST, .why = "crowcast dictionary missing"},
    {.cc = "8:crowcastd10:chunk sizei1408e6:sha25632:" H32 "7:versioni3ee",
     .ret = CROW_EMANIFEST,
     .why = "not 1..2"},
    /* BEP 47 attributes and symlinks */
    {.cc = CC2,
     .layout = "5:filesld4:attri1e6:lengthi100e4:pathl1:xeee",
     .ret = CROW_EMANIFEST,
     .why = "attr"},
    {.cc = CC2,
     .layout = "5:filesld4:attr17:xxxxxxxxxxxxxxxxx6:lengthi100e4:pathl1:xeee",
     .ret = CROW_EMANIFEST,
     .why = "at most 16"},
    {.layout = "5:filesld4:attr1:x6:lengthi100e4:pathl1:xeee",
     .ret = CROW_EMANIFEST,
     .why = "version is 1, but a release with attributes is 2"},
    {.cc = CC2,
     .layout = "5:filesld4:attr2:lx6:lengthi0e4:pathl1:xe12:symlink pathl1:yeee",
     .ret = CROW_EMANIFEST,
     .why = "exclude each other"},
    {.cc = CC2,
     .layout = "5:filesld4:attr2:xp6:lengthi100e4:pathl1:xeee",
     .ret = CROW_EMANIFEST,
     .why = "exclude each other"},
    {.cc = CC2,
     .layout = FILE_X "d4:attr1:l6:lengthi5e4:pathl1:le12:symlink pathl1:xeee",
     .ret = CROW_EMANIFEST,
     .why = "a symlink needs"},
    {.cc = CC2,
     .layout = FILE_X "d4:attr1:l6:lengthi0e4:pathl1:leee",
     .ret = CROW_EMANIFEST,
     .why = "a symlink needs"},
    {.cc = CC2,
     .layout = FILE_X "d6:lengthi0e4:pathl1:le12:symlink pathl1:xeee",
     .ret = CROW_EMANIFEST,
     .why = "a symlink needs"},
    {.cc = CC2,
     .layout = FILE_X LINK("l2:..1:xe") "e",
     .ret = CROW_EPATH,
     .why = "symlink path: unsafe path"},
    {.cc = CC2, .layout = FILE_X LINK("l4:/etce") "e", .ret = CROW_EPATH, .why = "holds '/'"},
    {.cc = CC2, .layout = FILE_X LINK("l1:a0:e") "e", .ret = CROW_EPATH, .why = "empty"},
    {.cc = CC2, .layout = FILE_X LINK("le") "e", .ret = CROW_EMANIFEST, .why = "non-empty list"},
    {.cc = CC2, .layout = FILE_X LINK("i1e") "e", .ret = CROW_EMANIFEST, .why = "non-empty list"},
    {.cc = CC2, .layout = FILE_X LINK("l1:.e") "e", .ret = CROW_EPATH, .why = "unsafe path"},
    {.cc = CC2,
     .layout = FILE_X "d4:attr1:l6:lengthi0e4:pathl1:xe12:symlink pathl1:yeee",
     .ret = CROW_EPATH,
     .why = "listed twice"},
    {.cc = CC2,
     .layout = "5:filesl" LINK("l1:xe") "d6:lengthi100e4:pathl1:l1:xeee",
     .ret = CROW_EPATH,
     .why = "both a symlink and a directory"},
    {.cc = CC2, .layout = "5:filesl" LINK("l1:xe") "e", .ret = CROW_EMANIFEST, .why = "lists no file"},
    {.cc = "4:attr1:x" CC2, .layout = FILE_X "e", .ret = CROW_EMANIFEST, .why = "belongs to single-file"},
    {.cc = "4:attr1:l" CC2, .ret = CROW_EMANIFEST, .why = "can only be executable"},
    {.cc = "4:attr1:p" CC2, .ret = CROW_EMANIFEST, .why = "can only be executable"},
    /* empty directories */
    {.cc = CCD("ll2:..ee"), .layout = FILE_X "e", .ret = CROW_EPATH, .why = "empty directory 0: unsafe path"},
    {.cc = CCD("i1e"), .layout = FILE_X "e", .ret = CROW_EMANIFEST, .why = "not a non-empty list"},
    {.cc = CCD("le"), .layout = FILE_X "e", .ret = CROW_EMANIFEST, .why = "not a non-empty list"},
    {.cc = CCD("ll1:xee"), .layout = FILE_X "e", .ret = CROW_EPATH, .why = "listed twice"},
    {.cc = CCD("ll1:dee"),
     .layout = "5:filesld6:lengthi100e4:pathl1:d1:xeee",
     .ret = CROW_EPATH,
     .why = "both an empty directory and a directory"},
    {.cc = CCD("ll1:dee"), .ret = CROW_EMANIFEST, .why = "single-file release lists empty directories"},
};

/* Concatenates the case into out; byte \001 stands for NUL, which a C string cannot hold. */
static size_t assemble(const struct hostile *h, uint8_t *out, size_t cap)
{
    const char *parts[] = {"d4:infod",
                           h->cc ? h->cc : CC,
                           h->layout ? h->layout : LEN,
                           h->name ? h->name : NAM,
                           h->plen ? h->plen : PL,
                           h->pieces ? h->pieces : PCS,
                           "ee"};
    const char *const raw[] = {h->raw};
    const char *const *list = h->raw ? raw : parts;
    size_t count = h->raw ? 1 : sizeof parts / sizeof parts[0];
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(list[i]);
        ck_assert_uint_lt(n + len, cap);
        memcpy(out + n, list[i], len);
        n += len;
    }
    for (size_t i = 0; i < n; i++)
        if (out[i] == 1)
            out[i] = 0;
    return n;
}

START_TEST(test_hostile_manifest_rejected)
{
    const struct hostile *h = &hostile[_i];
    uint8_t buf[1024];
    size_t n = assemble(h, buf, sizeof buf);
    crow_manifest_t m;
    char why[200];
    int ret = crow_manifest_parse(buf, n, &m, why, sizeof why);
    ck_assert_msg(ret == h->ret, "case %d: got %d (%s), want %d", _i, ret, why, h->ret);
    ck_assert_msg(strstr(why, h->why), "case %d: reason \"%s\" lacks \"%s\"", _i, why, h->why);
    ck_assert_ptr_null(m.files);
    ck_assert_ptr_null(m.name);
}
END_TEST

/* Empty tiers are dropped and the rest numbered without gaps; announce stays as written. */
START_TEST(test_announce_list_tiers)
{
    static const char raw[] = "d8:announce1:x13:announce-listllel1:a1:belel1:cee" INFO "e";
    crow_manifest_t m;
    char why[200] = "";
    ck_assert_msg(crow_manifest_parse((const uint8_t *)raw, sizeof raw - 1, &m, why, sizeof why) == 0, "%s",
                  why);
    ck_assert_str_eq(m.announce, "x");
    ck_assert_uint_eq(m.tracker_count, 3);
    const char *urls[] = {"a", "b", "c"};
    const uint32_t tiers[] = {0, 0, 1};
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_str_eq(m.trackers[i].url, urls[i]);
        ck_assert_uint_eq(m.trackers[i].tier, tiers[i]);
    }
    crow_manifest_dispose(&m);
    static const char empty[] = "d13:announce-listllelee" INFO "e";
    ck_assert_int_eq(crow_manifest_parse((const uint8_t *)empty, sizeof empty - 1, &m, why, sizeof why), 0);
    ck_assert_uint_eq(m.tracker_count, 0);
    ck_assert_ptr_null(m.trackers);
    ck_assert_ptr_null(m.announce);
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_defaults_are_valid)
{
    /* The hostile table only means something if its untouched parts form a valid manifest. */
    struct hostile h = {0};
    uint8_t buf[1024];
    size_t n = assemble(&h, buf, sizeof buf);
    crow_manifest_t m;
    char why[200];
    ck_assert_msg(crow_manifest_parse(buf, n, &m, why, sizeof why) == 0, "%s", why);
    ck_assert_str_eq(m.name, "a");
    ck_assert_uint_eq(m.total_length, 100);
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_every_truncation_rejected)
{
    crow_manifest_t m;
    const char *paths[] = {"d/x", "d/y", "z"};
    uint64_t lengths[] = {20000, 0, 30000};
    build(&m, "t", paths, lengths, 3, false, 16384);
    long len;
    uint8_t *buf = encode_alloc(&m, &len);
    for (long cut = 0; cut < len; cut++) {
        /* A fresh allocation of exactly `cut` bytes lets ASan catch any read past the end. */
        uint8_t *part = malloc((size_t)cut + 1);
        memcpy(part, buf, (size_t)cut);
        crow_manifest_t p;
        char why[200];
        int ret = crow_manifest_parse(part, (size_t)cut, &p, why, sizeof why);
        ck_assert_msg(ret == CROW_EPARSE, "cut at %ld: %d %s", cut, ret, why);
        free(part);
    }
    free(buf);
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_mutations_never_crash)
{
    crow_manifest_t m;
    const char *paths[] = {"d/x", "d/y", "z"};
    uint64_t lengths[] = {20000, 0, 30000};
    build(&m, "t", paths, lengths, 3, false, 16384);
    long len;
    uint8_t *buf = encode_alloc(&m, &len);
    uint8_t *copy = malloc((size_t)len);
    uint32_t seed = 12345;
    unsigned accepted = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy(copy, buf, (size_t)len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % (size_t)len;
            seed = seed * 1103515245u + 12345u;
            copy[at] = (uint8_t)(seed >> 16);
        }
        crow_manifest_t p;
        int ret = crow_manifest_parse(copy, (size_t)len, &p, NULL, 0);
        if (ret == 0) {
            /* Whatever still parses must be self-consistent. */
            accepted++;
            ck_assert_uint_eq(p.piece_count, (p.total_length - 1) / p.piece_length + 1);
            crow_manifest_dispose(&p);
        } else {
            ck_assert_int_lt(ret, 0);
        }
    }
    ck_assert_uint_gt(accepted, 0); /* flips inside hash bytes are harmless */
    free(copy);
    free(buf);
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_load_errors)
{
    crow_manifest_t m;
    char why[200];
    ck_assert_int_eq(crow_manifest_load("/nonexistent/x.torrent", &m, why, sizeof why), -ENOENT);
    ck_assert_ptr_nonnull(strstr(why, "cannot open"));
    ck_assert_int_eq(crow_manifest_load("/", &m, why, sizeof why), CROW_EMANIFEST);
    char path[] = "/tmp/check_manifest.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "d4:infod", 8), 8);
    close(fd);
    ck_assert_int_eq(crow_manifest_load(path, &m, why, sizeof why), CROW_EPARSE);
    unlink(path);
    /* A FIFO is refused at once, not waited on until someone writes to it. */
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(crow_manifest_load(path, &m, why, sizeof why), CROW_EMANIFEST);
    ck_assert_ptr_nonnull(strstr(why, "not a regular file"));
    unlink(path);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("manifest");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip_single);
    tcase_add_test(tc, test_round_trip_multi);
    tcase_add_test(tc, test_round_trip_attributes);
    tcase_add_test(tc, test_layout_rejects_tree_conflicts);
    tcase_add_test(tc, test_attr_unknown_letters_ignored);
    tcase_add_test(tc, test_make_writes_announce_list);
    tcase_add_test(tc, test_announce_list_tiers);
    tcase_add_test(tc, test_encode_needs_hashes);
    tcase_add_test(tc, test_piece_and_chunk_arithmetic);
    tcase_add_loop_test(tc, test_check_path, 0, sizeof path_cases / sizeof path_cases[0]);
    tcase_add_test(tc, test_check_path_limits);
    tcase_add_test(tc, test_layout_rejects_conflicts);
    tcase_add_test(tc, test_defaults_are_valid);
    tcase_add_loop_test(tc, test_hostile_manifest_rejected, 0, sizeof hostile / sizeof hostile[0]);
    tcase_add_test(tc, test_every_truncation_rejected);
    tcase_add_test(tc, test_mutations_never_crash);
    tcase_add_test(tc, test_load_errors);
    suite_add_tcase(s, tc);
    return s;
}
