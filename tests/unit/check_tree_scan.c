/* tree_scan: what a directory walk keeps (regular files with their executable bit, symlinks inside
 * the tree, empty directories), what it refuses or skips (special files, hard links, unreadable
 * entries, symlinks leading out) and the order it returns. */
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
#include "check_main.h"

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

static void put_link(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    ck_assert_int_eq(symlink(text, path), 0);
}

START_TEST(test_scan_keeps_tree_in_byte_order)
{
    make_root();
    put_dir("b");
    put_dir("b/deep");
    put_dir("b/deep/er");
    put_dir("empty_dir");
    put_dir("nest");
    put_dir("nest/empty");
    put_dir("a");
    put_file("b/deep/er/x", 5);
    put_file("b/z", 1);
    put_file("b-c", 2); /* '-' sorts before '/': strcmp order puts it before b/... */
    put_file("B", 3);   /* upper case before lower case */
    put_file("a/empty", 0);
    char path[256], target[256];
    snprintf(path, sizeof path, "%s/b/z", root);
    ck_assert_int_eq(chmod(path, 0750), 0);
    put_link("a/link", "../b/z");
    put_link("a/dangling", "not/yet");
    snprintf(target, sizeof target, "%s/b", root); /* absolute, inside: kept relative to the root */
    put_link("dirlink", target);

    crow_tree_t t;
    struct skips s = {0};
    char why[200];
    ck_assert_int_eq(crow_tree_scan(root, 0, &t, record_skip, &s, why, sizeof why), 0);
    static const struct {
        const char *path;
        enum crow_tree_kind kind;
        uint64_t length;
        bool exec;
        const char *target;
    } want[] = {
        {"B", CROW_TREE_FILE, 3, false, NULL},
        {"a/dangling", CROW_TREE_LINK, 0, false, "a/not/yet"},
        {"a/empty", CROW_TREE_FILE, 0, false, NULL},
        {"a/link", CROW_TREE_LINK, 0, false, "b/z"},
        {"b-c", CROW_TREE_FILE, 2, false, NULL},
        {"b/deep/er/x", CROW_TREE_FILE, 5, false, NULL},
        {"b/z", CROW_TREE_FILE, 1, true, NULL},
        {"dirlink", CROW_TREE_LINK, 0, false, "b"},
        {"empty_dir", CROW_TREE_DIR, 0, false, NULL},
        {"nest/empty", CROW_TREE_DIR, 0, false, NULL}, /* nest holds a directory: not empty */
    };
    ck_assert_uint_eq(t.count, sizeof want / sizeof want[0]);
    ck_assert_uint_eq(t.files, 5);
    for (uint32_t i = 0; i < t.count; i++) {
        const crow_tree_entry_t *e = &t.entries[i];
        ck_assert_str_eq(e->path, want[i].path);
        ck_assert_int_eq(e->kind, want[i].kind);
        ck_assert_uint_eq(e->length, want[i].length);
        ck_assert_int_eq(e->executable, want[i].exec);
        if (want[i].target)
            ck_assert_str_eq(e->target, want[i].target);
        else
            ck_assert_ptr_null(e->target);
        ck_assert_int_eq(crow_manifest_check_path(e->path, strlen(e->path)), 0);
    }
    ck_assert_uint_eq(t.skipped, 0);
    ck_assert_uint_eq(s.count, 0);
    crow_tree_scan_dispose(&t);
    remove_root();
}
END_TEST

/* Each entry a release cannot carry: refused with a reason naming it, or skipped and reported. */
static const struct special_case {
    const char *name;
    int ret;
    const char *why;
} special_cases[] = {
    {"fifo", CROW_EUNSUPPORTED, "sub/x: a FIFO"},
    {"socket", CROW_EUNSUPPORTED, "sub/x: a socket"},
    {"hardlink", CROW_EUNSUPPORTED, "sub/x: a file with 2 hard links"},
    {"outside", CROW_EPATH, "sub/x: a symlink to ../../etc, outside the release"},
    {"absolute", CROW_EPATH, "sub/x: a symlink to /etc/passwd, outside the release"},
    {"through", CROW_EPATH, "sub/x: a symlink to up/../../keep that resolves through another symlink"},
    {"unreadable", -EACCES, "sub/x: may not be read"},
    {"unreadable_dir", -EACCES, "sub/x: a directory that may not be read"},
};

static void make_special(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/sub/x", root);
    if (strcmp(name, "fifo") == 0) {
        ck_assert_int_eq(mkfifo(path, 0644), 0);
    } else if (strcmp(name, "socket") == 0) {
        ck_assert_int_eq(mknod(path, S_IFSOCK | 0644, 0), 0);
    } else if (strcmp(name, "hardlink") == 0) {
        /* The other name lies outside the tree: it still cannot be carried as a hard link. */
        char other[256];
        snprintf(other, sizeof other, "%s.other", root);
        int fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_eq(link(other, path), 0);
    } else if (strcmp(name, "outside") == 0) {
        put_link("sub/x", "../../etc");
    } else if (strcmp(name, "absolute") == 0) {
        put_link("sub/x", "/etc/passwd");
    } else if (strcmp(name, "through") == 0) {
        /* Lexically sub/up/../../keep is keep; really up leads into d/e/f, and two levels up from
         * there is d, which holds no keep. */
        put_dir("d");
        put_dir("d/e");
        put_dir("d/e/f");
        put_link("sub/up", "../d/e/f");
        put_link("sub/x", "up/../../keep");
    } else if (strcmp(name, "unreadable") == 0) {
        put_file("sub/x", 1);
        ck_assert_int_eq(chmod(path, 0), 0);
    } else {
        put_dir("sub/x");
        ck_assert_int_eq(chmod(path, 0), 0);
    }
}

START_TEST(test_scan_refuses_what_it_cannot_carry)
{
    const struct special_case *c = &special_cases[_i];
    if (c->ret == -EACCES && geteuid() == 0)
        return; /* root reads everything */
    make_root();
    put_dir("sub");
    put_file("keep", 1);
    make_special(c->name);
    crow_tree_t t;
    char why[300];
    struct skips s = {0};
    int ret = crow_tree_scan(root, 0, &t, record_skip, &s, why, sizeof why);
    ck_assert_msg(ret == c->ret, "%s: %d (%s), want %d", c->name, ret, why, c->ret);
    ck_assert_msg(strstr(why, c->why), "%s: \"%s\" lacks \"%s\"", c->name, why, c->why);
    crow_tree_scan_dispose(&t);
    ck_assert_int_eq(crow_tree_scan(root, CROW_TREE_SKIP_SPECIAL, &t, record_skip, &s, why, sizeof why), 0);
    ck_assert_uint_eq(t.skipped, 1);
    ck_assert_uint_eq(s.count, 1);
    ck_assert_msg(strncmp(s.seen, "sub/x(", 6) == 0, "%s", s.seen);
    crow_tree_scan_dispose(&t);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s'; rm -f '%s.other'", root, root);
    ck_assert_int_eq(system(cmd), 0);
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
    ck_assert_int_eq(crow_tree_scan(path, 0, &t, NULL, NULL, why, sizeof why), -ENOTDIR);
    ck_assert_ptr_nonnull(strstr(why, "cannot open directory"));
    crow_tree_scan_dispose(&t);
    snprintf(path, sizeof path, "%s/missing", root);
    ck_assert_int_eq(crow_tree_scan(path, 0, &t, NULL, NULL, why, sizeof why), -ENOENT);
    crow_tree_scan_dispose(&t);

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
    ck_assert_int_eq(crow_tree_scan(root, 0, &t, NULL, NULL, why, sizeof why), CROW_ELIMIT);
    ck_assert_msg(strstr(why, "longer than"), "%s", why);
    crow_tree_scan_dispose(&t);
    remove_root();
}
END_TEST

START_TEST(test_scan_empty_tree)
{
    make_root();
    put_dir("only_dirs");
    crow_tree_t t;
    ck_assert_int_eq(crow_tree_scan(root, 0, &t, NULL, NULL, NULL, 0), 0);
    ck_assert_uint_eq(t.count, 1); /* the empty directory only_dirs, and no file */
    ck_assert_uint_eq(t.files, 0);
    ck_assert_int_eq(t.entries[0].kind, CROW_TREE_DIR);
    crow_tree_scan_dispose(&t);
    remove_root();
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("tree_scan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_scan_keeps_tree_in_byte_order);
    tcase_add_loop_test(tc, test_scan_refuses_what_it_cannot_carry, 0,
                        sizeof special_cases / sizeof special_cases[0]);
    tcase_add_test(tc, test_scan_errors);
    tcase_add_test(tc, test_scan_empty_tree);
    suite_add_tcase(s, tc);
    return s;
}
