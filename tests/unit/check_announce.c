/* announce: query parsing (valid, each missing or bad parameter), query building, response encoding in
 * both peer forms and decoding back, failure reasons, scrape, hostile responses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/announce.h"
#include "crowcast/error.h"
#include "check_main.h"

#define HASH_Q "%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%ff"
#define PEER_Q "-CC0001-abcdefghijkl"
#define BASE_Q "info_hash=" HASH_Q "&peer_id=" PEER_Q "&port=6881&uploaded=0&downloaded=10&left=990"

static const uint8_t hash_bytes[20] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                       11, 12, 13, 14, 15, 16, 17, 18, 19, 0xff};

static int parse(const char *q, crow_announce_req_t *req, const char **failure)
{
    return crow_announce_parse(q, strlen(q), req, failure);
}

START_TEST(test_parse_full_announce)
{
    crow_announce_req_t req;
    const char *failure = NULL;
    ck_assert_int_eq(parse(BASE_Q "&event=started&numwant=30&compact=0&no_peer_id=1&ip=10.1.2.3&rack=r-1.a"
                                  "&key=zz&supportcrypto=1&groups=1&hook=255&mcast=dark&need="
                                  "r0.16-31.1023&sending=1&streaming=1&lead=1",
                           &req, &failure),
                     0);
    ck_assert_mem_eq(req.info_hash, hash_bytes, 20);
    ck_assert_mem_eq(req.peer_id, PEER_Q, 20);
    ck_assert_uint_eq(req.port, 6881);
    ck_assert_uint_eq(req.uploaded, 0);
    ck_assert_uint_eq(req.downloaded, 10);
    ck_assert_uint_eq(req.left, 990);
    ck_assert_int_eq(req.event, CROW_EVENT_STARTED);
    ck_assert_int_eq(req.numwant, 30);
    ck_assert(!req.compact);
    ck_assert(req.no_peer_id);
    ck_assert(req.has_ip);
    ck_assert_uint_eq(req.ip, 0x0a010203);
    ck_assert(req.has_rack);
    ck_assert_str_eq(req.rack, "r-1.a");
    ck_assert(req.want_groups);
    ck_assert(req.has_hook);
    ck_assert_uint_eq(req.hook, 255);
    ck_assert_uint_eq(req.mcast, CROW_MCAST_REPORT_DARK);
    ck_assert(req.has_need);
    ck_assert_uint_eq(req.need.w[0], 0xffff0001ull);
    ck_assert_uint_eq(req.need.w[15], 1ull << 63);
    ck_assert_uint_eq(crow_need_map_count(&req.need), 18);
    ck_assert(req.sending);
    ck_assert(req.streaming);
    ck_assert(req.lead);
}
END_TEST

/* An older peer's need= (16 hex digits) or a broken map is no map: the announce itself stands. */
START_TEST(test_parse_need_in_another_form)
{
    static const char *const forms[] = {
        "00000000ffff0001", "", "r1-", "r5.3", "r3.4", "r1024", "r01", "r2-1", "r1..2"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        char q[512] = BASE_Q "&need=";
        strcat(q, forms[i]);
        crow_announce_req_t req;
        const char *failure = NULL;
        ck_assert_msg(parse(q, &req, &failure) == 0, "need=%s: %s", forms[i], failure);
        ck_assert_msg(!req.has_need, "need=%s taken as a map", forms[i]);
    }
}
END_TEST

START_TEST(test_parse_defaults)
{
    crow_announce_req_t req;
    const char *failure = NULL;
    ck_assert_int_eq(parse(BASE_Q "&event=", &req, &failure), 0);
    ck_assert_int_eq(req.event, CROW_EVENT_NONE);
    ck_assert_int_eq(req.numwant, CROW_NUMWANT_ABSENT);
    ck_assert(req.compact);
    ck_assert(!req.has_ip);
    ck_assert(!req.has_rack);
    ck_assert(!req.want_groups);
    ck_assert(!req.has_hook);
    ck_assert_uint_eq(req.mcast, CROW_MCAST_REPORT_NONE);
    ck_assert_int_eq(parse(BASE_Q "&left=18446744073709551615", &req, &failure), CROW_EPARSE);
    ck_assert_str_eq(failure, "duplicate left");
}
END_TEST

static const struct {
    const char *query, *failure;
} bad_queries[] = {
    {"", "missing info_hash"},
    {"peer_id=" PEER_Q "&port=1&uploaded=0&downloaded=0&left=0", "missing info_hash"},
    {"info_hash=" HASH_Q "&port=1&uploaded=0&downloaded=0&left=0", "missing peer_id"},
    {"info_hash=" HASH_Q "&peer_id=" PEER_Q "&uploaded=0&downloaded=0&left=0", "missing port"},
    {"info_hash=" HASH_Q "&peer_id=" PEER_Q "&port=1&downloaded=0&left=0", "missing uploaded"},
    {"info_hash=" HASH_Q "&peer_id=" PEER_Q "&port=1&uploaded=0&left=0", "missing downloaded"},
    {"info_hash=" HASH_Q "&peer_id=" PEER_Q "&port=1&uploaded=0&downloaded=0", "missing left"},
    {"info_hash=abc&peer_id=" PEER_Q "&port=1&uploaded=0&downloaded=0&left=0", "invalid info_hash"},
    {"info_hash=" HASH_Q "x&peer_id=" PEER_Q "&port=1&uploaded=0&downloaded=0&left=0", "invalid info_hash"},
    {"info_hash=" HASH_Q HASH_Q HASH_Q HASH_Q "&peer_id=" PEER_Q, "invalid info_hash"},
    {"info_hash=%0g" HASH_Q, "bad percent-encoding in a parameter value"},
    {"info_hash=" HASH_Q "%", "bad percent-encoding in a parameter value"},
    {"info%5Fhash%=1", "bad percent-encoding in a parameter name"},
    {"info_hash=" HASH_Q "&info_hash=" HASH_Q, "duplicate info_hash"},
    {"peer_id=short", "invalid peer_id"},
    {BASE_Q "&port=2", "duplicate port"},
    {"port=0", "invalid port"},
    {"port=65536", "invalid port"},
    {"port=-1", "invalid port"},
    {"port=", "invalid port"},
    {"port=80x", "invalid port"},
    {"left=-1", "invalid left"},
    {"uploaded=1e5", "invalid uploaded"},
    {"downloaded=18446744073709551616", "invalid downloaded"},
    {BASE_Q "&event=start", "invalid event"},
    {BASE_Q "&numwant=-5", "invalid numwant"},
    {BASE_Q "&numwant=2147483648", "invalid numwant"},
    {BASE_Q "&compact=2", "invalid compact"},
    {BASE_Q "&ip=10.0.0.256", "invalid ip"},
    {BASE_Q "&ip=example.com", "invalid ip"},
    {BASE_Q "&ip=010.0.0.1", "invalid ip"},
    {BASE_Q "&rack=", "invalid rack"},
    {BASE_Q "&rack=a%20b", "invalid rack"},
    {BASE_Q "&rack=abcdefghijklmnopqrstuvwxyz0123456", "invalid rack"},
    {BASE_Q "&groups=2", "invalid groups"},
    {BASE_Q "&groups=", "invalid groups"},
    {BASE_Q "&groups=1&groups=1", "duplicate groups"},
    {BASE_Q "&hook=256", "invalid hook"},
    {BASE_Q "&hook=-1", "invalid hook"},
    {BASE_Q "&hook=", "invalid hook"},
    {BASE_Q "&hook=1&hook=2", "duplicate hook"},
    {BASE_Q "&mcast=on", "invalid mcast"},
    {BASE_Q "&mcast=", "invalid mcast"},
    {BASE_Q "&mcast=lit&mcast=dark", "duplicate mcast"},
    {BASE_Q "&need=r1&need=r2", "duplicate need"},
    {BASE_Q "&sending=yes", "invalid sending"},
    {BASE_Q "&sending=1&sending=0", "duplicate sending"},
    {BASE_Q "&streaming=2", "invalid streaming"},
};

START_TEST(test_bad_queries_give_reasons)
{
    crow_announce_req_t req;
    const char *failure = NULL;
    ck_assert_int_eq(parse(bad_queries[_i].query, &req, &failure), CROW_EPARSE);
    ck_assert_msg(strcmp(failure, bad_queries[_i].failure) == 0, "'%s': got '%s', want '%s'",
                  bad_queries[_i].query, failure, bad_queries[_i].failure);
}
END_TEST

START_TEST(test_build_query_roundtrip)
{
    crow_announce_req_t req, back;
    const char *failure = NULL;
    char q[512];
    memset(&req, 0, sizeof(req)); /* padding included: the round trip is compared bytewise */
    for (int i = 0; i < 20; i++) {
        req.info_hash[i] = (uint8_t)(i * 37 + 200);
        req.peer_id[i] = (uint8_t)("&=%+ ?#"[i % 7]);
    }
    req.port = 7000;
    req.uploaded = 1;
    req.downloaded = UINT64_MAX;
    req.left = 123456789012ull;
    req.event = CROW_EVENT_COMPLETED;
    req.numwant = 0;
    req.compact = false;
    req.has_ip = true;
    req.ip = 0x7f000102;
    req.has_rack = true;
    strcpy(req.rack, "rack_7");
    req.want_groups = true;
    req.has_hook = true;
    req.hook = 3;
    req.mcast = CROW_MCAST_REPORT_LIT;
    req.has_need = true;
    crow_need_map_set(&req.need, 0);
    crow_need_map_set_range(&req.need, 500, 1024);
    long n = crow_announce_build_query(q, sizeof(q), &req);
    ck_assert_int_eq(n, (long)strlen(q));
    ck_assert_int_eq(crow_announce_parse(q, (size_t)n, &back, &failure), 0);
    ck_assert_mem_eq(&back, &req, sizeof(req));
    ck_assert_int_eq(crow_announce_build_query(q, 40, &req), CROW_ESPACE);
}
END_TEST

static const crow_announce_peer_t sample_peers[3] = {
    {0x7f000101, 6881, 0, "AAAAAAAAAAAAAAAAAAAA"},
    {0x7f000103, 6882, CROW_PEER_SEEDER, "BBBBBBBBBBBBBBBBBBBB"},
    {0x0a000001, 1, CROW_PEER_SEEDER | CROW_PEER_OTHER_RACK, "CCCCCCCCCCCCCCCCCCCC"},
};

static crow_announce_resp_t sample_resp(void)
{
    crow_announce_resp_t r = {.interval = 30, .min_interval = 5, .complete = 2, .incomplete = 7};
    r.peers = sample_peers;
    r.peer_count = 3;
    r.crowcast.present = true;
    strcpy(r.crowcast.rack, "r1");
    r.crowcast.group = 0xef010203;
    r.crowcast.port = 7001;
    r.crowcast.position = 4;
    r.crowcast.lit = 5;
    r.crowcast.dark = 2;
    r.crowcast.has_need = true;
    crow_need_map_set_range(&r.crowcast.need, 3, 9);
    crow_need_map_set(&r.crowcast.need, 700);
    r.crowcast.sending = 1;
    r.crowcast.streaming = 1;
    return r;
}

static void check_decoded(const crow_announce_result_t *res, const crow_announce_peer_t *peers, bool ids)
{
    ck_assert_ptr_null(res->failure);
    ck_assert_int_eq(res->interval, 30);
    ck_assert_int_eq(res->min_interval, 5);
    ck_assert_int_eq(res->complete, 2);
    ck_assert_int_eq(res->incomplete, 7);
    ck_assert_uint_eq(res->peer_count, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(peers[i].addr, sample_peers[i].addr);
        ck_assert_uint_eq(peers[i].port, sample_peers[i].port);
        ck_assert_uint_eq(peers[i].flags, sample_peers[i].flags);
        if (ids)
            ck_assert_mem_eq(peers[i].peer_id, sample_peers[i].peer_id, 20);
    }
    ck_assert(res->crowcast.present);
    ck_assert_str_eq(res->crowcast.rack, "r1");
    ck_assert_uint_eq(res->crowcast.group, 0xef010203);
    ck_assert_uint_eq(res->crowcast.port, 7001);
    ck_assert_uint_eq(res->crowcast.position, 4);
    ck_assert_uint_eq(res->crowcast.lit, 5);
    ck_assert_uint_eq(res->crowcast.dark, 2);
    ck_assert(res->crowcast.has_need);
    ck_assert_uint_eq(res->crowcast.need.w[0], 0x1f8ull);
    ck_assert(crow_need_map_get(&res->crowcast.need, 700));
    ck_assert_uint_eq(crow_need_map_count(&res->crowcast.need), 7);
    ck_assert(res->crowcast.has_sending);
    ck_assert_uint_eq(res->crowcast.sending, 1);
    ck_assert_uint_eq(res->crowcast.streaming, 1);
    ck_assert(!res->crowcast.head);
}

START_TEST(test_encode_decode_compact)
{
    uint8_t buf[512];
    crow_bencode_node_t nodes[64];
    crow_announce_peer_t peers[8];
    crow_announce_result_t res;
    const char *why = NULL;
    crow_announce_resp_t r = sample_resp();
    long n = crow_announce_encode(buf, sizeof(buf), &r, true, false);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(memmem(buf, (size_t)n, "5:peers18:\x7f\x00\x01\x01\x1a\xe1", 16));
    ck_assert_int_eq(crow_announce_decode(buf, (size_t)n, nodes, 64, peers, 8, &res, &why), 0);
    check_decoded(&res, peers, false);
    /* Too small a buffer is reported, never overrun. */
    for (size_t cap = 0; cap < (size_t)n; cap += 7)
        ck_assert_int_eq(crow_announce_encode(buf, cap, &r, true, false), CROW_ESPACE);
    /* Fewer slots than peers: the rest are counted as dropped. */
    ck_assert_int_eq(crow_announce_encode(buf, sizeof(buf), &r, true, false), n);
    ck_assert_int_eq(crow_announce_decode(buf, (size_t)n, nodes, 64, peers, 2, &res, &why), 0);
    ck_assert_uint_eq(res.peer_count, 2);
    ck_assert_uint_eq(res.peers_dropped, 1);
}
END_TEST

START_TEST(test_encode_decode_dictionary)
{
    uint8_t buf[1024];
    crow_bencode_node_t nodes[64];
    crow_announce_peer_t peers[8];
    crow_announce_result_t res;
    const char *why = NULL;
    crow_announce_resp_t r = sample_resp();
    long n = crow_announce_encode(buf, sizeof(buf), &r, false, false);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(memmem(buf, (size_t)n, "d2:ip9:127.0.1.17:peer id20:AAAA", 32));
    ck_assert_int_eq(crow_announce_decode(buf, (size_t)n, nodes, 64, peers, 8, &res, &why), 0);
    check_decoded(&res, peers, true);
    n = crow_announce_encode(buf, sizeof(buf), &r, false, true);
    ck_assert_ptr_null(memmem(buf, (size_t)n, "peer id", 7));
    ck_assert_int_eq(crow_announce_decode(buf, (size_t)n, nodes, 64, peers, 8, &res, &why), 0);
    check_decoded(&res, peers, false);
}
END_TEST

START_TEST(test_no_group_and_head)
{
    uint8_t buf[256];
    crow_bencode_node_t nodes[32];
    crow_announce_peer_t peers[1];
    crow_announce_result_t res;
    const char *why = NULL;
    crow_announce_resp_t r = {.interval = 10, .min_interval = 1};
    r.crowcast.present = true;
    r.crowcast.head = true;
    long n = crow_announce_encode(buf, sizeof(buf), &r, true, false);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_str_eq(
        (char *)buf,
        "d8:completei0e8:crowcastd4:headi1e10:peer flags0:8:positioni0e4:rack0:7:sendingi0e9:streamingi0ee"
        "10:incompletei0e8:intervali10e12:min intervali1e5:peers0:e");
    ck_assert_int_eq(crow_announce_decode(buf, (size_t)n, nodes, 32, peers, 1, &res, &why), 0);
    ck_assert(res.crowcast.head);
    ck_assert_uint_eq(res.crowcast.group, 0);
    ck_assert_str_eq(res.crowcast.rack, "");
    ck_assert(!res.crowcast.relay);
}
END_TEST

/* "relay": 1 is sent only to a relay (sorted between "rack" and "sending") and read back; a relay flag
 * without a group to stream to is no relay. */
START_TEST(test_relay_flag)
{
    uint8_t buf[512];
    crow_bencode_node_t nodes[32];
    crow_announce_peer_t peers[1];
    crow_announce_result_t res;
    const char *why = NULL;
    crow_announce_resp_t r = {.interval = 10, .min_interval = 1};
    r.crowcast = (crow_crowcast_info_t){
        .present = true, .head = true, .relay = true, .group = 0xef000001, .port = 7000};
    memcpy(r.crowcast.rack, "x", 2);
    long n = crow_announce_encode(buf, sizeof(buf) - 1, &r, true, false);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_ptr_nonnull(strstr((char *)buf, "4:rack1:x5:relayi1e7:sending"));
    ck_assert_int_eq(crow_announce_decode(buf, (size_t)n, nodes, 32, peers, 1, &res, &why), 0);
    ck_assert(res.crowcast.relay);
    static const char no_group[] = "d8:crowcastd5:relayi1ee8:intervali10e5:peers0:e";
    ck_assert_int_eq(
        crow_announce_decode((const uint8_t *)no_group, strlen(no_group), nodes, 32, peers, 1, &res, &why),
        0);
    ck_assert(!res.crowcast.relay);
}
END_TEST

START_TEST(test_failure_roundtrip)
{
    uint8_t buf[128];
    crow_bencode_node_t nodes[8];
    crow_announce_result_t res;
    const char *why = NULL;
    long n = crow_announce_encode_failure(buf, sizeof(buf), "missing info_hash");
    ck_assert_int_eq(n, 39);
    ck_assert_mem_eq(buf, "d14:failure reason17:missing info_hashe", 39);
    ck_assert_int_eq(crow_announce_decode(buf, (size_t)n, nodes, 8, NULL, 0, &res, &why), 0);
    ck_assert_uint_eq(res.failure_len, 17);
    ck_assert_mem_eq(res.failure, "missing info_hash", 17);
}
END_TEST

/* What a stock tracker (opentracker) sends: no crowcast dictionary, a downloaded count. */
START_TEST(test_decode_stock_response)
{
    static const char body[] = "d8:completei1e10:downloadedi0e10:incompletei1e8:intervali1800e"
                               "12:min intervali900e5:peers6:\x7f\x00\x00\x01\x1a\xe1"
                               "e";
    crow_bencode_node_t nodes[32];
    crow_announce_peer_t peers[4];
    crow_announce_result_t res;
    const char *why = NULL;
    ck_assert_int_eq(
        crow_announce_decode((const uint8_t *)body, sizeof(body) - 1, nodes, 32, peers, 4, &res, &why), 0);
    ck_assert(!res.crowcast.present);
    ck_assert_uint_eq(res.peer_count, 1);
    ck_assert_uint_eq(peers[0].addr, 0x7f000001);
    ck_assert_uint_eq(peers[0].port, 6881);
    ck_assert_int_eq(res.interval, 1800);
}
END_TEST

/* groups=1: every rack's group in "groups", decoded back into groups[] in order. */
START_TEST(test_groups_roundtrip)
{
    uint8_t buf[512];
    crow_bencode_node_t nodes[48];
    crow_announce_peer_t peers[1];
    crow_announce_result_t res;
    const char *why = NULL;
    crow_announce_resp_t r = {.interval = 10, .min_interval = 1};
    r.crowcast.present = true;
    r.crowcast.group = 0xefff0101;
    r.crowcast.port = 5001;
    strcpy(r.crowcast.rack, "r1");
    r.crowcast.group_count = 2;
    r.crowcast.groups[0].addr = 0xefff0101;
    r.crowcast.groups[0].port = 5001;
    r.crowcast.groups[1].addr = 0xe0000001;
    r.crowcast.groups[1].port = 65535;
    long n = crow_announce_encode(buf, sizeof(buf), &r, true, false);
    ck_assert_int_gt(n, 0);
    static const char want[] = "6:groupsl16:239.255.1.1:500115:224.0.0.1:65535e4:head";
    ck_assert_ptr_nonnull(memmem(buf, (size_t)n, want, sizeof(want) - 1));
    ck_assert_int_eq(crow_announce_decode(buf, (size_t)n, nodes, 48, peers, 1, &res, &why), 0);
    ck_assert_uint_eq(res.crowcast.group_count, 2);
    ck_assert_uint_eq(res.crowcast.groups[0].addr, 0xefff0101);
    ck_assert_uint_eq(res.crowcast.groups[0].port, 5001);
    ck_assert_uint_eq(res.crowcast.groups[1].addr, 0xe0000001);
    ck_assert_uint_eq(res.crowcast.groups[1].port, 65535);
    ck_assert_uint_eq(res.crowcast.group, 0xefff0101);
    /* Without groups asked for, no "groups" key. */
    r.crowcast.group_count = 0;
    n = crow_announce_encode(buf, sizeof(buf), &r, true, false);
    ck_assert_ptr_null(memmem(buf, (size_t)n, "groups", 6));
    ck_assert_int_eq(crow_announce_decode(buf, (size_t)n, nodes, 48, peers, 1, &res, &why), 0);
    ck_assert_uint_eq(res.crowcast.group_count, 0);
}
END_TEST

static const char *const hostile_bodies[] = {
    "d8:crowcastd6:groupsi1ee5:peers0:e",
    "d8:crowcastd6:groupsli1eee5:peers0:e",
    "d8:crowcastd6:groupsl11:239.0.0.1:0ee5:peers0:e",
    "d8:crowcastd6:groupsl9:239.0.0.1ee5:peers0:e",
    "d8:crowcastd6:groupsl14:10.0.0.1:50000ee5:peers0:e",
    "d8:crowcastd6:groupsl15:239.0.0.1:65536ee5:peers0:e",
    "",
    "le",
    "d5:peers5:abcdee",
    "d5:peersi1ee",
    "d5:peersli1eee",
    "d5:peersld2:ip9:127.0.0.1eee",
    "d5:peersld2:ip9:127.0.0.14:porti70000eeee",
    "d8:crowcastd10:peer flags2:abe5:peers6:abcdefe",
    "d8:crowcastd5:group9:10.0.0.1.e5:peers0:e",
    "d8:crowcastd4:rack3:a be5:peers0:e",
    "d8:crowcasti1e5:peers0:e",
    "d8:intervali1ee",
    "d5:peers0:5:peers0:e",
};

START_TEST(test_hostile_bodies_rejected)
{
    crow_bencode_node_t nodes[32];
    crow_announce_peer_t peers[4];
    crow_announce_result_t res;
    const char *why = NULL;
    const char *b = hostile_bodies[_i];
    ck_assert_msg(crow_announce_decode((const uint8_t *)b, strlen(b), nodes, 32, peers, 4, &res, &why) < 0,
                  "'%s'", b);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_hostname_peers_are_dropped)
{
    const char *b = "d5:peersld2:ip11:example.com4:porti1eed2:ip8:10.0.0.94:porti2eeee";
    crow_bencode_node_t nodes[32];
    crow_announce_peer_t peers[4];
    crow_announce_result_t res;
    const char *why = NULL;
    ck_assert_int_eq(crow_announce_decode((const uint8_t *)b, strlen(b), nodes, 32, peers, 4, &res, &why), 0);
    ck_assert_uint_eq(res.peer_count, 1);
    ck_assert_uint_eq(res.peers_dropped, 1);
    ck_assert_uint_eq(peers[0].addr, 0x0a000009);
    ck_assert_int_eq(crow_announce_decode((const uint8_t *)b, strlen(b), nodes, 4, peers, 4, &res, &why),
                     CROW_ELIMIT);
}
END_TEST

START_TEST(test_scrape_parse)
{
    uint8_t hashes[4][20];
    const char *failure = NULL;
    const char *q = "info_hash=" HASH_Q "&x=1&info_hash=%41AAAAAAAAAAAAAAAAAAA";
    ck_assert_int_eq(crow_scrape_parse(q, strlen(q), hashes, 4, &failure), 2);
    ck_assert_mem_eq(hashes[0], hash_bytes, 20);
    ck_assert_mem_eq(hashes[1], "AAAAAAAAAAAAAAAAAAAA", 20);
    ck_assert_int_eq(crow_scrape_parse("", 0, hashes, 4, &failure), 0);
    ck_assert_int_eq(crow_scrape_parse(q, strlen(q), hashes, 1, &failure), CROW_ELIMIT);
    ck_assert_int_eq(crow_scrape_parse("info_hash=abc", 13, hashes, 4, &failure), CROW_EPARSE);
    ck_assert_str_eq(failure, "invalid info_hash");
    ck_assert_int_eq(crow_scrape_parse("info_hash=%zz", 13, hashes, 4, &failure), CROW_EPARSE);
}
END_TEST

START_TEST(test_scrape_encode_sorted_and_unique)
{
    crow_scrape_entry_t e[3] = {0};
    memset(e[0].info_hash, 'b', 20);
    memset(e[1].info_hash, 'a', 20);
    memset(e[2].info_hash, 'b', 20);
    e[0].complete = 1;
    e[0].downloaded = 2;
    e[0].incomplete = 3;
    e[2] = e[0];
    uint8_t buf[256];
    long n = crow_scrape_encode(buf, sizeof(buf), e, 3);
    ck_assert_int_gt(n, 0);
    const char *want = "d5:filesd20:aaaaaaaaaaaaaaaaaaaad8:completei0e10:downloadedi0e10:incompletei0ee"
                       "20:bbbbbbbbbbbbbbbbbbbbd8:completei1e10:downloadedi2e10:incompletei3eeee";
    ck_assert_int_eq(n, (long)strlen(want));
    ck_assert_mem_eq(buf, want, (size_t)n);
    crow_bencode_node_t nodes[32];
    crow_bencode_doc_t doc;
    ck_assert_int_eq(crow_bencode_decode(buf, (size_t)n, nodes, 32, &doc, NULL), 0);
    ck_assert_int_eq(crow_scrape_encode(buf, 50, e, 3), CROW_ESPACE);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("announce");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_full_announce);
    tcase_add_test(tc, test_parse_need_in_another_form);
    tcase_add_test(tc, test_parse_defaults);
    tcase_add_loop_test(tc, test_bad_queries_give_reasons, 0, sizeof(bad_queries) / sizeof(bad_queries[0]));
    tcase_add_test(tc, test_build_query_roundtrip);
    tcase_add_test(tc, test_encode_decode_compact);
    tcase_add_test(tc, test_encode_decode_dictionary);
    tcase_add_test(tc, test_no_group_and_head);
    tcase_add_test(tc, test_relay_flag);
    tcase_add_test(tc, test_failure_roundtrip);
    tcase_add_test(tc, test_groups_roundtrip);
    tcase_add_test(tc, test_decode_stock_response);
    tcase_add_loop_test(tc, test_hostile_bodies_rejected, 0,
                        sizeof(hostile_bodies) / sizeof(hostile_bodies[0]));
    tcase_add_test(tc, test_hostname_peers_are_dropped);
    tcase_add_test(tc, test_scrape_parse);
    tcase_add_test(tc, test_scrape_encode_sorted_and_unique);
    suite_add_tcase(s, tc);
    return s;
}
