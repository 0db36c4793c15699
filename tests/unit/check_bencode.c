/* bencode: strict decoding (table of valid and malformed inputs), lookups, canonical encoding. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/bencode.h"
#include "crowcast/error.h"
#include "check_main.h"

static crow_bencode_node_t nodes[256];

static int decode(const char *text, crow_bencode_doc_t *doc, crow_bencode_error_t *err)
{
    return crow_bencode_decode((const uint8_t *)text, strlen(text), nodes, 256, doc, err);
}

static const char *const valid[] = {
    "i0e",
    "i-1e",
    "i9223372036854775807e",
    "i-9223372036854775808e",
    "0:",
    "4:spam",
    "le",
    "de",
    "li1ei2ee",
    "d1:ai1e1:bi2ee",
    "d1:ad1:bl1:cee1:zi0ee",
    "d2:ab0:3:abc0:e",
    "d0:i1e1:ai2ee",
};

START_TEST(test_valid_inputs_decode)
{
    crow_bencode_doc_t doc;
    crow_bencode_error_t err = {0};
    ck_assert_msg(decode(valid[_i], &doc, &err) == 0, "%s: %s at %zu", valid[_i], err.why, err.pos);
    ck_assert_uint_eq(doc.nodes[0].start, 0);
    ck_assert_uint_eq(doc.nodes[0].end, strlen(valid[_i]));
    ck_assert_uint_eq(doc.nodes[0].next, doc.count);
}
END_TEST

static const struct {
    const char *text;
    size_t pos;
} malformed[] = {
    {"", 0},
    {"i", 1},
    {"ie", 1},
    {"i01e", 3},
    {"i-0e", 3},
    {"i1", 2},
    {"i1x", 2},
    {"i9223372036854775808e", 19},
    {"01:a", 2},
    {"5:abc", 2},
    {"-1:a", 0},
    {"l", 1},
    {"li1e", 4},
    {"d1:ae", 4},
    {"di1ei2ee", 1},
    {"d1:b0:1:a0:e", 6},
    {"d1:a0:1:a0:e", 6},
    {"i1ei2e", 3},
    {"x", 0},
    {"4294967297:a", 11},
    {"d2:ab0:1:a0:e", 7},
};

START_TEST(test_malformed_inputs_fail_with_position)
{
    crow_bencode_doc_t doc;
    crow_bencode_error_t err = {0};
    int ret = decode(malformed[_i].text, &doc, &err);
    ck_assert_msg(ret == CROW_EPARSE, "'%s' gave %d", malformed[_i].text, ret);
    ck_assert_msg(err.pos == malformed[_i].pos, "'%s': pos %zu, expected %zu (%s)", malformed[_i].text,
                  err.pos, malformed[_i].pos, err.why);
    ck_assert_ptr_nonnull(err.why);
}
END_TEST

START_TEST(test_nesting_limit)
{
    char deep[2 * CROW_BENCODE_MAX_DEPTH + 4];
    size_t n = 0;
    for (int i = 0; i <= CROW_BENCODE_MAX_DEPTH; i++)
        deep[n++] = 'l';
    for (int i = 0; i <= CROW_BENCODE_MAX_DEPTH; i++)
        deep[n++] = 'e';
    deep[n] = 0;
    crow_bencode_doc_t doc;
    crow_bencode_error_t err;
    ck_assert_int_eq(decode(deep, &doc, &err), CROW_ELIMIT);
    ck_assert_int_eq(decode(deep + 1, &doc, &err), CROW_EPARSE); /* unbalanced: one 'e' too many */
    deep[2 * CROW_BENCODE_MAX_DEPTH + 1] = 0;
    ck_assert_int_eq(decode(deep + 1, &doc, &err), 0);
}
END_TEST

START_TEST(test_node_limit)
{
    crow_bencode_doc_t doc;
    crow_bencode_error_t err;
    const char *text = "li1ei2ei3ee";
    ck_assert_int_eq(crow_bencode_decode((const uint8_t *)text, strlen(text), nodes, 3, &doc, &err),
                     CROW_ELIMIT);
    ck_assert_int_eq(crow_bencode_decode((const uint8_t *)text, strlen(text), nodes, 4, &doc, &err), 0);
}
END_TEST

START_TEST(test_lookups)
{
    crow_bencode_doc_t doc;
    const char *text = "d4:infod6:lengthi42e4:name3:abce4:listli1eli2eei3ee5:zzzzzi-5ee";
    ck_assert_int_eq(decode(text, &doc, NULL), 0);
    uint32_t info = crow_bencode_dict_get(&doc, 0, "info");
    ck_assert_uint_ne(info, 0);
    int64_t v;
    ck_assert(crow_bencode_dict_int(&doc, info, "length", &v));
    ck_assert_int_eq(v, 42);
    const uint8_t *s;
    size_t len;
    ck_assert(crow_bencode_dict_str(&doc, info, "name", &s, &len));
    ck_assert_uint_eq(len, 3);
    ck_assert(memcmp(s, "abc", 3) == 0);
    ck_assert(!crow_bencode_dict_str(&doc, info, "length", &s, &len));
    ck_assert(crow_bencode_dict_int(&doc, 0, "zzzzz", &v));
    ck_assert_int_eq(v, -5);
    ck_assert_uint_eq(crow_bencode_dict_get(&doc, 0, "missing"), 0);
    uint32_t list = crow_bencode_dict_get(&doc, 0, "list");
    ck_assert_uint_eq(doc.nodes[list].count, 3);
    uint32_t item = crow_bencode_first_child(&doc, list);
    ck_assert_int_eq(doc.nodes[item].ival, 1);
    item = doc.nodes[item].next;
    ck_assert_int_eq(doc.nodes[item].type, CROW_BENCODE_LIST);
    item = doc.nodes[item].next;
    ck_assert_int_eq(doc.nodes[item].ival, 3);
    ck_assert_uint_eq(doc.nodes[item].next, doc.nodes[list].next);
    /* the raw bytes of a sub-dictionary are addressable (the release id hashes them) */
    ck_assert_uint_eq(doc.nodes[info].end - doc.nodes[info].start, strlen("d6:lengthi42e4:name3:abce"));
}
END_TEST

START_TEST(test_encoder_round_trip)
{
    uint8_t buf[128];
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, buf, sizeof buf);
    crow_bencode_open_dict(&e);
    crow_bencode_put_key(&e, "a");
    crow_bencode_put_int(&e, -7);
    crow_bencode_put_key(&e, "b");
    crow_bencode_open_list(&e);
    crow_bencode_put_cstr(&e, "x");
    crow_bencode_put_raw(&e, "de", 2);
    crow_bencode_close(&e);
    crow_bencode_put_key(&e, "bb");
    crow_bencode_put_str(&e, "\0\1", 2);
    crow_bencode_close(&e);
    long n = crow_bencode_finish(&e);
    const char expect[] = "d1:ai-7e1:bl1:xdee2:bb2:\0\1e";
    ck_assert_int_eq(n, (long)sizeof expect - 1);
    ck_assert(memcmp(buf, expect, (size_t)n) == 0);
    crow_bencode_doc_t doc;
    ck_assert_int_eq(crow_bencode_decode(buf, (size_t)n, nodes, 256, &doc, NULL), 0);
}
END_TEST

START_TEST(test_encoder_rejects_misuse)
{
    uint8_t buf[64];
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, buf, sizeof buf);
    crow_bencode_open_dict(&e);
    crow_bencode_put_key(&e, "b");
    crow_bencode_put_int(&e, 1);
    crow_bencode_put_key(&e, "a"); /* out of order */
    crow_bencode_put_int(&e, 2);
    crow_bencode_close(&e);
    ck_assert_int_eq(crow_bencode_finish(&e), CROW_EPARSE);

    crow_bencode_writer_init(&e, buf, sizeof buf);
    crow_bencode_open_dict(&e);
    crow_bencode_put_int(&e, 1); /* value where a key belongs */
    ck_assert_int_eq(crow_bencode_finish(&e), CROW_EPARSE);

    crow_bencode_writer_init(&e, buf, sizeof buf);
    crow_bencode_open_list(&e);
    ck_assert_int_eq(crow_bencode_finish(&e), CROW_EPARSE); /* unbalanced */

    crow_bencode_writer_init(&e, buf, 4);
    crow_bencode_put_cstr(&e, "too long for four bytes");
    ck_assert_int_eq(crow_bencode_finish(&e), CROW_ESPACE);
    ck_assert_uint_eq(e.len, 26); /* the size that was needed */
}
END_TEST

/* Found by fuzz_bencode_writer (input "\n": no call at all): the writer reported success for an empty
 * buffer, and it let a second value follow the root ("i1ei2e"); neither is a bencode document, and the
 * strict decoder refuses both. */
START_TEST(test_encoder_one_root_value)
{
    uint8_t buf[64];
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, buf, sizeof buf);
    ck_assert_int_eq(crow_bencode_finish(&e), CROW_EPARSE); /* nothing written */

    crow_bencode_writer_init(&e, buf, sizeof buf);
    crow_bencode_put_int(&e, 1);
    crow_bencode_put_int(&e, 2);
    ck_assert_int_eq(crow_bencode_finish(&e), CROW_EPARSE);

    crow_bencode_writer_init(&e, buf, sizeof buf);
    crow_bencode_open_list(&e);
    crow_bencode_close(&e);
    crow_bencode_open_dict(&e);
    crow_bencode_close(&e);
    ck_assert_int_eq(crow_bencode_finish(&e), CROW_EPARSE);

    crow_bencode_writer_init(&e, buf, 2); /* a second root is refused even past the end of the buffer */
    crow_bencode_put_cstr(&e, "abc");
    crow_bencode_put_int(&e, 3);
    ck_assert_int_eq(crow_bencode_finish(&e), CROW_EPARSE);

    crow_bencode_writer_init(&e, buf, sizeof buf);
    crow_bencode_put_int(&e, 5);
    ck_assert_int_eq(crow_bencode_finish(&e), 3);
}
END_TEST

/* Every prefix and every single-byte corruption of a valid document either decodes or fails
 * cleanly with a position inside the buffer (run under ASan in CI). */
START_TEST(test_mutations_never_crash)
{
    const char *text =
        "d8:announce9:http://x/4:infod5:filesld6:lengthi3e4:pathl1:aeee4:name1:n12:piece lengthi16384eee";
    size_t n = strlen(text);
    uint8_t *copy = malloc(n);
    crow_bencode_doc_t doc;
    crow_bencode_error_t err;
    for (size_t cut = 0; cut < n; cut++) {
        memcpy(copy, text, cut);
        ck_assert_int_ne(crow_bencode_decode(copy, cut, nodes, 256, &doc, &err), 0);
        ck_assert_uint_le(err.pos, cut);
    }
    static const uint8_t bytes[] = {0, 'e', 'i', 'l', 'd', ':', '-', '0', '9', 0xff};
    for (size_t at = 0; at < n; at++) {
        for (size_t b = 0; b < sizeof bytes; b++) {
            memcpy(copy, text, n);
            copy[at] = bytes[b];
            if (crow_bencode_decode(copy, n, nodes, 256, &doc, &err) != 0)
                ck_assert_uint_le(err.pos, n);
        }
    }
    free(copy);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("bencode");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_valid_inputs_decode, 0, sizeof valid / sizeof valid[0]);
    tcase_add_loop_test(tc, test_malformed_inputs_fail_with_position, 0,
                        sizeof malformed / sizeof malformed[0]);
    tcase_add_test(tc, test_nesting_limit);
    tcase_add_test(tc, test_node_limit);
    tcase_add_test(tc, test_lookups);
    tcase_add_test(tc, test_encoder_round_trip);
    tcase_add_test(tc, test_encoder_rejects_misuse);
    tcase_add_test(tc, test_encoder_one_root_value);
    tcase_add_test(tc, test_mutations_never_crash);
    suite_add_tcase(s, tc);
    return s;
}
