/* link_path: lexical resolution of symlink texts into root-relative targets (escapes, absolute
 * texts, odd components) and the relative text that points back at a target. */
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/link_path.h"
#include "check_main.h"

static const struct target_case {
    const char *link, *text, *abs_root;
    int ret;
    const char *want;
} target_cases[] = {
    {"l", "a", NULL, 0, "a"},
    {"l", "./a//b/", NULL, 0, "a/b"},
    {"d/l", "x", NULL, 0, "d/x"},
    {"d/e/l", "../x", NULL, 0, "d/x"},
    {"d/e/l", "../../x/y", NULL, 0, "x/y"},
    {"d/e/l", "../../../x", NULL, CROW_EPATH, NULL}, /* climbs out of the release */
    {"l", "..", NULL, CROW_EPATH, NULL},
    {"d/l", "..", NULL, CROW_EPATH, NULL},         /* the root itself */
    {"d/l", "../x/../..", NULL, CROW_EPATH, NULL}, /* back in, then out */
    {"d/l", "x/../../../etc", NULL, CROW_EPATH, NULL},
    {"l", "", NULL, CROW_EPATH, NULL},
    {"l", ".", NULL, CROW_EPATH, NULL},
    {"l", "/etc/passwd", NULL, CROW_EPATH, NULL},
    {"l", "/srv/rel/bin/tool", "/srv/rel", 0, "bin/tool"},
    {"a/b/l", "/srv/rel/bin/../lib", "/srv/rel", 0, "lib"},
    {"l", "/srv/release/x", "/srv/rel", CROW_EPATH, NULL}, /* a sibling with the root as prefix */
    {"l", "/srv/rel", "/srv/rel", CROW_EPATH, NULL},
    {"l", "/srv/rel/../x", "/srv/rel", CROW_EPATH, NULL},
    {"l", "/etc/passwd", "/srv/rel", CROW_EPATH, NULL},
};

START_TEST(test_target)
{
    const struct target_case *c = &target_cases[_i];
    char out[64];
    int ret = crow_link_path_target(c->link, c->text, c->abs_root, out, sizeof out);
    ck_assert_msg(ret == c->ret, "case %d (%s -> %s): %d, want %d", _i, c->link, c->text, ret, c->ret);
    if (c->want)
        ck_assert_str_eq(out, c->want);
}
END_TEST

START_TEST(test_target_space)
{
    char out[4];
    ck_assert_int_eq(crow_link_path_target("l", "abcd", NULL, out, sizeof out), CROW_ESPACE);
    ck_assert_int_eq(crow_link_path_target("l", "abc", NULL, out, sizeof out), 0);
    ck_assert_int_eq(crow_link_path_target("l", "abc", NULL, out, 0), CROW_ESPACE);
    /* A component longer than NAME_MAX is unsafe even though it stays inside. */
    char text[300], big[400];
    memset(text, 'n', 256);
    text[256] = '\0';
    ck_assert_int_eq(crow_link_path_target("l", text, NULL, big, sizeof big), CROW_EPATH);
}
END_TEST

START_TEST(test_text)
{
    char out[64];
    ck_assert_int_eq(crow_link_path_text("l", "bin/tool", out, sizeof out), 8);
    ck_assert_str_eq(out, "bin/tool");
    ck_assert_int_eq(crow_link_path_text("a/b/l", "c", out, sizeof out), 7);
    ck_assert_str_eq(out, "../../c");
    ck_assert_int_eq(crow_link_path_text("a/b/l", "c", out, 7), CROW_ESPACE);
    ck_assert_int_eq(crow_link_path_text("a/b/l", "c", out, 3), CROW_ESPACE);
    /* The shortest text from the link's directory; it resolves back to the target. */
    static const char *const cases[][3] = {
        {"x/y/z/l", "x/q", "../../q"}, {"lib/so", "lib/so.1", "so.1"}, {"bin/lib", "lib", "../lib"},
        {"a/b/l", "a", ".."},          {"a/b/l", "a/b", "."},          {"a/b/l", "a/bc/d", "../bc/d"},
        {"a/b/l", "a/b/c/d", "c/d"},   {"ab/l", "a/x", "../a/x"},      {"a/b/c/l", "q", "../../../q"},
        {"a/b/c/l", "a/b", ".."},      {"a/b/c/l", "a", "../.."},      {"l", "x/y", "x/y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char back[64];
        ck_assert_int_ge(crow_link_path_text(cases[i][0], cases[i][1], out, sizeof out), 1);
        ck_assert_msg(strcmp(out, cases[i][2]) == 0, "%s -> %s: %s, want %s", cases[i][0], cases[i][1], out,
                      cases[i][2]);
        ck_assert_int_eq(crow_link_path_target(cases[i][0], out, NULL, back, sizeof back), 0);
        ck_assert_str_eq(back, cases[i][1]);
    }
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("link_path");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_target, 0, sizeof target_cases / sizeof target_cases[0]);
    tcase_add_test(tc, test_target_space);
    tcase_add_test(tc, test_text);
    suite_add_tcase(s, tc);
    return s;
}
