/* json: the one JSON string escaper; whatever bytes come in, what goes out is valid JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/json.h"
#include "check_main.h"

/* A check of a JSON string literal: quoted, only the escapes JSON has, no raw control byte, and
 * every multi-byte character a lead byte with its continuation bytes. */
static bool valid_json_string(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len < 2 || u[0] != '"' || u[len - 1] != '"')
        return false;
    for (size_t i = 1; i + 1 < len;) {
        if (u[i] < 0x20 || u[i] == '"')
            return false;
        if (u[i] == '\\') {
            if (i + 2 >= len)
                return false;
            if (u[i + 1] == 'u') {
                if (i + 6 >= len || strspn(s + i + 2, "0123456789abcdefABCDEF") < 4)
                    return false;
                i += 6;
            } else if (strchr("\"\\/bfnrt", u[i + 1]) && u[i + 1]) {
                i += 2;
            } else {
                return false;
            }
            continue;
        }
        size_t n = u[i] < 0x80 ? 1 : (u[i] & 0xe0) == 0xc0 ? 2 : (u[i] & 0xf0) == 0xe0 ? 3 : 4;
        if ((u[i] & 0xc0) == 0x80 || u[i] >= 0xf5 || u[i] == 0xc0 || u[i] == 0xc1 || i + n >= len)
            return false;
        for (size_t k = 1; k < n; k++)
            if ((u[i + k] & 0xc0) != 0x80)
                return false;
        i += n;
    }
    return true;
}

START_TEST(test_escapes)
{
    char out[64];
    ck_assert_int_eq(crow_json_quote(out, sizeof out, "a\"b\\c\n"), 15);
    ck_assert_str_eq(out, "\"a\\\"b\\\\c\\u000a\"");
    ck_assert_int_eq(crow_json_quote(out, sizeof out, "\x01\x1f\x7f"), 20); /* DEL too: terminals */
    ck_assert_str_eq(out, "\"\\u0001\\u001f\\u007f\"");
    /* Valid UTF-8 passes through: é, €, U+10348. */
    ck_assert_int_eq(crow_json_quote(out, sizeof out, "\xc3\xa9\xe2\x82\xac\xf0\x90\x8d\x88"), 11);
    ck_assert_str_eq(out, "\"\xc3\xa9\xe2\x82\xac\xf0\x90\x8d\x88\"");
}
END_TEST

/* Bytes that are not UTF-8 each become U+FFFD; what follows them is kept. */
static const struct {
    const char *in, *want;
} hostile[] = {
    {"\xff", "\"\xef\xbf\xbd\""},
    {"a\x80z", "\"a\xef\xbf\xbdz\""},                             /* a stray continuation byte */
    {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},                 /* overlong '/' */
    {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* a surrogate, U+D800 */
    {"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* past U+10FFFF */
    {"\xe2\x82", "\"\xef\xbf\xbd\xef\xbf\xbd\""},                                 /* cut short at the end */
    {"\xe2\"x", "\"\xef\xbf\xbd\\\"x\""},                                         /* cut short by a quote */
};

START_TEST(test_hostile_bytes)
{
    char out[64];
    long n = crow_json_quote(out, sizeof out, hostile[_i].in);
    ck_assert_int_eq(n, (long)strlen(hostile[_i].want));
    ck_assert_str_eq(out, hostile[_i].want);
    ck_assert(valid_json_string(out, (size_t)n));
}
END_TEST

/* Every byte value, one at a time and all in a row, gives valid JSON. */
START_TEST(test_every_byte_is_valid_json)
{
    char in[256], out[256 * CROW_JSON_CHAR_MAX + 3];
    for (int b = 1; b < 256; b++) {
        char one[2] = {(char)b, 0};
        long n = crow_json_quote(out, sizeof out, one);
        ck_assert_msg(n > 0 && valid_json_string(out, (size_t)n), "byte 0x%02x", b);
        in[b - 1] = (char)b;
    }
    in[255] = '\0';
    long n = crow_json_quote(out, sizeof out, in);
    ck_assert(n > 0 && valid_json_string(out, (size_t)n));
}
END_TEST

START_TEST(test_bounds_whole_or_nothing)
{
    char out[32];
    ck_assert_int_eq(crow_json_quote(out, 5, "ab"), 4); /* exactly fits: "ab" and the NUL */
    ck_assert_str_eq(out, "\"ab\"");
    ck_assert_int_eq(crow_json_quote(out, 4, "ab"), -1);
    ck_assert_int_eq(crow_json_quote(out, 3, ""), 2);
    ck_assert_int_eq(crow_json_quote(out, 2, ""), -1);
    ck_assert_int_eq(crow_json_quote(out, 0, "x"), -1);
    /* A string that does not fit leaves nothing of itself behind the text before it. */
    crow_text_t t;
    crow_text_init(&t, out, 12);
    crow_text_put(&t, "{\"k\":", 5);
    crow_json_put(&t, "\xff\xff"); /* 8 bytes: 5 + 8 + NUL > 12 */
    ck_assert(t.full);
    ck_assert_uint_eq(t.len, 5);
    ck_assert_str_eq(out, "{\"k\":");
    ck_assert_int_eq(crow_text_end(&t), CROW_ESPACE);
}
END_TEST

START_TEST(test_stream_matches_buffer)
{
    char buf[64], mem[64] = {0};
    FILE *f = fmemopen(mem, sizeof mem, "w");
    ck_assert_ptr_nonnull(f);
    crow_json_fput(f, "x\"\xfe\n\xc3\xa9");
    fclose(f);
    ck_assert_int_gt(crow_json_quote(buf, sizeof buf, "x\"\xfe\n\xc3\xa9"), 0);
    ck_assert_str_eq(mem, buf);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_escapes);
    tcase_add_loop_test(tc, test_hostile_bytes, 0, sizeof hostile / sizeof hostile[0]);
    tcase_add_test(tc, test_every_byte_is_valid_json);
    tcase_add_test(tc, test_bounds_whole_or_nothing);
    tcase_add_test(tc, test_stream_matches_buffer);
    suite_add_tcase(s, tc);
    return s;
}
