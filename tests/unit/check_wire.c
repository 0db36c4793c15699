/* Peer wire codec: handshake, every message kind round-tripped, hostile framing (lying lengths,
 * 4 GiB prefixes, truncations at every byte), the BEP 10 extension handshake. */
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/wire.h"
#include "check_main.h"

#define MAX_LEN (16u * 1024 + 9)

static crow_wire_handshake_t sample_handshake(void)
{
    crow_wire_handshake_t hs;
    memset(&hs, 0, sizeof hs);
    hs.reserved[CROW_WIRE_EXT_BYTE] = CROW_WIRE_EXT_BIT;
    for (unsigned i = 0; i < CROW_WIRE_ID_LEN; i++) {
        hs.info_hash[i] = (uint8_t)(0xa0 + i);
        hs.peer_id[i] = (uint8_t)('A' + i);
    }
    return hs;
}

START_TEST(test_handshake_round_trip)
{
    crow_wire_handshake_t hs = sample_handshake(), back;
    uint8_t buf[CROW_WIRE_HANDSHAKE_LEN];
    ck_assert_ptr_eq(crow_wire_encode_handshake(buf, &hs), buf + CROW_WIRE_HANDSHAKE_LEN);
    ck_assert_int_eq(buf[0], 19);
    ck_assert_int_eq(memcmp(buf + 1, "BitTorrent protocol", 19), 0);
    ck_assert_int_eq(buf[20 + CROW_WIRE_EXT_BYTE], 0x10);
    ck_assert_int_eq(crow_wire_decode_handshake(buf, sizeof buf, &back, NULL), CROW_WIRE_HANDSHAKE_LEN);
    ck_assert_int_eq(memcmp(&hs, &back, sizeof hs), 0);
    ck_assert(crow_wire_handshake_has_ext(&back));
    /* Every truncation asks for more bytes and never reads past them. */
    for (size_t n = 0; n < sizeof buf; n++)
        ck_assert_int_eq(crow_wire_decode_handshake(buf, n, &back, NULL), CROW_EMORE);
}
END_TEST

START_TEST(test_handshake_rejects_strangers)
{
    static const char *const strangers[] = {
        "GET /announce HTTP/1.1\r\n",
        "\x13"
        "BitTorrent protocoX",
        "\x13"
        "Bit",
        "\x16\x03\x01",
        "\x14"
        "BitTorrent protocol!",
    };
    for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
        crow_wire_handshake_t hs;
        const char *why = NULL;
        int ret = crow_wire_decode_handshake((const uint8_t *)strangers[i], strlen(strangers[i]), &hs, &why);
        if (i == 2) { /* a correct prefix is only incomplete */
            ck_assert_int_eq(ret, CROW_EMORE);
            continue;
        }
        ck_assert_msg(ret == CROW_EPROTO, "case %zu: %d", i, ret);
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

/* One encoded message per row, with what decoding must return. */
struct msg_case {
    const char *name;
    uint8_t bytes[32];
    size_t len;
    enum crow_wire_type type;
    uint32_t index, begin, length;
    size_t data_len;
};

static const struct msg_case messages[] = {
    {"keep-alive", {0, 0, 0, 0}, 4, CROW_WIRE_KEEPALIVE, 0, 0, 0, 0},
    {"choke", {0, 0, 0, 1, 0}, 5, CROW_WIRE_CHOKE, 0, 0, 0, 0},
    {"unchoke", {0, 0, 0, 1, 1}, 5, CROW_WIRE_UNCHOKE, 0, 0, 0, 0},
    {"interested", {0, 0, 0, 1, 2}, 5, CROW_WIRE_INTERESTED, 0, 0, 0, 0},
    {"not interested", {0, 0, 0, 1, 3}, 5, CROW_WIRE_NOT_INTERESTED, 0, 0, 0, 0},
    {"have", {0, 0, 0, 5, 4, 0, 0, 1, 2}, 9, CROW_WIRE_HAVE, 258, 0, 0, 0},
    {"bitfield", {0, 0, 0, 3, 5, 0xff, 0xc0}, 7, CROW_WIRE_BITFIELD, 0, 0, 0, 2},
    {"request",
     {0, 0, 0, 13, 6, 0, 0, 0, 7, 0, 0, 0x40, 0, 0, 0, 0x40, 0},
     17,
     CROW_WIRE_REQUEST,
     7,
     0x4000,
     0x4000,
     0},
    {"piece", {0, 0, 0, 12, 7, 0, 0, 0, 3, 0, 0, 0, 8, 'a', 'b', 'c'}, 16, CROW_WIRE_PIECE, 3, 8, 3, 3},
    {"empty piece", {0, 0, 0, 9, 7, 0, 0, 0, 3, 0, 0, 0, 8}, 13, CROW_WIRE_PIECE, 3, 8, 0, 0},
    {"cancel", {0, 0, 0, 13, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9}, 17, CROW_WIRE_CANCEL, 1, 0, 9, 0},
    {"port", {0, 0, 0, 3, 9, 0x1a, 0xe1}, 7, CROW_WIRE_PORT, 0, 0, 0, 0},
    {"extended", {0, 0, 0, 4, 20, 3, 'd', 'e'}, 8, CROW_WIRE_EXTENDED, 0, 0, 0, 2},
    {"fast: have all", {0, 0, 0, 1, 14}, 5, CROW_WIRE_UNKNOWN, 0, 0, 0, 0},
    {"unknown with body", {0, 0, 0, 3, 200, 1, 2}, 7, CROW_WIRE_UNKNOWN, 0, 0, 0, 2},
};

START_TEST(test_message_table)
{
    const struct msg_case *c = &messages[_i];
    uint8_t buf[64];
    memcpy(buf, c->bytes, c->len);
    buf[c->len] = 0xee; /* a byte of the next message must not be consumed */
    crow_wire_msg_t m;
    const char *why = NULL;
    long ret = crow_wire_decode(buf, c->len + 1, MAX_LEN, &m, &why);
    ck_assert_msg(ret == (long)c->len, "%s: %ld (%s)", c->name, ret, why ? why : "");
    ck_assert_int_eq(m.type, c->type);
    ck_assert_uint_eq(m.index, c->index);
    ck_assert_uint_eq(m.begin, c->begin);
    ck_assert_uint_eq(m.length, c->length);
    ck_assert_uint_eq(m.data_len, c->data_len);
    if (c->data_len)
        ck_assert_ptr_eq(m.data, buf + c->len - c->data_len); /* no copy: points into our buffer */
    if (c->type == CROW_WIRE_PORT)
        ck_assert_uint_eq(m.port, 6881);
    if (c->type == CROW_WIRE_EXTENDED)
        ck_assert_uint_eq(m.ext_id, 3);
    for (size_t n = 0; n < c->len; n++)
        ck_assert_int_eq(crow_wire_decode(buf, n, MAX_LEN, &m, NULL), CROW_EMORE);
}
END_TEST

START_TEST(test_encoders_match_table)
{
    uint8_t buf[64];
    ck_assert_ptr_eq(crow_wire_encode_keepalive(buf), buf + CROW_WIRE_KEEPALIVE_LEN);
    ck_assert_int_eq(memcmp(buf, messages[0].bytes, 4), 0);
    for (int t = CROW_WIRE_CHOKE; t <= CROW_WIRE_NOT_INTERESTED; t++) {
        ck_assert_ptr_eq(crow_wire_encode_state(buf, (enum crow_wire_type)t), buf + CROW_WIRE_STATE_LEN);
        ck_assert_int_eq(memcmp(buf, messages[1 + t].bytes, CROW_WIRE_STATE_LEN), 0);
    }
    ck_assert_ptr_eq(crow_wire_encode_have(buf, 258), buf + CROW_WIRE_HAVE_LEN);
    ck_assert_int_eq(memcmp(buf, messages[5].bytes, 9), 0);
    const uint8_t bits[2] = {0xff, 0xc0};
    ck_assert_ptr_eq(crow_wire_encode_bitfield(buf, bits, 2), buf + 7);
    ck_assert_int_eq(memcmp(buf, messages[6].bytes, 7), 0);
    ck_assert_ptr_eq(crow_wire_encode_request(buf, CROW_WIRE_REQUEST, 7, 0x4000, 0x4000),
                     buf + CROW_WIRE_REQUEST_LEN);
    ck_assert_int_eq(memcmp(buf, messages[7].bytes, 17), 0);
    uint8_t *p = crow_wire_encode_piece_header(buf, 3, 8, 3);
    ck_assert_ptr_eq(p, buf + CROW_WIRE_PIECE_HEADER_LEN);
    memcpy(p, "abc", 3);
    ck_assert_int_eq(memcmp(buf, messages[8].bytes, 16), 0);
    ck_assert_ptr_eq(crow_wire_encode_request(buf, CROW_WIRE_CANCEL, 1, 0, 9), buf + 17);
    ck_assert_int_eq(memcmp(buf, messages[10].bytes, 17), 0);
    p = crow_wire_encode_ext_header(buf, 3, 2);
    ck_assert_ptr_eq(p, buf + CROW_WIRE_EXT_HEADER_LEN);
    memcpy(p, "de", 2);
    ck_assert_int_eq(memcmp(buf, messages[12].bytes, 8), 0);
}
END_TEST

/* Hostile framing: each must fail with the given code and never read past len. */
static const struct {
    const char *name;
    uint8_t bytes[24];
    size_t len;
    uint32_t max_len;
    int code;
} hostile[] = {
    {"4 GiB length prefix", {0xff, 0xff, 0xff, 0xff, 7}, 5, MAX_LEN, CROW_ELIMIT},
    {"prefix one past the limit", {0, 0, 0x40, 0x0a, 7}, 5, MAX_LEN, CROW_ELIMIT},
    {"prefix past limit, nothing after", {0x80, 0, 0, 0}, 4, MAX_LEN, CROW_ELIMIT},
    {"choke with a body", {0, 0, 0, 2, 0, 0}, 6, MAX_LEN, CROW_EPROTO},
    {"have too short", {0, 0, 0, 4, 4, 0, 0, 1}, 8, MAX_LEN, CROW_EPROTO},
    {"have too long", {0, 0, 0, 6, 4, 0, 0, 0, 1, 9}, 10, MAX_LEN, CROW_EPROTO},
    {"request lying short", {0, 0, 0, 9, 6, 0, 0, 0, 0, 0, 0, 0, 0}, 13, MAX_LEN, CROW_EPROTO},
    {"cancel lying long", {0, 0, 0, 14, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 18, MAX_LEN, CROW_EPROTO},
    {"piece without its header", {0, 0, 0, 5, 7, 0, 0, 0, 0}, 9, MAX_LEN, CROW_EPROTO},
    {"extended without its id", {0, 0, 0, 1, 20}, 5, MAX_LEN, CROW_EPROTO},
    {"port too long", {0, 0, 0, 4, 9, 0, 1, 2}, 8, MAX_LEN, CROW_EPROTO},
};

START_TEST(test_hostile_framing)
{
    crow_wire_msg_t m;
    const char *why = NULL;
    long ret = crow_wire_decode(hostile[_i].bytes, hostile[_i].len, hostile[_i].max_len, &m, &why);
    ck_assert_msg(ret == hostile[_i].code, "%s: %ld", hostile[_i].name, ret);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_lying_length_waits_without_overread)
{
    /* A prefix that promises more than arrived is only incomplete: the decoder must wait, and a
     * caller whose buffer is full at 4 + max_len can never be made to hold more. */
    const uint8_t lie[] = {0, 0, 0x40, 0x09, 7, 0, 0, 0, 0};
    crow_wire_msg_t m;
    ck_assert_int_eq(crow_wire_decode(lie, sizeof lie, MAX_LEN, &m, NULL), CROW_EMORE);
    ck_assert_int_eq(crow_wire_decode(lie, sizeof lie, MAX_LEN - 1, &m, NULL), CROW_ELIMIT);
}
END_TEST

START_TEST(test_ext_handshake_round_trip)
{
    crow_wire_ext_t ext = {.client = (const uint8_t *)"crowcast 0.1",
                           .client_len = 12,
                           .reqq = 500,
                           .crowcast = true,
                           .rack = (const uint8_t *)"r12",
                           .rack_len = 3,
                           .pos = 4,
                           .max_request = 1u << 20};
    uint8_t buf[256];
    long n = crow_wire_encode_ext(buf, sizeof buf, &ext);
    const char *want =
        "d8:crowcastd7:max reqi1048576e3:posi4e4:rack3:r12e1:mde4:reqqi500e1:v12:crowcast 0.1e";
    ck_assert_int_eq(n, (long)strlen(want));
    ck_assert_int_eq(memcmp(buf, want, (size_t)n), 0);
    crow_wire_ext_t back;
    ck_assert_int_eq(crow_wire_decode_ext(buf, (size_t)n, &back, NULL), 0);
    ck_assert(back.crowcast);
    ck_assert_uint_eq(back.reqq, 500);
    ck_assert_uint_eq(back.max_request, 1u << 20);
    ck_assert_int_eq(back.pos, 4);
    ck_assert_uint_eq(back.rack_len, 3);
    ck_assert_int_eq(memcmp(back.rack, "r12", 3), 0);
    ck_assert_uint_eq(back.client_len, 12);
    ck_assert_int_eq(crow_wire_encode_ext(buf, 10, &ext), CROW_ESPACE);
}
END_TEST

START_TEST(test_ext_handshake_stock_and_hostile)
{
    /* What a stock client sends: unknown keys and a non-empty "m" are ignored. */
    const char *stock = "d1:md11:ut_metadatai3e6:ut_pexi1ee1:pi51413e4:reqqi512e1:v17:Transmission "
                        "3.00e";
    crow_wire_ext_t ext;
    ck_assert_int_eq(crow_wire_decode_ext((const uint8_t *)stock, strlen(stock), &ext, NULL), 0);
    ck_assert(!ext.crowcast);
    ck_assert_uint_eq(ext.reqq, 512);
    ck_assert_int_eq(ext.pos, -1);
    ck_assert_uint_eq(ext.client_len, 17);
    static const char *const bad[] = {
        "",
        "le",
        "i1e",
        "d1:m",
        "d4:reqqi-1ee",
        "d4:reqqi4294967296ee",
        "d4:reqq1:xe",
        "d8:crowcasti1ee",
        "d8:crowcastd7:max reqi-5eee",
        "d8:crowcastd3:posi2147483648eee",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = NULL;
        ck_assert_msg(crow_wire_decode_ext((const uint8_t *)bad[i], strlen(bad[i]), &ext, &why) ==
                          CROW_EPROTO,
                      "%s", bad[i]);
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

START_TEST(test_type_names)
{
    ck_assert_str_eq(crow_wire_type_name(CROW_WIRE_PIECE), "piece");
    ck_assert_str_eq(crow_wire_type_name(CROW_WIRE_KEEPALIVE), "keep-alive");
    ck_assert_str_eq(crow_wire_type_name(CROW_WIRE_UNKNOWN), "unknown");
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_handshake_round_trip);
    tcase_add_test(tc, test_handshake_rejects_strangers);
    tcase_add_loop_test(tc, test_message_table, 0, sizeof messages / sizeof messages[0]);
    tcase_add_test(tc, test_encoders_match_table);
    tcase_add_loop_test(tc, test_hostile_framing, 0, sizeof hostile / sizeof hostile[0]);
    tcase_add_test(tc, test_lying_length_waits_without_overread);
    tcase_add_test(tc, test_ext_handshake_round_trip);
    tcase_add_test(tc, test_ext_handshake_stock_and_hostile);
    tcase_add_test(tc, test_type_names);
    suite_add_tcase(s, tc);
    return s;
}
