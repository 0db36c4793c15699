/* ipv4: the one dotted-quad (and ADDR:PORT) parser and formatter; anything but exactly a.b.c.d is refused. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/ipv4.h"
#include "check_main.h"

static const struct {
    const char *text;
    bool ok;
    uint32_t addr;
} ipv4_cases[] = {
    {"0.0.0.0", true, 0},
    {"255.255.255.255", true, 0xffffffff},
    {"127.0.1.2", true, 0x7f000102},
    {"1.2.3", false, 0},
    {"1.2.3.4.", false, 0},
    {"1.2.3.4.5", false, 0},
    {"256.1.1.1", false, 0},
    {"01.1.1.1", false, 0},
    {"1..1.1", false, 0},
    {"1.2.3.4 ", false, 0},
    {"", false, 0},
    {"1234.1.1.1", false, 0},
    {" 1.2.3.4", false, 0},
    {"+1.2.3.4", false, 0},
    {"-1.2.3.4", false, 0},
    {"1.2.3.0x4", false, 0},
    {"1.2.3.04", false, 0}, /* octal to inet_aton */
    {"1.2.3.999", false, 0},
    {"1.2.3.", false, 0},
    {".1.2.3", false, 0},
    {"1,2,3,4", false, 0},
    {"4294967295", false, 0}, /* one number: inet_aton takes it */
    {"1.2.3.4\n", false, 0},
    {"10.0.0.1", true, 0x0a000001},
};

START_TEST(test_ipv4_parse)
{
    uint32_t a = 0;
    bool ok = crow_ipv4_parse(ipv4_cases[_i].text, strlen(ipv4_cases[_i].text), &a);
    ck_assert_msg(ok == ipv4_cases[_i].ok, "'%s'", ipv4_cases[_i].text);
    if (ok) {
        char back[16];
        ck_assert_uint_eq(a, ipv4_cases[_i].addr);
        crow_ipv4_format(a, back);
        ck_assert_str_eq(back, ipv4_cases[_i].text);
    }
}
END_TEST

/* Only len bytes count: a valid address followed by more text within len is refused, and a prefix
 * of a longer text is read as what it is. */
START_TEST(test_length_bounds_the_text)
{
    uint32_t a = 0;
    ck_assert(crow_ipv4_parse("1.2.3.4:80", 7, &a) && a == 0x01020304);
    ck_assert(!crow_ipv4_parse("1.2.3.4:80", 10, &a));
    ck_assert(!crow_ipv4_parse("1.2.3.4", 6, &a));
    ck_assert(!crow_ipv4_parse("1.2.3.4", 0, &a));
    char nul[] = "1.2\0.3.4";
    ck_assert(!crow_ipv4_parse(nul, sizeof nul - 1, &a)); /* an embedded NUL */
}
END_TEST

static const struct {
    const char *text;
    bool ok;
    uint32_t addr;
    uint16_t port;
} endpoints[] = {
    {"239.1.2.3:7000", true, 0xef010203, 7000},
    {"0.0.0.0:1", true, 0, 1},
    {"1.2.3.4:65535", true, 0x01020304, 65535},
    {"1.2.3.4:65536", false, 0, 0},
    {"1.2.3.4:0", false, 0, 0},
    {"1.2.3.4:080", false, 0, 0}, /* a leading zero */
    {"1.2.3.4:+80", false, 0, 0},
    {"1.2.3.4: 80", false, 0, 0},
    {"1.2.3.4:80 ", false, 0, 0},
    {"1.2.3.4:", false, 0, 0},
    {"1.2.3.4", false, 0, 0},
    {":80", false, 0, 0},
    {"1.2.3.4:80:90", false, 0, 0},
    {"1.2.3.04:80", false, 0, 0},
    {"host:80", false, 0, 0},
    {"1.2.3.4:99999999999999999999999", false, 0, 0},
};

START_TEST(test_endpoint)
{
    uint32_t a = 0;
    uint16_t p = 0;
    bool ok = crow_ipv4_parse_endpoint(endpoints[_i].text, strlen(endpoints[_i].text), &a, &p);
    ck_assert_msg(ok == endpoints[_i].ok, "'%s'", endpoints[_i].text);
    if (ok) {
        ck_assert_uint_eq(a, endpoints[_i].addr);
        ck_assert_uint_eq(p, endpoints[_i].port);
    }
}
END_TEST

START_TEST(test_format_extremes)
{
    char out[16];
    crow_ipv4_format(0xffffffffu, out);
    ck_assert_str_eq(out, "255.255.255.255");
    crow_ipv4_format(0, out);
    ck_assert_str_eq(out, "0.0.0.0");
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("ipv4");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_ipv4_parse, 0, sizeof(ipv4_cases) / sizeof(ipv4_cases[0]));
    tcase_add_test(tc, test_length_bounds_the_text);
    tcase_add_loop_test(tc, test_endpoint, 0, sizeof(endpoints) / sizeof(endpoints[0]));
    tcase_add_test(tc, test_format_extremes);
    suite_add_tcase(s, tc);
    return s;
}
