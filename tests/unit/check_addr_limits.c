/* addr_limits: per-address connection caps and request buckets under a fake clock; the first refusal
 * of each limit is flagged for the log, addresses do not disturb each other, idle slots are reused. */

#include "crowcast/addr_limits.h"
#include "check_main.h"

#define T 1000000u

START_TEST(test_connections)
{
    crow_addr_limits_t *l;
    ck_assert_int_eq(crow_addr_limits_new(&l, &(crow_addr_limits_config_t){.max_conns = 2}), 0);
    ck_assert_int_eq(crow_addr_limits_open(l, 0x7f000001, T), CROW_ADDR_OK);
    ck_assert_int_eq(crow_addr_limits_open(l, 0x7f000001, T), CROW_ADDR_OK);
    ck_assert_int_eq(crow_addr_limits_open(l, 0x7f000001, T), CROW_ADDR_REFUSED_FIRST);
    ck_assert_int_eq(crow_addr_limits_open(l, 0x7f000001, T), CROW_ADDR_REFUSED);
    ck_assert_int_eq(crow_addr_limits_open(l, 0x7f000002, T), CROW_ADDR_OK); /* another address */
    crow_addr_limits_close(l, 0x7f000001);
    ck_assert_int_eq(crow_addr_limits_open(l, 0x7f000001, T), CROW_ADDR_OK);
    ck_assert_int_eq(crow_addr_limits_open(l, 0x7f000001, T), CROW_ADDR_REFUSED_FIRST);
    /* Requests are not limited without a rate. */
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(crow_addr_limits_request(l, 0x7f000001, T), CROW_ADDR_OK);
    crow_addr_limits_free(l);
}
END_TEST

START_TEST(test_rate)
{
    crow_addr_limits_t *l;
    ck_assert_int_eq(crow_addr_limits_new(&l, &(crow_addr_limits_config_t){.rate = 10, .burst = 20}), 0);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(crow_addr_limits_request(l, 1, T), CROW_ADDR_OK);
    ck_assert_int_eq(crow_addr_limits_request(l, 1, T), CROW_ADDR_REFUSED_FIRST);
    ck_assert_int_eq(crow_addr_limits_request(l, 1, T + 50), CROW_ADDR_REFUSED);
    ck_assert_int_eq(crow_addr_limits_request(l, 2, T + 50), CROW_ADDR_OK);
    ck_assert_int_eq(crow_addr_limits_request(l, 1, T + 100), CROW_ADDR_OK); /* 0.1 s: one token */
    ck_assert_int_eq(crow_addr_limits_request(l, 1, T + 100), CROW_ADDR_REFUSED_FIRST);
    /* Ten requests a second are sustained. */
    for (uint64_t ms = 200; ms < 10200; ms += 100)
        ck_assert_int_eq(crow_addr_limits_request(l, 1, T + ms), CROW_ADDR_OK);
    /* A refused connection and a refused request are logged each once. */
    crow_addr_limits_free(l);
    ck_assert_int_eq(crow_addr_limits_new(&l, &(crow_addr_limits_config_t){.max_conns = 1, .rate = 1}), 0);
    ck_assert_int_eq(crow_addr_limits_open(l, 3, T), CROW_ADDR_OK);
    ck_assert_int_eq(crow_addr_limits_open(l, 3, T), CROW_ADDR_REFUSED_FIRST);
    ck_assert_int_eq(crow_addr_limits_request(l, 3, T), CROW_ADDR_OK);
    ck_assert_int_eq(crow_addr_limits_request(l, 3, T), CROW_ADDR_REFUSED_FIRST);
    ck_assert_int_eq(crow_addr_limits_open(l, 3, T), CROW_ADDR_REFUSED);
    crow_addr_limits_free(l);
}
END_TEST

START_TEST(test_many_addresses)
{
    crow_addr_limits_t *l;
    ck_assert_int_eq(crow_addr_limits_new(&l, &(crow_addr_limits_config_t){.max_conns = 1, .rate = 1}), 0);
    /* Twice the table's addresses, each one connection and one request, then gone: idle slots are
     * taken again, every address is held to its own limit. */
    for (uint32_t a = 1; a <= 2 * CROW_ADDR_LIMITS_SLOTS; a++) {
        ck_assert_int_eq(crow_addr_limits_open(l, a, T + a), CROW_ADDR_OK);
        ck_assert_int_eq(crow_addr_limits_request(l, a, T + a), CROW_ADDR_OK);
        ck_assert_int_eq(crow_addr_limits_open(l, a, T + a), CROW_ADDR_REFUSED_FIRST);
        crow_addr_limits_close(l, a);
    }
    crow_addr_limits_free(l);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("addr_limits");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_connections);
    tcase_add_test(tc, test_rate);
    tcase_add_test(tc, test_many_addresses);
    suite_add_tcase(s, tc);
    return s;
}
