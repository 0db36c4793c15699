/* tree_attrs and padding: a staged release with an executable, a padding file, symlinks and empty
 * directories publishes with fixed modes whatever the umask, its links and directories in place
 * and no padding on disk; crow_tree_attrs_check names each difference; publishing over a tree that
 * differs only in a link is refused; apply replaces a file where a link belongs and refuses a
 * directory there. */
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
#include "crowcast/tree_attrs.h"
#include "release_fixture.h"
#include "check_main.h"

#define PIECE 16384u

static const struct fixture_file files[] = {{"bin/tool", 20000}, {".pad/12768", 12768}, {"lib/a.so", 100}};
static crow_manifest_t m;
static uint8_t *data;
static char dir[64];

static char *at(const char *rel)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, rel);
    return path[k];
}

static void setup(void)
{
    fixture_manifest(&m, "rel", false, files, 3, PIECE);
    m.files[0].attr = CROW_ATTR_EXEC;
    m.files[1].attr = CROW_ATTR_PAD;
    m.links = calloc(2, sizeof *m.links);
    m.links[0] = (crow_manifest_link_t){strdup("lib/current.so"), strdup("lib/a.so")};
    m.links[1] = (crow_manifest_link_t){strdup("lib/tools"), strdup("bin")};
    m.link_count = 2;
    m.dirs = calloc(1, sizeof *m.dirs);
    m.dirs[0] = strdup("var/empty");
    m.dir_count = 1;
    char why[200];
    ck_assert_msg(crow_manifest_layout(&m, why, sizeof why) == 0, "%s", why);
    data = calloc(1, m.total_length);
    for (uint64_t i = 0; i < m.total_length; i++)
        if (i < 20000 || i >= 32768) /* the padding stays zero */
            data[i] = (uint8_t)(i * 31 + 7);
    m.sha1 = calloc(m.piece_count, CROW_SHA1_LEN);
    m.sha256 = malloc((size_t)m.piece_count * CROW_SHA256_LEN);
    for (uint32_t p = 0; p < m.piece_count; p++) {
        uint64_t start = (uint64_t)p * PIECE, len = crow_manifest_piece_size(&m, p);
        crow_sha256(data + start, len, m.sha256 + p * CROW_SHA256_LEN);
    }
    strcpy(dir, "/tmp/check_tree_attrs.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(data);
    crow_manifest_dispose(&m);
}

static unsigned mode_of(const char *rel)
{
    struct stat st;
    ck_assert_int_eq(lstat(at(rel), &st), 0);
    return st.st_mode & 07777;
}

static void stage_and_publish(int expect)
{
    crow_staging_t *st;
    ck_assert_int_eq(crow_staging_open(&st, &m, dir), 0);
    ck_assert_int_eq(crow_storage_write(crow_staging_storage(st), 0, data, m.total_length), 0);
    ck_assert_int_eq(crow_staging_verify(st, 1), 0);
    ck_assert_uint_eq(crow_staging_verified(st)->count, m.piece_count); /* padding read as zeros */
    char why[200] = "";
    ck_assert_msg(crow_staging_publish(st, why, sizeof why) == expect, "%s", why);
    crow_staging_close(st);
}

struct seen {
    unsigned count;
    char text[1024];
};

static void record(void *ctx, const char *path, const char *what)
{
    struct seen *s = ctx;
    s->count++;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%s: %s\n", path, what);
}

START_TEST(test_publish_applies_the_tree)
{
    mode_t old = umask(077);
    stage_and_publish(0);
    umask(old);
    ck_assert_uint_eq(mode_of("rel/bin/tool"), 0755);
    ck_assert_uint_eq(mode_of("rel/lib/a.so"), 0644);
    ck_assert_uint_eq(mode_of("rel"), 0755);
    ck_assert_uint_eq(mode_of("rel/bin"), 0755);
    ck_assert_uint_eq(mode_of("rel/var"), 0755);
    ck_assert_uint_eq(mode_of("rel/var/empty"), 0755);
    char text[64];
    ssize_t n = readlink(at("rel/lib/current.so"), text, sizeof text - 1);
    ck_assert_int_gt(n, 0);
    text[n] = '\0';
    ck_assert_str_eq(text, "a.so");
    n = readlink(at("rel/lib/tools"), text, sizeof text - 1);
    text[n] = '\0';
    ck_assert_str_eq(text, "../bin");
    ck_assert_int_eq(access(at("rel/.pad"), F_OK), -1); /* padding never lands on disk */
    ck_assert_uint_eq(crow_tree_attrs_check(&m, AT_FDCWD, at("rel"), NULL, NULL), 0);

    /* The same release again is accepted as it stands; one link changed, it is not. */
    stage_and_publish(0);
    ck_assert_int_eq(unlink(at("rel/lib/tools")), 0);
    ck_assert_int_eq(symlink("../var", at("rel/lib/tools")), 0);
    stage_and_publish(-EEXIST);

    /* Every kind of difference is named. */
    ck_assert_int_eq(chmod(at("rel/bin/tool"), 0644), 0);
    ck_assert_int_eq(chmod(at("rel/lib/a.so"), 0700), 0);
    ck_assert_int_eq(unlink(at("rel/lib/current.so")), 0);
    ck_assert_int_eq(rmdir(at("rel/var/empty")), 0);
    struct seen s = {0};
    ck_assert_uint_eq(crow_tree_attrs_check(&m, AT_FDCWD, at("rel"), record, &s), 5);
    ck_assert_uint_eq(s.count, 5);
    ck_assert_ptr_nonnull(
        strstr(s.text, "bin/tool: not executable (mode 0644), the manifest says executable"));
    ck_assert_ptr_nonnull(
        strstr(s.text, "lib/a.so: executable (mode 0700), the manifest says not executable"));
    ck_assert_ptr_nonnull(strstr(s.text, "lib/current.so: missing, the manifest says a symlink to lib/a.so"));
    ck_assert_ptr_nonnull(strstr(s.text, "lib/tools: a symlink to ../var, the manifest says to bin"));
    ck_assert_ptr_nonnull(strstr(s.text, "var/empty: missing, the manifest says an empty directory"));

    /* apply repairs what it may: a file where a link belongs is replaced; a directory is not. */
    ck_assert_int_eq(close(open(at("rel/lib/current.so"), O_CREAT | O_WRONLY, 0644)), 0);
    char why[200];
    ck_assert_int_eq(crow_tree_attrs_apply(&m, AT_FDCWD, at("rel"), why, sizeof why), 0);
    ck_assert_uint_eq(crow_tree_attrs_check(&m, AT_FDCWD, at("rel"), NULL, NULL), 0);
    ck_assert_int_eq(unlink(at("rel/lib/tools")), 0);
    ck_assert_int_eq(mkdir(at("rel/lib/tools"), 0755), 0);
    ck_assert_int_eq(crow_tree_attrs_apply(&m, AT_FDCWD, at("rel"), why, sizeof why), CROW_EPATH);
    ck_assert_ptr_nonnull(strstr(why, "lib/tools"));
}
END_TEST

/* Padding reads as zeros and swallows writes, in every backend path the roles use. */
START_TEST(test_padding_is_zeros)
{
    crow_staging_t *st;
    ck_assert_int_eq(crow_staging_open(&st, &m, dir), 0);
    crow_storage_t *s = crow_staging_storage(st);
    uint8_t junk[PIECE], back[PIECE];
    memset(junk, 0xee, sizeof junk);
    ck_assert_int_eq(crow_storage_write(s, 20000, junk, 12768), 0);
    ck_assert_int_eq(crow_storage_read(s, 20000, back, 12768), 0);
    for (size_t i = 0; i < 12768; i++)
        ck_assert_uint_eq(back[i], 0);
    ck_assert_int_eq(crow_storage_fd(s, 1), -EBADF);
    uint64_t size;
    ck_assert_int_eq(crow_storage_file_error(s, 1, &size), 0);
    ck_assert_uint_eq(size, 12768);
    crow_staging_close(st);
    char hex[65], pad[200];
    crow_hex(m.release_id, 32, hex);
    snprintf(pad, sizeof pad, ".crowcast-staging/%s/rel/.pad", hex);
    ck_assert_int_eq(access(at(pad), F_OK), -1);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("tree_attrs");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_publish_applies_the_tree);
    tcase_add_test(tc, test_padding_is_zeros);
    suite_add_tcase(s, tc);
    return s;
}
