/* datagram: round trips of DATA, BEACON and END; every truncation; a table of malformed datagrams
 * that must each fail to decode; a table of DATA datagrams checked against a manifest. */
#include <string.h>

#include "crowcast/datagram.h"
#include "crowcast/dgram_auth.h"
#include "crowcast/error.h"
#include "crowcast/mac.h"
#include "check_main.h"

/* Two full pieces of 16 KiB (16 chunks of 1000 bytes, the last 384) and a short one of 4500 bytes
 * (4 chunks of 1000, then 500). Only the fields the datagram checks read are filled. */
static crow_manifest_t test_manifest(void)
{
    crow_manifest_t m;
    memset(&m, 0, sizeof m);
    m.piece_length = 16384;
    m.piece_count = 3;
    m.total_length = 2 * 16384 + 4500;
    m.chunk_size = 1000;
    for (int i = 0; i < CROW_SHA256_LEN; i++)
        m.release_id[i] = (uint8_t)(0xa0 + i);
    return m;
}

static crow_dgram_t data_dgram(const crow_manifest_t *m, uint32_t piece, uint32_t offset, uint16_t length)
{
    static uint8_t payload[CROW_DGRAM_MAX_PAYLOAD];
    if (payload[0] == 0)
        for (size_t i = 0; i < sizeof payload; i++)
            payload[i] = (uint8_t)(i * 7 + 3);
    return (crow_dgram_t){.type = CROW_DGRAM_DATA,
                          .session = crow_dgram_session_of(m->release_id),
                          .seq = 77,
                          .piece = piece,
                          .offset = offset,
                          .length = length,
                          .payload = payload};
}

static crow_dgram_t beacon_dgram(const crow_manifest_t *m)
{
    crow_dgram_t d = {.type = CROW_DGRAM_BEACON, .session = crow_dgram_session_of(m->release_id), .seq = 5};
    memcpy(d.beacon.release_id, m->release_id, CROW_SHA256_LEN);
    d.beacon.total_length = m->total_length;
    d.beacon.rate_bps = 900000000ull;
    d.beacon.piece_length = m->piece_length;
    d.beacon.chunk_size = m->chunk_size;
    d.beacon.piece_count = m->piece_count;
    d.beacon.pass = 2;
    d.beacon.passes = 3;
    d.beacon.tcp_port = 6881;
    return d;
}

static crow_dgram_t end_dgram(const crow_manifest_t *m)
{
    crow_dgram_t d = {.type = CROW_DGRAM_END,
                      .flags = CROW_DGRAM_F_FINAL,
                      .session = crow_dgram_session_of(m->release_id),
                      .seq = 0x0102030405060708ull};
    d.end.pass = 4;
    d.end.last_data_seq = 0x0102030405060707ull;
    return d;
}

START_TEST(test_header_fits_mtu)
{
    ck_assert_uint_eq(CROW_DGRAM_HEADER_LEN, 32);
    ck_assert_uint_le(CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE + 20 + 8, 1500);
    crow_manifest_t m = test_manifest();
    ck_assert_uint_eq(crow_dgram_session_of(m.release_id), 0xa0a1a2a3a4a5a6a7ull);
}
END_TEST

START_TEST(test_chunk_for_mtu)
{
    /* 1500 - 20 (IPv4) - 8 (UDP) - 32 (header) - 16 (tag) = 1424; 9000 gives 8924, down to 8920. */
    ck_assert_uint_eq(crow_dgram_chunk_for_mtu(1500, 256 * 1024), 1424);
    ck_assert_uint_eq(crow_dgram_ip_size(1424, true), 1500);
    ck_assert_uint_eq(crow_dgram_ip_size(1424, false), 1484);
    ck_assert_uint_eq(crow_dgram_chunk_for_mtu(9000, 256 * 1024), 8920);
    ck_assert_uint_eq(crow_dgram_ip_size(8920, true), 8996);
    /* Capped by the manifest's limit, then by the piece: one chunk a piece. */
    ck_assert_uint_eq(crow_dgram_chunk_for_mtu(65535, 1u << 20), CROW_MAX_CHUNK_SIZE);
    ck_assert_uint_eq(crow_dgram_chunk_for_mtu(65535, 16 * 1024), 16 * 1024);
    /* Too small for CROW_MIN_CHUNK_SIZE: nothing fits. */
    ck_assert_uint_eq(crow_dgram_chunk_for_mtu(76 + CROW_MIN_CHUNK_SIZE, 1u << 20), CROW_MIN_CHUNK_SIZE);
    ck_assert_uint_eq(crow_dgram_chunk_for_mtu(75 + CROW_MIN_CHUNK_SIZE, 1u << 20), 0);
    ck_assert_uint_eq(crow_dgram_chunk_for_mtu(0, 1u << 20), 0);
    /* Every MTU: it fits with the tag, and 8 bytes more would not (unless a cap holds it). */
    for (uint32_t mtu = 332; mtu <= 65535; mtu += 13) {
        uint32_t c = crow_dgram_chunk_for_mtu(mtu, CROW_MAX_PIECE_LENGTH);
        ck_assert_uint_ge(c, CROW_MIN_CHUNK_SIZE);
        ck_assert_uint_eq(c % 8, 0);
        ck_assert_uint_le(crow_dgram_ip_size(c, true), mtu);
        ck_assert(c == CROW_MAX_CHUNK_SIZE || crow_dgram_ip_size(c + 8, true) > mtu);
    }
}
END_TEST

START_TEST(test_layout_bytes)
{
    /* The header layout documented in datagram.h, byte by byte. */
    crow_manifest_t m = test_manifest();
    crow_dgram_t d = data_dgram(&m, 0x11223344, 0x55667788, 3);
    d.flags = CROW_DGRAM_F_REPEAT;
    d.seq = 0x0102030405060708ull;
    uint8_t buf[64];
    ck_assert_int_eq(crow_dgram_encode(&d, buf, sizeof buf), 35);
    static const uint8_t want[32] = {0x43, 0x57, 1,    1,    0,    1,    0,    3,    0xa0, 0xa1, 0xa2,
                                     0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 1,    2,    3,    4,    5,    6,
                                     7,    8,    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    ck_assert_mem_eq(buf, want, sizeof want);
    ck_assert_mem_eq(buf + 32, d.payload, 3);
}
END_TEST

static void assert_round_trip(const crow_dgram_t *d, size_t want_size)
{
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DGRAM_MAX_PAYLOAD + 1];
    long n = crow_dgram_encode(d, buf, sizeof buf);
    ck_assert_int_eq(n, (long)want_size);
    ck_assert_int_eq(crow_dgram_encode(d, buf, want_size - 1), CROW_ESPACE);
    crow_dgram_t got;
    ck_assert_int_eq(crow_dgram_decode(buf, (size_t)n, &got), 0);
    ck_assert_uint_eq(got.type, d->type);
    ck_assert_uint_eq(got.flags, d->flags);
    ck_assert_uint_eq(got.session, d->session);
    ck_assert_uint_eq(got.seq, d->seq);
    ck_assert_uint_eq(got.length, want_size - CROW_DGRAM_HEADER_LEN);
    switch (d->type) {
    case CROW_DGRAM_DATA:
        ck_assert_uint_eq(got.piece, d->piece);
        ck_assert_uint_eq(got.offset, d->offset);
        ck_assert_ptr_eq(got.payload, buf + CROW_DGRAM_HEADER_LEN);
        ck_assert_mem_eq(got.payload, d->payload, d->length);
        break;
    case CROW_DGRAM_BEACON:
        ck_assert_mem_eq(got.beacon.release_id, d->beacon.release_id, CROW_SHA256_LEN);
        ck_assert_uint_eq(got.beacon.total_length, d->beacon.total_length);
        ck_assert_uint_eq(got.beacon.rate_bps, d->beacon.rate_bps);
        ck_assert_uint_eq(got.beacon.piece_length, d->beacon.piece_length);
        ck_assert_uint_eq(got.beacon.chunk_size, d->beacon.chunk_size);
        ck_assert_uint_eq(got.beacon.piece_count, d->beacon.piece_count);
        ck_assert_uint_eq(got.beacon.pass, d->beacon.pass);
        ck_assert_uint_eq(got.beacon.passes, d->beacon.passes);
        ck_assert_uint_eq(got.beacon.tcp_port, d->beacon.tcp_port);
        break;
    default:
        ck_assert_uint_eq(got.end.pass, d->end.pass);
        ck_assert_uint_eq(got.end.last_data_seq, d->end.last_data_seq);
        break;
    }
    /* Every truncation, and one byte too many, fails: the length field must match the datagram. */
    for (size_t len = 0; len < (size_t)n; len++)
        ck_assert_int_eq(crow_dgram_decode(buf, len, &got), CROW_EPARSE);
    buf[n] = 0;
    ck_assert_int_eq(crow_dgram_decode(buf, (size_t)n + 1, &got), CROW_EPARSE);
}

START_TEST(test_round_trips)
{
    crow_manifest_t m = test_manifest();
    crow_dgram_t d = data_dgram(&m, 1, 2000, 1000);
    assert_round_trip(&d, 32 + 1000);
    d = data_dgram(&m, 2, 4000, 500);
    d.flags = CROW_DGRAM_F_REPEAT;
    assert_round_trip(&d, 32 + 500);
    d = data_dgram(&m, 0, 0, CROW_DGRAM_MAX_PAYLOAD);
    d.seq = UINT64_MAX;
    assert_round_trip(&d, 32 + CROW_DGRAM_MAX_PAYLOAD);
    d = beacon_dgram(&m);
    assert_round_trip(&d, 32 + CROW_DGRAM_BEACON_BODY);
    d.flags = CROW_DGRAM_F_CATCH_UP;
    assert_round_trip(&d, 32 + CROW_DGRAM_BEACON_BODY);
    ck_assert_uint_eq(32 + CROW_DGRAM_BEACON_BODY, CROW_DGRAM_CONTROL_MAX);
    d = end_dgram(&m);
    assert_round_trip(&d, 32 + CROW_DGRAM_END_BODY);
    d.flags = 0;
    assert_round_trip(&d, 32 + CROW_DGRAM_END_BODY);
}
END_TEST

START_TEST(test_encode_rejects)
{
    crow_manifest_t m = test_manifest();
    uint8_t buf[2048];
    crow_dgram_t d = data_dgram(&m, 0, 0, 0);
    ck_assert_int_eq(crow_dgram_encode(&d, buf, sizeof buf), CROW_EPARSE);
    d.type = 9;
    d.length = 10;
    ck_assert_int_eq(crow_dgram_encode(&d, buf, sizeof buf), CROW_EPARSE);
}
END_TEST

/* A valid datagram of some type, then one mutation: the decoder must refuse the result. */
struct malformed_case {
    const char *what;
    uint8_t type; /* which valid datagram to start from */
    size_t at;    /* byte to overwrite (when value >= 0) */
    int value;
    int len_delta; /* bytes to cut (negative) or add (positive) at the end */
};

static const struct malformed_case malformed_cases[] = {
    {"wrong magic, first byte", CROW_DGRAM_DATA, 0, 0x42, 0},
    {"wrong magic, second byte", CROW_DGRAM_DATA, 1, 0x58, 0},
    {"version 0", CROW_DGRAM_DATA, 2, 0, 0},
    {"version 2", CROW_DGRAM_BEACON, 2, 2, 0},
    {"type 0", CROW_DGRAM_DATA, 3, 0, 0},
    {"type 4", CROW_DGRAM_END, 3, 4, 0},
    {"type 255", CROW_DGRAM_DATA, 3, 255, 0},
    {"DATA with an undefined flag", CROW_DGRAM_DATA, 5, 0x02, 0},
    {"DATA with a high flag", CROW_DGRAM_DATA, 4, 0x40, 0},
    {"AUTH flag with no room for the tag", CROW_DGRAM_DATA, 4, 0x80, 0},
    {"BEACON with AUTH but no tag", CROW_DGRAM_BEACON, 4, 0x80, 0},
    {"BEACON with a flag", CROW_DGRAM_BEACON, 5, 0x01, 0},
    {"BEACON with an undefined flag", CROW_DGRAM_BEACON, 5, 0x04, 0},
    {"END with an undefined flag", CROW_DGRAM_END, 5, 0x03, 0},
    {"length claims more than present", CROW_DGRAM_DATA, 7, 101, 0},
    {"length claims less than present", CROW_DGRAM_DATA, 7, 99, 0},
    {"length high byte lies", CROW_DGRAM_DATA, 6, 1, 0},
    {"length 0 with a body", CROW_DGRAM_END, 7, 0, 0},
    {"BEACON body one short", CROW_DGRAM_BEACON, 7, CROW_DGRAM_BEACON_BODY - 1, -1},
    {"BEACON body one long", CROW_DGRAM_BEACON, 7, CROW_DGRAM_BEACON_BODY + 1, 1},
    {"BEACON with a piece", CROW_DGRAM_BEACON, 27, 1, 0},
    {"BEACON with an offset", CROW_DGRAM_BEACON, 28, 1, 0},
    {"BEACON reserved bytes set", CROW_DGRAM_BEACON, 32 + 71, 1, 0},
    {"END body one short", CROW_DGRAM_END, 7, CROW_DGRAM_END_BODY - 1, -1},
    {"END with a piece", CROW_DGRAM_END, 24, 1, 0},
    {"END reserved bytes set", CROW_DGRAM_END, 32 + 4, 1, 0},
    {"DATA cut mid-payload", CROW_DGRAM_DATA, 0, -1, -1},
    {"DATA with a trailing byte", CROW_DGRAM_DATA, 0, -1, 1},
};

START_TEST(test_malformed)
{
    const struct malformed_case *c = &malformed_cases[_i];
    crow_manifest_t m = test_manifest();
    crow_dgram_t d = c->type == CROW_DGRAM_DATA     ? data_dgram(&m, 0, 0, 100)
                     : c->type == CROW_DGRAM_BEACON ? beacon_dgram(&m)
                                                    : end_dgram(&m);
    uint8_t buf[512] = {0};
    long n = crow_dgram_encode(&d, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    crow_dgram_t got;
    ck_assert_int_eq(crow_dgram_decode(buf, (size_t)n, &got), 0);
    if (c->value >= 0)
        buf[c->at] = (uint8_t)c->value;
    ck_assert_msg(crow_dgram_decode(buf, (size_t)(n + c->len_delta), &got) == CROW_EPARSE, "%s: accepted",
                  c->what);
}
END_TEST

START_TEST(test_short)
{
    uint8_t zeros[CROW_DGRAM_HEADER_LEN] = {0};
    crow_dgram_t got;
    ck_assert_int_eq(crow_dgram_decode(zeros, 0, &got), CROW_EPARSE);
    ck_assert_int_eq(crow_dgram_decode(zeros, sizeof zeros, &got), CROW_EPARSE);
    /* A well-formed header announcing an empty DATA body. */
    crow_manifest_t m = test_manifest();
    crow_dgram_t d = data_dgram(&m, 0, 0, 1);
    d.length = 0;
    crow_dgram_encode_header(zeros, &d);
    ck_assert_int_eq(crow_dgram_decode(zeros, sizeof zeros, &got), CROW_EPARSE);
}
END_TEST

/* DATA datagrams against test_manifest(). */
struct data_case {
    const char *what;
    bool foreign;
    uint32_t piece, offset;
    uint16_t length;
    int want;
};

static const struct data_case data_cases[] = {
    {"first chunk", false, 0, 0, 1000, 0},
    {"middle chunk", false, 1, 7000, 1000, 0},
    {"short last chunk of a full piece", false, 1, 16000, 384, 0},
    {"last chunk of the short last piece", false, 2, 4000, 500, 0},
    {"another session", true, 0, 0, 1000, CROW_ESESSION},
    {"another session, otherwise nonsense", true, 99, 3, 7, CROW_ESESSION},
    {"piece == piece count", false, 3, 0, 1000, CROW_EPROTO},
    {"piece far past the end", false, UINT32_MAX, 0, 1000, CROW_EPROTO},
    {"unaligned offset", false, 0, 1, 1000, CROW_EPROTO},
    {"offset one chunk short of aligned", false, 0, 999, 1000, CROW_EPROTO},
    {"offset == piece length", false, 0, 16384, 1000, CROW_EPROTO},
    {"offset past the piece, aligned", false, 0, 17000, 1000, CROW_EPROTO},
    {"offset past the short last piece", false, 2, 5000, 500, CROW_EPROTO},
    {"offset near UINT32_MAX", false, 0, 4294967000u, 1000, CROW_EPROTO},
    {"length one long", false, 0, 0, 1001, CROW_EPROTO},
    {"length one short", false, 0, 0, 999, CROW_EPROTO},
    {"last chunk claims a full chunk", false, 1, 16000, 1000, CROW_EPROTO},
    {"last chunk of last piece one short", false, 2, 4000, 499, CROW_EPROTO},
};

START_TEST(test_check_data)
{
    const struct data_case *c = &data_cases[_i];
    crow_manifest_t m = test_manifest();
    crow_dgram_t d = data_dgram(&m, c->piece, c->offset, c->length);
    if (c->foreign)
        d.session ^= 1;
    /* Through the wire, so the checked length is the one the datagram's size proves. */
    uint8_t buf[2048];
    long n = crow_dgram_encode(&d, buf, sizeof buf);
    crow_dgram_t got;
    ck_assert_int_eq(crow_dgram_decode(buf, (size_t)n, &got), 0);
    ck_assert_msg(crow_dgram_check_data(&got, &m) == c->want, "%s: got %d want %d", c->what,
                  crow_dgram_check_data(&got, &m), c->want);
}
END_TEST

START_TEST(test_check_beacon)
{
    crow_manifest_t m = test_manifest();
    crow_dgram_t d = beacon_dgram(&m);
    ck_assert_int_eq(crow_dgram_check_beacon(&d, &m), 0);
    d.beacon.release_id[31] ^= 1; /* same session prefix, another release */
    ck_assert_int_eq(crow_dgram_check_beacon(&d, &m), CROW_ESESSION);
    d = beacon_dgram(&m);
    d.session ^= 1;
    ck_assert_int_eq(crow_dgram_check_beacon(&d, &m), CROW_ESESSION);
    d = beacon_dgram(&m);
    d.beacon.chunk_size = 1408;
    ck_assert_int_eq(crow_dgram_check_beacon(&d, &m), CROW_EPROTO);
    d = beacon_dgram(&m);
    d.beacon.total_length++;
    ck_assert_int_eq(crow_dgram_check_beacon(&d, &m), CROW_EPROTO);
    d = beacon_dgram(&m);
    d.beacon.piece_count = 4;
    ck_assert_int_eq(crow_dgram_check_beacon(&d, &m), CROW_EPROTO);
    d = beacon_dgram(&m);
    d.beacon.piece_length = 32768;
    ck_assert_int_eq(crow_dgram_check_beacon(&d, &m), CROW_EPROTO);
    /* A DATA datagram is no beacon, and an END is no DATA. */
    d = data_dgram(&m, 0, 0, 1000);
    ck_assert_int_eq(crow_dgram_check_beacon(&d, &m), CROW_EPROTO);
    d = end_dgram(&m);
    ck_assert_int_eq(crow_dgram_check_data(&d, &m), CROW_EPROTO);
}
END_TEST

START_TEST(test_hmac_rfc4231)
{
    /* RFC 4231 test case 2, computed twice on one context (the key is kept), and one-shot. */
    static const uint8_t want[CROW_HMAC_SHA256_LEN] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
        0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    const char *msg = "what do ya want for nothing?";
    crow_mac_t *mac;
    ck_assert_int_eq(crow_mac_new(&mac, (const uint8_t *)"Jefe", 4), 0);
    uint8_t out[CROW_HMAC_SHA256_LEN];
    for (int i = 0; i < 2; i++) {
        memset(out, 0, sizeof out);
        crow_mac_compute(mac, msg, strlen(msg), out);
        ck_assert(crow_mac_equal(out, want, sizeof want));
    }
    crow_mac_free(mac);
    crow_hmac_sha256((const uint8_t *)"Jefe", 4, msg, strlen(msg), out);
    ck_assert_mem_eq(out, want, sizeof want);
}
END_TEST

/* Encodes d with the AUTH flag and seals it under k; returns the size. */
static size_t sealed(const crow_dgram_key_t *k, crow_dgram_t d, uint8_t *buf, size_t cap)
{
    d.flags |= CROW_DGRAM_F_AUTH;
    long n = crow_dgram_encode(&d, buf, cap - CROW_DGRAM_TAG_LEN);
    ck_assert_int_gt(n, 0);
    return crow_dgram_seal(k, buf, (size_t)n);
}

START_TEST(test_auth_tags)
{
    crow_manifest_t m = test_manifest();
    uint8_t secret[32], other_release[CROW_SHA256_LEN];
    memset(secret, 0x11, sizeof secret);
    memcpy(other_release, m.release_id, sizeof other_release);
    other_release[31] ^= 1;
    crow_dgram_key_t k, k_other_release, k_other_secret;
    ck_assert_int_eq(crow_dgram_key_init(&k, secret, sizeof secret, m.release_id), 0);
    ck_assert_int_eq(crow_dgram_key_init(&k_other_release, secret, sizeof secret, other_release), 0);
    secret[0] ^= 1;
    ck_assert_int_eq(crow_dgram_key_init(&k_other_secret, secret, sizeof secret, m.release_id), 0);
    crow_dgram_key_t bad;
    ck_assert_int_eq(crow_dgram_key_init(&bad, secret, CROW_MCAST_SECRET_MIN - 1, m.release_id), CROW_EUSAGE);
    ck_assert_int_eq(crow_dgram_key_init(&bad, secret, CROW_MCAST_SECRET_MAX + 1, m.release_id), CROW_EUSAGE);

    const crow_dgram_t kinds[] = {data_dgram(&m, 1, 2000, 1000), beacon_dgram(&m), end_dgram(&m)};
    for (size_t i = 0; i < 3; i++) {
        uint8_t buf[CROW_DGRAM_HEADER_LEN + 1000 + CROW_DGRAM_CONTROL_MAX];
        size_t len = sealed(&k, kinds[i], buf, sizeof buf);
        crow_dgram_t d;
        ck_assert_int_eq(crow_dgram_decode(buf, len, &d), 0);
        ck_assert_uint_eq(d.length, kinds[i].type == CROW_DGRAM_DATA ? 1000 : len - 32 - CROW_DGRAM_TAG_LEN);
        ck_assert_ptr_eq(d.tag, buf + len - CROW_DGRAM_TAG_LEN);
        ck_assert(crow_dgram_authentic(&k, &d, buf, len));
        /* Another release's key, another secret: refused. */
        ck_assert(!crow_dgram_authentic(&k_other_release, &d, buf, len));
        ck_assert(!crow_dgram_authentic(&k_other_secret, &d, buf, len));
        /* Any byte changed, header, body or tag: refused (flags and length would not decode). */
        for (size_t at = 0; at < len; at++) {
            if (at == 4 || at == 6 || at == 7)
                continue;
            buf[at] ^= 0x20;
            if (crow_dgram_decode(buf, len, &d) == 0)
                ck_assert_msg(!crow_dgram_authentic(&k, &d, buf, len), "byte %zu of type %u", at,
                              kinds[i].type);
            buf[at] ^= 0x20;
        }
        /* The same datagram without the flag and tag still decodes, but is not authentic. */
        crow_dgram_t plain = kinds[i];
        long n = crow_dgram_encode(&plain, buf, sizeof buf);
        ck_assert_int_eq(crow_dgram_decode(buf, (size_t)n, &d), 0);
        ck_assert_ptr_null(d.tag);
        ck_assert(!crow_dgram_authentic(&k, &d, buf, (size_t)n));
    }
    crow_dgram_key_dispose(&k);
    crow_dgram_key_dispose(&k_other_release);
    crow_dgram_key_dispose(&k_other_secret);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("datagram");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_header_fits_mtu);
    tcase_add_test(tc, test_chunk_for_mtu);
    tcase_add_test(tc, test_layout_bytes);
    tcase_add_test(tc, test_round_trips);
    tcase_add_test(tc, test_encode_rejects);
    tcase_add_loop_test(tc, test_malformed, 0, sizeof malformed_cases / sizeof malformed_cases[0]);
    tcase_add_test(tc, test_short);
    tcase_add_loop_test(tc, test_check_data, 0, sizeof data_cases / sizeof data_cases[0]);
    tcase_add_test(tc, test_check_beacon);
    tcase_add_test(tc, test_hmac_rfc4231);
    tcase_add_test(tc, test_auth_tags);
    suite_add_tcase(s, tc);
    return s;
}
