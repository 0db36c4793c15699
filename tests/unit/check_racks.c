/* racks: parsing a racks file (comments, blank lines, several CIDRs, trust directive), longest-prefix
 * lookup with nested prefixes, announced-rack trust, and files with errors on given lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/racks.h"
#include "check_main.h"

static crow_racks_t racks;

static const char sample[] = "# racks of the test fabric\n"
                             "\n"
                             "rack r1 127.0.1.0/24 239.1.1.1:7001\n"
                             "rack\tr2  127.0.2.0/24,10.2.0.0/16\t239.1.1.2:7002   # two ranges\r\n"
                             "   # indented comment\n"
                             "rack r3 127.0.0.0/16 239.1.1.3:7003\n"
                             "rack r4.x_y-z 10.2.3.4 239.1.1.2:7002\n"
                             "trust-announced-rack no";

static uint32_t ip(const char *text)
{
    uint32_t a = 0;
    ck_assert(crow_ipv4_parse(text, strlen(text), &a));
    return a;
}

START_TEST(test_parse_sample)
{
    crow_racks_error_t err = {0};
    ck_assert_int_eq(crow_racks_parse(&racks, sample, strlen(sample), &err), 0);
    ck_assert_uint_eq(racks.count, 4);
    ck_assert_uint_eq(racks.prefix_count, 5);
    ck_assert(!racks.trust_announced);
    ck_assert_str_eq(racks.racks[1].name, "r2");
    ck_assert_uint_eq(racks.racks[1].group, ip("239.1.1.2"));
    ck_assert_uint_eq(racks.racks[1].port, 7002);
    ck_assert_str_eq(racks.racks[3].name, "r4.x_y-z");
    /* Racks may share a group. */
    ck_assert_uint_eq(racks.racks[3].group, racks.racks[1].group);
    ck_assert_uint_eq(crow_racks_find(&racks, "r3", 2), 2);
    ck_assert_uint_eq(crow_racks_find(&racks, "r", 1), CROW_RACK_NONE);
    ck_assert_ptr_eq(crow_racks_get(&racks, 0), &racks.racks[0]);
    ck_assert_ptr_null(crow_racks_get(&racks, CROW_RACK_NONE));
}
END_TEST

static const struct {
    const char *addr;
    uint32_t rack;
} lookups[] = {
    {"127.0.1.1", 0},
    {"127.0.1.255", 0},
    {"127.0.2.8", 1},
    {"10.2.200.1", 1},
    {"127.0.3.1", 2}, /* only the /16 */
    {"127.0.0.1", 2},
    {"10.2.3.4", 3}, /* /32 inside r2's /16 */
    {"10.2.3.5", 1},
    {"127.1.0.1", CROW_RACK_NONE},
    {"8.8.8.8", CROW_RACK_NONE},
};

START_TEST(test_longest_prefix_wins)
{
    ck_assert_int_eq(crow_racks_parse(&racks, sample, strlen(sample), NULL), 0);
    ck_assert_msg(crow_racks_lookup(&racks, ip(lookups[_i].addr)) == lookups[_i].rack, "%s",
                  lookups[_i].addr);
}
END_TEST

START_TEST(test_announced_rack_trust)
{
    uint32_t rack = 0;
    ck_assert_int_eq(crow_racks_parse(&racks, sample, strlen(sample), NULL), 0);
    /* Not trusted: the address decides, the name is ignored, even an unknown one. */
    ck_assert_int_eq(crow_racks_resolve(&racks, ip("127.0.1.5"), "r2", &rack), 0);
    ck_assert_uint_eq(rack, 0);
    ck_assert_int_eq(crow_racks_resolve(&racks, ip("127.0.1.5"), "nope", &rack), 0);
    ck_assert_uint_eq(rack, 0);
    static const char trusted[] = "rack r1 127.0.1.0/24 239.1.1.1:7001\nrack r2 127.0.2.0/24 239.1.1.2:7002\n"
                                  "trust-announced-rack yes\n";
    ck_assert_int_eq(crow_racks_parse(&racks, trusted, strlen(trusted), NULL), 0);
    ck_assert(racks.trust_announced);
    ck_assert_int_eq(crow_racks_resolve(&racks, ip("127.0.1.5"), "r2", &rack), 0);
    ck_assert_uint_eq(rack, 1);
    ck_assert_int_eq(crow_racks_resolve(&racks, ip("127.0.1.5"), NULL, &rack), 0);
    ck_assert_uint_eq(rack, 0);
    ck_assert_int_eq(crow_racks_resolve(&racks, ip("127.0.1.5"), "", &rack), 0);
    ck_assert_uint_eq(rack, 0);
    ck_assert_int_eq(crow_racks_resolve(&racks, ip("127.0.1.5"), "nope", &rack), CROW_EPROTO);
    ck_assert_int_eq(crow_racks_resolve(&racks, ip("9.9.9.9"), NULL, &rack), 0);
    ck_assert_uint_eq(rack, CROW_RACK_NONE);
}
END_TEST

START_TEST(test_empty_file)
{
    ck_assert_int_eq(crow_racks_parse(&racks, "# nothing\n\n", 11, NULL), 0);
    ck_assert_uint_eq(racks.count, 0);
    ck_assert_uint_eq(crow_racks_lookup(&racks, ip("127.0.0.1")), CROW_RACK_NONE);
}
END_TEST

static const struct {
    const char *text;
    unsigned line;
    const char *message;
} broken[] = {
    {"rack a 10.0.0.0/8 239.0.0.1:1\nrak b 10.1.0.0/16 239.0.0.1:1\n", 2, "line 2: unknown directive 'rak'"},
    {"\n\n# c\nrack a 10.0.0.0/8\n", 4, "line 4: expected: rack NAME CIDR[,CIDR...] GROUP:PORT"},
    {"rack a 10.0.0.0/8 239.0.0.1:1 extra\n", 1, "line 1: expected direct or relayed, got 'extra'"},
    {"rack a 10.0.0.0/8 239.0.0.1:1 relayed x\n", 1, "line 1: unexpected field 'x'"},
    {"rack a 10.0.0.0/8 239.0.0.1:1 RELAYED\n", 1, "line 1: expected direct or relayed, got 'RELAYED'"},
    {"rack a 10.0.0.0/8 239.0.0.1:1 relaye\n", 1, "line 1: expected direct or relayed, got 'relaye'"},
    {"rack a 10.0.0.0/8 239.0.0.1:1 relayedd\n", 1, "line 1: expected direct or relayed, got 'relayedd'"},
    {"rack a 10.0.0.0/8 239.0.0.1:1 direct,relayed\n", 1, "line 1: expected direct or relayed"},
    {"rack a 10.0.0.0/8 relayed 239.0.0.1:1\n", 1, "line 1: bad GROUP:PORT 'relayed'"},
    {"rack a 10.0.0.0/33 239.0.0.1:1\n", 1, "line 1: bad CIDR '10.0.0.0/33'"},
    {"rack a 10.0.0.1/24 239.0.0.1:1\n", 1, "line 1: bad CIDR (bits set past the prefix) '10.0.0.1/24'"},
    {"rack a 10.0.0.0/8,,10.1.0.0/16 239.0.0.1:1\n", 1, "line 1: bad CIDR ''"},
    {"rack a 10.0.0.0/8, 239.0.0.1:1\n", 1, "line 1: bad CIDR ''"},
    {"rack a 10.0.0.0/08 239.0.0.1:1\n", 1, "line 1: bad CIDR '10.0.0.0/08'"},
    {"rack a 10.0.0/8 239.0.0.1:1\n", 1, "line 1: bad CIDR '10.0.0/8'"},
    {"rack a 10.0.0.0/8 10.0.0.1:1\n", 1, "line 1: not a multicast group (224.0.0.0/4) '10.0.0.1'"},
    {"rack a 10.0.0.0/8 239.0.0.1\n", 1, "line 1: bad GROUP:PORT '239.0.0.1'"},
    {"rack a 10.0.0.0/8 239.0.0.1:0\n", 1, "line 1: bad port '0'"},
    {"rack a 10.0.0.0/8 239.0.0.1:65536\n", 1, "line 1: bad port '65536'"},
    {"rack a/b 10.0.0.0/8 239.0.0.1:1\n", 1, "line 1: bad rack name (1-32 of A-Z a-z 0-9 . _ -) 'a/b'"},
    {"rack a 10.0.0.0/8 239.0.0.1:1\n\nrack a 10.1.0.0/16 239.0.0.1:1\n", 3,
     "line 3: rack defined twice 'a'"},
    {"rack a 10.0.0.0/8 239.0.0.1:1\nrack b 10.0.0.0/8 239.0.0.2:1\n", 2,
     "line 2: CIDR listed twice '10.0.0.0/8'"},
    {"trust-announced-rack maybe\n", 1, "line 1: expected yes or no, got 'maybe'"},
    {"trust-announced-rack\n", 1, "line 1: expected: trust-announced-rack yes|no"},
    {"trust-announced-rack yes\ntrust-announced-rack no\n", 2, "line 2: trust-announced-rack given twice"},
    {"rack a 10.0.0.0/8 239.0.0.1:1\r\nrack b\x01 10.1.0.0/16 239.0.0.1:1\r\n", 2, "line 2: bad rack name"},
};

START_TEST(test_errors_name_the_line)
{
    crow_racks_error_t err = {0};
    int ret = crow_racks_parse(&racks, broken[_i].text, strlen(broken[_i].text), &err);
    ck_assert_int_eq(ret, CROW_EPARSE);
    ck_assert_uint_eq(err.line, broken[_i].line);
    ck_assert_msg(strncmp(err.text, broken[_i].message, strlen(broken[_i].message)) == 0,
                  "got '%s', want '%s'", err.text, broken[_i].message);
    /* A failed parse leaves an empty map, not half of one. */
    ck_assert_uint_eq(racks.count, 0);
    ck_assert_uint_eq(racks.prefix_count, 0);
}
END_TEST

START_TEST(test_nul_byte_and_limits)
{
    static const char text[] = "rack a 10.0.0.0/8 239.0.0.1:1\nrack b\0x 10.1.0.0/16 239.0.0.1:1\n";
    crow_racks_error_t err = {0};
    ck_assert_int_eq(crow_racks_parse(&racks, text, sizeof(text) - 1, &err), CROW_EPARSE);
    ck_assert_uint_eq(err.line, 2);
    static char big[CROW_RACKS_MAX * 48 + 64];
    size_t len = 0;
    for (int i = 0; i <= CROW_RACKS_MAX; i++)
        len += (size_t)snprintf(big + len, sizeof(big) - len, "rack r%d 10.%d.%d.0/24 239.0.0.1:1\n", i,
                                i / 256, i % 256);
    ck_assert_int_eq(crow_racks_parse(&racks, big, len, &err), CROW_ELIMIT);
    ck_assert_uint_eq(err.line, CROW_RACKS_MAX + 1);
}
END_TEST

/* direct is the default; relayed racks' groups are left out of the seeder's, unless a direct rack shares
 * the group; the output is deduplicated and bounded. */
START_TEST(test_relayed_racks_and_stream_groups)
{
    static const char text[] = "rack a 10.1.0.0/16 239.0.0.1:1\n"
                               "rack b 10.2.0.0/16 239.0.0.2:1 relayed # its relay streams\n"
                               "rack c 10.3.0.0/16 239.0.0.3:1 direct\n"
                               "rack d 10.4.0.0/16 239.0.0.3:1 relayed\n"
                               "rack e 10.5.0.0/16 239.0.0.1:2\n"
                               "rack f 10.6.0.0/16 239.0.0.1:1\n";
    crow_racks_error_t err = {0};
    ck_assert_int_eq(crow_racks_parse(&racks, text, strlen(text), &err), 0);
    ck_assert(!racks.racks[0].relayed);
    ck_assert(racks.racks[1].relayed);
    ck_assert(!racks.racks[2].relayed);
    ck_assert(racks.racks[3].relayed);
    crow_rack_endpoint_t eps[8];
    ck_assert_uint_eq(crow_racks_stream_groups(&racks, eps, 8), 3);
    ck_assert_uint_eq(eps[0].group, ip("239.0.0.1"));
    ck_assert_uint_eq(eps[0].port, 1);
    ck_assert_uint_eq(eps[1].group, ip("239.0.0.3"));
    ck_assert_uint_eq(eps[2].group, ip("239.0.0.1"));
    ck_assert_uint_eq(eps[2].port, 2);
    ck_assert_uint_eq(crow_racks_stream_groups(&racks, eps, 2), 2);
    static const char all_relayed[] = "rack a 10.1.0.0/16 239.0.0.1:1 relayed\n";
    ck_assert_int_eq(crow_racks_parse(&racks, all_relayed, strlen(all_relayed), &err), 0);
    ck_assert_uint_eq(crow_racks_stream_groups(&racks, eps, 8), 0);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("racks");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_sample);
    tcase_add_loop_test(tc, test_longest_prefix_wins, 0, sizeof(lookups) / sizeof(lookups[0]));
    tcase_add_test(tc, test_announced_rack_trust);
    tcase_add_test(tc, test_empty_file);
    tcase_add_loop_test(tc, test_errors_name_the_line, 0, sizeof(broken) / sizeof(broken[0]));
    tcase_add_test(tc, test_nul_byte_and_limits);
    tcase_add_test(tc, test_relayed_racks_and_stream_groups);
    suite_add_tcase(s, tc);
    return s;
}
