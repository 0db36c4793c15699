/* tree_scan: what a directory walk keeps (regular files, empty ones too), what it skips
 * (symlinks, FIFOs, empty directories) and the order it returns. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/manifest.h"
#include "crowcast/tree_scan.h"

static char root[64];

static void put_file(const char *rel, size_t bytes)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)bytes), 0);
    close(fd);
}

static void put_dir(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void make_root(void)
{
    strcpy(root, "/tmp/check_tree_scan.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
}

static void remove_root(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

struct skips {
    unsigned count;
    char seen[256];
};

static void record_skip(void *ctx, const char *path, const char *why)
{
    struct skips *s = ctx;
    s->count++;
    size_t n = strlen(s->seen);
    snprintf(s->seen + n, sizeof s->seen - n, "%s(%s);", path, why);
}

START_TEST(test_scan_keeps_files_in_byte_order)
{
    make_root();
    put_dir("b");
    put_dir("b/deep");
    put_dir("b/deep/er");
    put_dir("empty_dir");
    put_dir("a");
    put_file("b/deep/er/x", 5);
    put_file("b/z", 1);
    put_file("b-c", 2); /* '-' sorts before '/': strcmp order puts it before b/... */
    put_file("B", 3);   /* upper case before lower case */
    put_file("a/empty", 0);
    char path[256], target[256];
    snprintf(path, sizeof path, "%s/a/link", root);
    ck_assert_int_eq(symlink("../b/z", path), 0);
    snprintf(path, sizeof path, "%s/dirlink", root);
    snprintf(target, sizeof target, "%s/b", root);
    ck_assert_int_eq(symlink(target, path), 0);
    snprintf(path, sizeof path, "%s/fifo", root);
    ck_assert_int_eq(mkfifo(path, 0644), 0);

    crow_tree_t t;
    struct skips s = {0};
    char why[200];
    ck_assert_int_eq(crow_tree_scan(root, &t, record_skip, &s, why, sizeof why), 0);
    const char *want[] = {"B", "a/empty", "b-c", "b/deep/er/x", "b/z"};
    const uint64_t lengths[] = {3, 0, 2, 5, 1};
    ck_assert_uint_eq(t.count, 5);
    for (uint32_t i = 0; i < t.count; i++) {
        ck_assert_str_eq(t.entries[i].path, want[i]);
        ck_assert_uint_eq(t.entries[i].length, lengths[i]);
        ck_assert_int_eq(crow_manifest_check_path(t.entries[i].path, strlen(t.entries[i].path)), 0);
    }
    ck_assert_uint_eq(t.skipped, 3);
    ck_assert_uint_eq(s.count, 3);
    ck_assert_ptr_nonnull(strstr(s.seen, "a/link(symlink)"));
    ck_assert_ptr_nonnull(strstr(s.seen, "dirlink(symlink)"));
    ck_assert_ptr_nonnull(strstr(s.seen, "fifo(not a regular file or directory)"));
    crow_tree_dispose(&t);
    remove_root();
}
END_TEST

START_TEST(test_scan_errors)
{
    make_root();
    put_file("f", 1);
    crow_tree_t t;
    char why[200], path[256];
    snprintf(path, sizeof path, "%s/f", root);
    ck_assert_int_eq(crow_tree_scan(path, &t, NULL, NULL, why, sizeof why), -ENOTDIR);
    ck_assert_ptr_nonnull(strstr(why, "cannot open directory"));
    crow_tree_dispose(&t);
    snprintf(path, sizeof path, "%s/missing", root);
    ck_assert_int_eq(crow_tree_scan(path, &t, NULL, NULL, why, sizeof why), -ENOENT);
    crow_tree_dispose(&t);

    /* 17 nested names of 255 bytes: a path past CROW_MAX_PATH is refused, not truncated. */
    int fd = open(root, O_RDONLY | O_DIRECTORY);
    char name[CROW_MAX_NAME + 1];
    memset(name, 'n', CROW_MAX_NAME);
    name[CROW_MAX_NAME] = '\0';
    for (int depth = 0; depth < 17; depth++) {
        ck_assert_int_eq(mkdirat(fd, name, 0755), 0);
        int sub = openat(fd, name, O_RDONLY | O_DIRECTORY);
        ck_assert_int_ge(sub, 0);
        close(fd);
        fd = sub;
    }
    close(fd);
    ck_assert_int_eq(crow_tree_scan(root, &t, NULL, NULL, why, sizeof why), CROW_ELIMIT);
    ck_assert_msg(strstr(why, "longer than"), "%s", why);
    crow_tree_dispose(&t);
    remove_root();
}
END_TEST

START_TEST(test_scan_empty_tree)
{
    make_root();
    put_dir("only_dirs");
    crow_tree_t t;
    ck_assert_int_eq(crow_tree_scan(root, &t, NULL, NULL, NULL, 0), 0);
    ck_assert_uint_eq(t.count, 0);
    crow_tree_dispose(&t);
    remove_root();
}
END_TEST

static Suite *tree_scan_suite(void)
{
    Suite *s = suite_create("tree_scan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_scan_keeps_files_in_byte_order);
    tcase_add_test(tc, test_scan_errors);
    tcase_add_test(tc, test_scan_empty_tree);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tree_scan_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
