/* Peer directory: places from the tracker's list order and flags, the operator's --peer entries
 * kept across tracker lists, unknown addresses far, a host named twice, the capacity bound. */
#include <stdlib.h>

#include "crowcast/error.h"
#include "crowcast/peer_directory.h"
#include "check_main.h"

static crow_announce_peer_t peer(uint32_t addr, uint8_t flags)
{
    return (crow_announce_peer_t){.addr = addr, .port = 6881, .flags = flags};
}

static void assert_place(const crow_peer_directory_t *d, uint32_t addr, uint32_t distance, bool same_rack,
                         bool named)
{
    crow_peer_place_t p = crow_peer_directory_place(d, addr);
    ck_assert_msg(p.distance == distance && p.same_rack == same_rack && p.named == named,
                  "addr %u: got (%u, %d, %d) want (%u, %d, %d)", addr, p.distance, p.same_rack, p.named,
                  distance, same_rack, named);
}

START_TEST(test_tracker_list_places)
{
    crow_peer_directory_t d;
    ck_assert_int_eq(crow_peer_directory_init(&d, 8), 0);
    /* i-1, i+1, i-2, i+2, then a seeder and another rack's peer. */
    crow_announce_peer_t list[] = {peer(10, 0),
                                   peer(11, 0),
                                   peer(12, 0),
                                   peer(13, 0),
                                   peer(1, CROW_PEER_SEEDER),
                                   peer(20, CROW_PEER_OTHER_RACK)};
    crow_peer_directory_set_tracker_list(&d, list, 6, false);
    assert_place(&d, 10, 1, true, true);
    assert_place(&d, 11, 1, true, true);
    assert_place(&d, 12, 2, true, true);
    assert_place(&d, 13, 2, true, true);
    assert_place(&d, 1, CROW_PEER_DISTANCE_FOREIGN, false, true);
    assert_place(&d, 20, CROW_PEER_DISTANCE_FOREIGN, false, true);
    assert_place(&d, 99, CROW_PEER_DISTANCE_UNKNOWN, false, false); /* whatever it may claim */
    /* The operator's word stays; the next list replaces the last one. */
    ck_assert_int_eq(crow_peer_directory_add(&d, 50, 1, true), 0);
    crow_announce_peer_t next[] = {peer(13, 0)};
    crow_peer_directory_set_tracker_list(&d, next, 1, false);
    assert_place(&d, 13, 1, true, true);
    assert_place(&d, 10, CROW_PEER_DISTANCE_UNKNOWN, false, false);
    assert_place(&d, 50, 1, true, true);
    /* In a named rack, a complete peer of it (not another rack's) is a rack neighbour: it finished. */
    crow_announce_peer_t racked[] = {peer(10, CROW_PEER_SEEDER), peer(11, 0),
                                     peer(1, CROW_PEER_SEEDER | CROW_PEER_OTHER_RACK)};
    crow_peer_directory_set_tracker_list(&d, racked, 3, true);
    assert_place(&d, 10, 1, true, true);
    assert_place(&d, 11, 1, true, true);
    assert_place(&d, 1, CROW_PEER_DISTANCE_FOREIGN, false, true);
    crow_peer_directory_dispose(&d);
}
END_TEST

START_TEST(test_named_twice_and_capacity)
{
    crow_peer_directory_t d;
    ck_assert_int_eq(crow_peer_directory_init(&d, 3), 0);
    ck_assert_int_eq(crow_peer_directory_add(&d, 7, CROW_PEER_DISTANCE_FOREIGN, false), 0);
    crow_announce_peer_t list[] = {peer(8, 0), peer(7, 0), peer(9, 0)};
    crow_peer_directory_set_tracker_list(&d, list, 3, false); /* 9 does not fit */
    assert_place(&d, 7, 1, true, true);                       /* its nearest naming */
    assert_place(&d, 9, CROW_PEER_DISTANCE_UNKNOWN, false, false);
    ck_assert_int_eq(crow_peer_directory_add(&d, 10, 1, true), CROW_ELIMIT);
    crow_peer_directory_dispose(&d);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("peer_directory");
    TCase *tc = tcase_create("places");
    tcase_add_test(tc, test_tracker_list_places);
    tcase_add_test(tc, test_named_twice_and_capacity);
    suite_add_tcase(s, tc);
    return s;
}
