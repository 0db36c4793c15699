/* release_diff: two releases built in memory (files with seeded contents, hashed as make does)
 * compared: identical, one file edited in place, added, removed, resized (later files shift and
 * become undetermined), shared-piece edits, a mode flip, symlinks and empty directories, padding
 * ignored, other piece lengths, and the bytes a host holding the old release would receive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/hash.h"
#include "crowcast/release_diff.h"
#include "check_main.h"

#define PL 16384u

struct spec {
    const char *path;
    uint64_t length;
    uint8_t seed; /* contents: byte i is seed * 31 + i * 7 (mod 256) */
    uint32_t attr;
};

/* A release of `n` files (and optional links "path=target" and dirs), hashed. */
static void build(crow_manifest_t *m, const struct spec *files, uint32_t n, const char *const *links,
                  uint32_t nlinks, const char *const *dirs, uint32_t ndirs, uint32_t piece_length)
{
    memset(m, 0, sizeof *m);
    m->name = strdup("rel");
    m->piece_length = piece_length;
    m->chunk_size = 1024;
    m->files = calloc(n, sizeof *m->files);
    for (uint32_t i = 0; i < n; i++)
        m->files[m->file_count++] = (crow_manifest_file_t){
            .path = strdup(files[i].path), .length = files[i].length, .attr = files[i].attr};
    m->links = calloc(nlinks ? nlinks : 1, sizeof *m->links);
    for (uint32_t i = 0; i < nlinks; i++) {
        const char *eq = strchr(links[i], '=');
        m->links[m->link_count++] =
            (crow_manifest_link_t){strndup(links[i], (size_t)(eq - links[i])), strdup(eq + 1)};
    }
    m->dirs = calloc(ndirs ? ndirs : 1, sizeof *m->dirs);
    for (uint32_t i = 0; i < ndirs; i++)
        m->dirs[m->dir_count++] = strdup(dirs[i]);
    char why[200];
    ck_assert_msg(crow_manifest_layout(m, why, sizeof why) == 0, "%s", why);
    uint8_t *data = malloc(m->total_length);
    for (uint32_t f = 0; f < n; f++)
        for (uint64_t i = 0; i < files[f].length; i++)
            data[m->files[f].offset + i] =
                files[f].attr & CROW_ATTR_PAD ? 0 : (uint8_t)(files[f].seed * 31u + i * 7u);
    m->sha1 = calloc(m->piece_count, CROW_SHA1_LEN);
    m->sha256 = malloc((size_t)m->piece_count * CROW_SHA256_LEN);
    for (uint32_t p = 0; p < m->piece_count; p++)
        crow_sha256(data + (uint64_t)p * piece_length, crow_manifest_piece_size(m, p),
                    m->sha256 + (size_t)p * CROW_SHA256_LEN);
    free(data);
}

/* The diff as one line per entry, "<change><mode> path", e.g. "~ a", "+x b", "?  c". */
static void describe(const crow_release_diff_t *d, char *out, size_t cap)
{
    static const char mark[] = {'=', '+', '-', '~', '?'};
    static const char kind[] = {'f', 'l', 'd'};
    out[0] = '\0';
    for (uint32_t i = 0; i < d->count; i++) {
        const crow_diff_entry_t *e = &d->entries[i];
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%c%c%c %s;", kind[e->what], mark[e->change], e->mode_changed ? 'x' : ' ',
                 e->path);
    }
}

static const struct spec base[] = {
    {"a.bin", 2 * PL, 1, 0},   /* pieces 0-1 */
    {"b.bin", 3 * PL, 2, 0},   /* pieces 2-4 */
    {"c.bin", 100, 3, 0},      /* piece 5, shared with d */
    {"d.bin", PL - 100, 4, 0}, /* the rest of piece 5 */
    {"run.sh", 5000, 5, CROW_ATTR_EXEC},
};
static const char *const base_links[] = {"lib/cur=b.bin", "tool=run.sh"};
static const char *const base_dirs[] = {"var/empty"};

static void check(const struct spec *files, uint32_t n, const char *const *links, uint32_t nlinks,
                  const char *const *dirs, uint32_t ndirs, uint32_t pl, const char *want, uint32_t same,
                  uint32_t pieces_new, uint64_t bytes)
{
    crow_manifest_t a, b;
    build(&a, base, 5, base_links, 2, base_dirs, 1, PL);
    build(&b, files, n, links, nlinks, dirs, ndirs, pl);
    crow_release_diff_t d;
    ck_assert_int_eq(crow_release_diff(&a, &b, &d), 0);
    char got[512];
    describe(&d, got, sizeof got);
    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(d.files_same, same);
    ck_assert_uint_eq(d.pieces_new, pieces_new);
    ck_assert_uint_eq(d.bytes_to_move, bytes);
    ck_assert_uint_eq(d.pieces_total, b.piece_count);
    ck_assert_uint_eq(d.bytes_total, b.total_length);
    crow_release_diff_dispose(&d);
    crow_manifest_dispose(&a);
    crow_manifest_dispose(&b);
}

START_TEST(test_identical)
{
    check(base, 5, base_links, 2, base_dirs, 1, PL, "", 5, 0, 0);
}
END_TEST

START_TEST(test_edit_in_place)
{
    struct spec s[5];
    memcpy(s, base, sizeof s);
    s[1].seed = 9; /* b.bin, three pieces of its own */
    check(s, 5, base_links, 2, base_dirs, 1, PL, "f~  b.bin;", 4, 3, 3 * PL);
}
END_TEST

START_TEST(test_shared_piece_is_undetermined)
{
    struct spec s[5];
    memcpy(s, base, sizeof s);
    s[2].seed = 9; /* c.bin shares its only piece with d.bin: neither can be judged */
    check(s, 5, base_links, 2, base_dirs, 1, PL, "f?  c.bin;f?  d.bin;", 3, 1, PL);
}
END_TEST

START_TEST(test_resize_shifts_what_follows)
{
    struct spec s[5];
    memcpy(s, base, sizeof s);
    s[0].length = 2 * PL + 10; /* a.bin grows: every later file moves within its pieces */
    /* a.bin's first two pieces are as before; from its tail on every piece is new. */
    check(s, 5, base_links, 2, base_dirs, 1, PL, "f~  a.bin;f?  b.bin;f?  c.bin;f?  d.bin;f?  run.sh;", 0, 5,
          4 * PL + 5010);
}
END_TEST

START_TEST(test_added_removed_and_mode)
{
    const struct spec s[] = {
        {"a.bin", 2 * PL, 1, CROW_ATTR_EXEC}, /* became executable */
        {"b.bin", 3 * PL, 2, 0},
        {"c.bin", 100, 3, 0},
        {"d.bin", PL - 100, 4, 0},
        {"new.bin", 3000, 7, 0},
    };
    /* run.sh removed (its piece is the release's short last one): new.bin's piece is new */
    check(s, 5, base_links, 2, base_dirs, 1, PL, "f=x a.bin;f+  new.bin;f-  run.sh;", 3, 1, 3000);
}
END_TEST

START_TEST(test_links_dirs_and_padding)
{
    const struct spec s[] = {
        {"a.bin", 2 * PL, 1, 0},   {"b.bin", 3 * PL, 2, 0},         {"c.bin", 100, 3, 0},
        {"d.bin", PL - 100, 4, 0}, {".pad/0", 0, 0, CROW_ATTR_PAD}, {"run.sh", 5000, 5, CROW_ATTR_EXEC},
    };
    const char *const links[] = {"lib/cur=a.bin", "lib/new=c.bin"};
    const char *const dirs[] = {"cache"};
    check(s, 6, links, 2, dirs, 1, PL, "l~  lib/cur;l+  lib/new;l-  tool;d+  cache;d-  var/empty;", 5, 0, 0);
}
END_TEST

START_TEST(test_other_piece_length)
{
    /* The same files in 32 KiB pieces: nothing can be judged, and only the last piece (run.sh
     * alone, in both) is one the old release has. */
    check(base, 5, base_links, 2, base_dirs, 1, 2 * PL, "f?  a.bin;f?  b.bin;f?  c.bin;f?  d.bin;f?  run.sh;",
          0, 3, 6 * PL);
}
END_TEST

START_TEST(test_moved_content_is_reused)
{
    /* b.bin renamed: removed and added, but its pieces are all there already. */
    struct spec s[5];
    memcpy(s, base, sizeof s);
    s[1].path = "b2.bin";
    check(s, 5, base_links, 2, base_dirs, 1, PL, "f-  b.bin;f+  b2.bin;", 4, 0, 0);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("release_diff");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_identical);
    tcase_add_test(tc, test_edit_in_place);
    tcase_add_test(tc, test_shared_piece_is_undetermined);
    tcase_add_test(tc, test_resize_shifts_what_follows);
    tcase_add_test(tc, test_added_removed_and_mode);
    tcase_add_test(tc, test_links_dirs_and_padding);
    tcase_add_test(tc, test_other_piece_length);
    tcase_add_test(tc, test_moved_content_is_reused);
    suite_add_tcase(s, tc);
    return s;
}
