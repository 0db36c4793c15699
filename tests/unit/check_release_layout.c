/* release_layout: padding puts files of a piece or more on piece starts, or where the previous
 * release had them within their pieces; small files stay packed; the result lays out (offsets,
 * version 2) and keeps a file's own pieces across an earlier file's growth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/release_layout.h"
#include "check_main.h"

#define PL 16384u

static void files_of(crow_manifest_t *m, const char *const *paths, const uint64_t *lengths, uint32_t n)
{
    memset(m, 0, sizeof *m);
    m->name = strdup("rel");
    m->piece_length = PL;
    m->chunk_size = 1024;
    m->files = calloc(n, sizeof *m->files);
    for (uint32_t i = 0; i < n; i++)
        m->files[m->file_count++] = (crow_manifest_file_t){.path = strdup(paths[i]), .length = lengths[i]};
}

/* "path:length" for each entry, padding as "+length". */
static void describe(const crow_manifest_t *m, char *out, size_t cap)
{
    out[0] = '\0';
    for (uint32_t i = 0; i < m->file_count; i++) {
        size_t n = strlen(out);
        if (m->files[i].attr & CROW_ATTR_PAD)
            snprintf(out + n, cap - n, "+%llu ", (unsigned long long)m->files[i].length);
        else
            snprintf(out + n, cap - n, "%s:%llu ", m->files[i].path, (unsigned long long)m->files[i].length);
    }
}

START_TEST(test_align_without_previous)
{
    crow_manifest_t m;
    const char *paths[] = {"a", "big", "b", "c", "huge", "tail"};
    const uint64_t lengths[] = {10, PL + 5, 7, 3, 3 * PL, 1};
    files_of(&m, paths, lengths, 6);
    char why[200], got[256];
    ck_assert_int_eq(crow_release_layout_align(&m, NULL, why, sizeof why), 2);
    describe(&m, got, sizeof got);
    ck_assert_str_eq(got, "a:10 +16374 big:16389 b:7 c:3 +16369 huge:49152 tail:1 ");
    ck_assert_str_eq(m.files[1].path, ".pad/16374");
    ck_assert_msg(crow_manifest_layout(&m, why, sizeof why) == 0, "%s", why);
    ck_assert_uint_eq(m.files[2].offset % PL, 0);
    ck_assert_uint_eq(m.files[6].offset % PL, 0);
    ck_assert(crow_manifest_has_attributes(&m));
    crow_manifest_dispose(&m);
}
END_TEST

START_TEST(test_follow_previous)
{
    crow_manifest_t prev, m;
    /* Before: big sits 100 bytes into a piece; kept at 100 whatever precedes it now. */
    const char *old_paths[] = {"a", "big", "gone"};
    const uint64_t old_lengths[] = {100, 5 * PL, 2 * PL};
    files_of(&prev, old_paths, old_lengths, 3);
    char why[200], got[256];
    ck_assert_int_eq(crow_manifest_layout(&prev, why, sizeof why), 0);
    const char *paths[] = {"a", "big", "gone", "new"};
    const uint64_t lengths[] = {5000, 5 * PL, 2 * PL + 1, PL};
    files_of(&m, paths, lengths, 4);
    ck_assert_int_eq(crow_release_layout_align(&m, &prev, why, sizeof why), 1);
    describe(&m, got, sizeof got);
    /* big: from 5000 to 16384 + 100; gone changed length and new is new: both packed */
    ck_assert_str_eq(got, "a:5000 +11484 big:81920 gone:32769 new:16384 ");
    ck_assert_int_eq(crow_manifest_layout(&m, why, sizeof why), 0);
    ck_assert_uint_eq(m.files[2].offset % PL, 100);
    crow_manifest_dispose(&m);

    /* A previous release in other pieces cannot be followed. */
    files_of(&m, paths, lengths, 4);
    m.piece_length = 2 * PL;
    ck_assert_int_eq(crow_release_layout_align(&m, &prev, why, sizeof why), CROW_EMANIFEST);
    ck_assert_ptr_nonnull(strstr(why, "piece length"));
    crow_manifest_dispose(&m);
    crow_manifest_dispose(&prev);
}
END_TEST

START_TEST(test_already_aligned_adds_nothing)
{
    crow_manifest_t m;
    const char *paths[] = {"x", "y"};
    const uint64_t lengths[] = {2 * PL, PL};
    files_of(&m, paths, lengths, 2);
    char why[200];
    ck_assert_int_eq(crow_release_layout_align(&m, NULL, why, sizeof why), 0);
    ck_assert_uint_eq(m.file_count, 2);
    crow_manifest_dispose(&m);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("release_layout");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_align_without_previous);
    tcase_add_test(tc, test_follow_previous);
    tcase_add_test(tc, test_already_aligned_adds_nothing);
    suite_add_tcase(s, tc);
    return s;
}
