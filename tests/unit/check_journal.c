/* journal: the rollout journal's record codec. Every record type and field survives a round trip,
 * hostile values are percent-encoded (a record stays one line), a bad CRC, an unknown key or type and an
 * over-long value are refused, a torn last record is ignored while corruption in the middle is not,
 * and random garbage never crashes the decoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/journal.h"
#include "check_main.h"

static char line[CROW_JREC_LINE_MAX];
static char journal[4 * CROW_JREC_LINE_MAX];
static crow_jrec_t rec, back;

/* CRC-32 (IEEE, reflected 0xEDB88320) through a 256-entry table: an independent check of the codec's. */
static uint32_t reference_crc(const char *p, size_t len)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t n = 0; n < 256; n++) {
            uint32_t c = n;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
    uint32_t crc = 0xFFFFFFFFu;
    while (len--)
        crc = table[(crc ^ (uint8_t)*p++) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

/* A line around a hand-written payload, with a correct CRC. */
static size_t framed(char *out, size_t cap, const char *payload)
{
    int n = snprintf(out, cap, "%08x %s\n", reference_crc(payload, strlen(payload)), payload);
    ck_assert(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static void fill(char *dst, size_t len, char c)
{
    memset(dst, c, len);
    dst[len] = '\0';
}

static void assert_same(const crow_jrec_t *a, const crow_jrec_t *b)
{
    ck_assert_int_eq(a->type, b->type);
    ck_assert_uint_eq(a->rollout, b->rollout);
    ck_assert_uint_eq(a->t_ms, b->t_ms);
    ck_assert_uint_eq(a->wave, b->wave);
    ck_assert_int_eq(a->code, b->code);
    ck_assert_int_eq(a->status, b->status);
    ck_assert_str_eq(a->host, b->host);
    ck_assert_str_eq(a->rack, b->rack);
    ck_assert_str_eq(a->release, b->release);
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->path, b->path);
    ck_assert_str_eq(a->text, b->text);
    ck_assert_str_eq(a->extra, b->extra);
}

static long round_trip(const crow_jrec_t *in)
{
    long n = crow_journal_encode(line, sizeof line, in);
    ck_assert_int_gt(n, 10);
    ck_assert_int_eq(line[n - 1], '\n');
    ck_assert_ptr_eq(memchr(line, '\n', (size_t)n - 1), NULL);
    ck_assert_int_eq(crow_journal_decode(line, (size_t)n, &back), n);
    assert_same(in, &back);
    return n;
}

/* Every type with every field set, numbers at their extremes. */
START_TEST(test_round_trip_every_type_and_field)
{
    memset(&rec, 0, sizeof rec);
    rec.type = (enum crow_jrec_type)(CROW_JREC_START + _i);
    rec.rollout = UINT32_MAX;
    rec.t_ms = 1700000000123ull;
    rec.wave = 31;
    rec.code = _i % 2 ? INT32_MIN : INT32_MAX;
    rec.status = -1;
    snprintf(rec.host, sizeof rec.host, "host-%d.dc1", _i);
    snprintf(rec.rack, sizeof rec.rack, "r%d", _i);
    fill(rec.release, 64, 'a');
    snprintf(rec.name, sizeof rec.name, "app-1.2.%d", _i);
    snprintf(rec.path, sizeof rec.path, "/var/lib/crowcast/releases/%d.torrent", _i);
    snprintf(rec.text, sizeof rec.text, "canary r1\nwave r2 failures=1 # sick\nwave rest soak=5m\n");
    snprintf(rec.extra, sizeof rec.extra, "r1,r2,r3");
    round_trip(&rec);
    /* Zero fields are left out and come back as zero. */
    memset(&rec, 0, sizeof rec);
    rec.type = (enum crow_jrec_type)(CROW_JREC_START + _i);
    long n = round_trip(&rec);
    ck_assert_int_eq(n, 9 + 4);
    ck_assert(strncmp(line + 9, "t=", 2) == 0);
}
END_TEST

START_TEST(test_max_lengths_fit)
{
    memset(&rec, 0, sizeof rec);
    rec.type = CROW_JREC_START;
    rec.rollout = UINT32_MAX;
    rec.t_ms = (uint64_t)INT64_MAX;
    rec.wave = UINT32_MAX;
    rec.code = INT32_MIN;
    rec.status = INT32_MIN;
    /* Every byte of every field needs an escape: the worst case. */
    fill(rec.host, CROW_JREC_HOST_MAX, '&');
    fill(rec.rack, sizeof rec.rack - 1, '=');
    fill(rec.release, 64, '%');
    fill(rec.name, CROW_JREC_NAME_MAX, ' ');
    fill(rec.path, CROW_JREC_PATH_MAX, '/');
    fill(rec.text, CROW_JREC_TEXT_MAX, '\n');
    fill(rec.extra, CROW_JREC_EXTRA_MAX, ',');
    long n = round_trip(&rec);
    ck_assert_int_le(n, CROW_JREC_LINE_MAX);
    /* One byte short of the line: no room, nothing half written is reported as a record. */
    ck_assert_int_eq(crow_journal_encode(line, (size_t)n - 1, &rec), CROW_ESPACE);
    ck_assert_int_eq(crow_journal_encode(line, 11, &rec), CROW_ESPACE);
    ck_assert_int_eq(crow_journal_encode(line, (size_t)n, &rec), n);
}
END_TEST

START_TEST(test_hostile_values_are_encoded)
{
    memset(&rec, 0, sizeof rec);
    rec.type = CROW_JREC_REPORT;
    /* Every byte value 1..255 in the detail. */
    for (int b = 1; b < 256; b++)
        rec.text[b - 1] = (char)b;
    snprintf(rec.host, sizeof rec.host, "h&t=3&x=evil\n");
    snprintf(rec.name, sizeof rec.name, "%%00%%zz%%");
    snprintf(rec.extra, sizeof rec.extra, "a=b&c=d\r\n00000000 t=1");
    long n = round_trip(&rec);
    /* The payload holds only unreserved bytes, '%' escapes and the separators of its own fields. */
    for (long i = 9; i < n - 1; i++)
        ck_assert_msg(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%&=", line[i]),
            "byte %02x at %ld", (unsigned char)line[i], i);
    /* Exactly the fields t, h, n, x, y: a hostile value did not smuggle in a key. */
    int amps = 0;
    for (long i = 9; i < n; i++)
        amps += line[i] == '&';
    ck_assert_int_eq(amps, 4);
}
END_TEST

static const struct {
    const char *payload;
    const char *why;
} refused[] = {
    {"", "empty payload"},
    {"r=1", "no type"},
    {"t=0", "type 0"},
    {"t=9", "type past the last"},
    {"t=99999999999999999999", "type overflows"},
    {"t=3&zz=1", "unknown key"},
    {"t=3&H=x", "keys are case-sensitive"},
    {"t=3&=1", "empty key"},
    {"t=3&r=abc", "rollout not a number"},
    {"t=3&r=-1", "negative rollout"},
    {"t=3&r=4294967296", "rollout over 32 bits"},
    {"t=3&ms=", "empty number"},
    {"t=3&ms=-5", "negative time"},
    {"t=3&c=2147483648", "code over int32"},
    {"t=3&s=1x", "trailing junk in a number"},
    {"t=3&h=%4", "cut escape"},
    {"t=3&h=%zz", "bad escape"},
    {"t=3&h=a%00b", "NUL byte in a value"},
    {"t=3&h=0123456789012345678901234567890123456789012345678901234567890123", "host of 64 bytes"},
    {"t=3&k=012345678901234567890123456789012", "rack of 33 bytes"},
    {"t=3&rel=00000000000000000000000000000000000000000000000000000000000000000", "release of 65 bytes"},
};

START_TEST(test_refused_payloads)
{
    size_t n = framed(line, sizeof line, refused[_i].payload);
    ck_assert_msg(crow_journal_decode(line, n, &rec) == CROW_EPARSE, "%s", refused[_i].why);
}
END_TEST

START_TEST(test_over_long_text_fields)
{
    static char payload[3 * CROW_JREC_EXTRA_MAX + 64];
    struct {
        const char *key;
        size_t max;
    } fields[] = {{"n", CROW_JREC_NAME_MAX},
                  {"p", CROW_JREC_PATH_MAX},
                  {"x", CROW_JREC_TEXT_MAX},
                  {"y", CROW_JREC_EXTRA_MAX}};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        for (size_t len = fields[f].max; len <= fields[f].max + 1; len++) {
            int at = snprintf(payload, sizeof payload, "t=1&%s=", fields[f].key);
            /* Escaped bytes count once decoded: the limit is on the value, not on its encoding. */
            for (size_t i = 0; i < len; i++)
                at += snprintf(payload + at, sizeof payload - (size_t)at, "%%41");
            size_t n = framed(journal, sizeof journal, payload);
            int want = len == fields[f].max ? (int)n : CROW_EPARSE;
            ck_assert_msg(crow_journal_decode(journal, n, &rec) == want, "%s of %zu", fields[f].key, len);
        }
    }
}
END_TEST

START_TEST(test_crc_mismatch)
{
    memset(&rec, 0, sizeof rec);
    rec.type = CROW_JREC_HOST;
    snprintf(rec.host, sizeof rec.host, "h1");
    snprintf(rec.rack, sizeof rec.rack, "r1");
    long n = crow_journal_encode(line, sizeof line, &rec);
    ck_assert_int_gt(n, 0);
    /* The codec's CRC is the standard one. */
    char want[9];
    snprintf(want, sizeof want, "%08x", reference_crc(line + 9, (size_t)n - 10));
    ck_assert(memcmp(line, want, 8) == 0);
    ck_assert_int_eq(crow_journal_decode(line, (size_t)n, &rec), n);
    /* Any single flipped bit of the payload or the CRC is caught. */
    for (long i = 0; i < n - 1; i++) {
        if (i == 8)
            continue;
        for (int bit = 0; bit < 7; bit++) {
            line[i] ^= (char)(1 << bit);
            if (line[i] != '\n')
                ck_assert_msg(crow_journal_decode(line, (size_t)n, &rec) < 0, "byte %ld bit %d", i, bit);
            line[i] ^= (char)(1 << bit);
        }
    }
    /* Upper-case hex, a missing space, a short line. */
    char upper[64];
    memcpy(upper, "ABCDEF01 t=2\n", 14);
    ck_assert_int_eq(crow_journal_decode(upper, 13, &rec), CROW_EPARSE);
    snprintf(upper, sizeof upper, "%08X t=2\n", reference_crc("t=2", 3));
    if (strspn(upper, "0123456789") < 8) /* only meaningful when the CRC has a letter */
        ck_assert_int_eq(crow_journal_decode(upper, strlen(upper), &rec), CROW_EPARSE);
    snprintf(upper, sizeof upper, "%08x\tt=2\n", reference_crc("t=2", 3));
    ck_assert_int_eq(crow_journal_decode(upper, strlen(upper), &rec), CROW_EPARSE);
    ck_assert_int_eq(crow_journal_decode("1234\n", 5, &rec), CROW_EPARSE);
    ck_assert_int_eq(crow_journal_decode("", 0, &rec), CROW_EMORE);
    ck_assert_int_eq(crow_journal_decode(line, (size_t)n - 1, &rec), CROW_EMORE);
    /* An invalid record does not encode. */
    rec.type = 0;
    ck_assert_int_eq(crow_journal_encode(line, sizeof line, &rec), CROW_EPARSE);
    rec.type = CROW_JREC_TYPE_LAST_;
    ck_assert_int_eq(crow_journal_encode(line, sizeof line, &rec), CROW_EPARSE);
}
END_TEST

struct seen {
    int count;
    uint32_t rollouts[8];
    int stop_at; /* return 7 from this record on (1-based), 0 never */
};

static int collect(void *ctx, const crow_jrec_t *r)
{
    struct seen *s = ctx;
    if (s->count < 8)
        s->rollouts[s->count] = r->rollout;
    s->count++;
    return s->stop_at && s->count >= s->stop_at ? 7 : 0;
}

/* Three records with rollouts 1, 2, 3; *ends gets the end offset of each. */
static size_t three_records(size_t ends[3])
{
    size_t len = 0;
    for (uint32_t k = 1; k <= 3; k++) {
        memset(&rec, 0, sizeof rec);
        rec.type = CROW_JREC_WAVE;
        rec.rollout = k;
        rec.wave = k - 1;
        snprintf(rec.text, sizeof rec.text, "record %u", k);
        long n = crow_journal_encode(journal + len, sizeof journal - len, &rec);
        ck_assert_int_gt(n, 0);
        len += (size_t)n;
        ends[k - 1] = len;
    }
    return len;
}

START_TEST(test_scan_whole_and_torn)
{
    size_t ends[3], good = 99;
    size_t len = three_records(ends);
    struct seen s = {0};
    ck_assert_int_eq(crow_journal_scan(journal, len, &good, collect, &s), 0);
    ck_assert_int_eq(s.count, 3);
    ck_assert_uint_eq(s.rollouts[2], 3);
    ck_assert_uint_eq(good, len);
    /* Cut anywhere inside the last record: the first two stand, the rest is a torn tail. */
    for (size_t cut = ends[1] + 1; cut < ends[2]; cut++) {
        memset(&s, 0, sizeof s);
        ck_assert_int_eq(crow_journal_scan(journal, cut, &good, collect, &s), 0);
        ck_assert_int_eq(s.count, 2);
        ck_assert_uint_eq(good, ends[1]);
    }
    /* A complete last line with a bad CRC (the tail of the write got lost) is torn too. */
    journal[ends[1] + 12] ^= 1;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(crow_journal_scan(journal, len, &good, collect, &s), 0);
    ck_assert_int_eq(s.count, 2);
    ck_assert_uint_eq(good, ends[1]);
    /* Empty journal, no callback. */
    ck_assert_int_eq(crow_journal_scan(journal, 0, &good, NULL, NULL), 0);
    ck_assert_uint_eq(good, 0);
    ck_assert_int_eq(crow_journal_scan(journal, ends[1], &good, NULL, NULL), 0);
    ck_assert_uint_eq(good, ends[1]);
}
END_TEST

START_TEST(test_scan_corruption_in_the_middle)
{
    size_t ends[3], good = 99;
    size_t len = three_records(ends);
    struct seen s = {0};
    journal[ends[0] + 15] ^= 2; /* inside the second record */
    ck_assert_int_eq(crow_journal_scan(journal, len, &good, collect, &s), CROW_EPARSE);
    ck_assert_int_eq(s.count, 1);
    ck_assert_uint_eq(good, ends[0]);
    journal[ends[0] + 15] ^= 2;
    /* A newline lost in the middle glues two records into one bad line followed by more. */
    journal[ends[0] - 1] = 'x';
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(crow_journal_scan(journal, len, &good, collect, &s), CROW_EPARSE);
    ck_assert_int_eq(s.count, 0);
    ck_assert_uint_eq(good, 0);
    journal[ends[0] - 1] = '\n';
    /* The callback's code stops the walk and comes back. */
    memset(&s, 0, sizeof s);
    s.stop_at = 2;
    ck_assert_int_eq(crow_journal_scan(journal, len, &good, collect, &s), 7);
    ck_assert_int_eq(s.count, 2);
    ck_assert_uint_eq(good, ends[0]);
}
END_TEST

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* Random bytes and mutated good lines: the decoder answers, never reads past the buffer (run it
 * under the sanitizer build), and whatever it accepts encodes back to the same line. */
START_TEST(test_fuzz_garbage)
{
    static char buf[512];
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len;
        if (iter % 2) {
            len = next_random() % sizeof buf;
            for (size_t i = 0; i < len; i++)
                buf[i] = iter % 4 == 1 ? (char)next_random() : "0123456789abcdef t=&%\n"[next_random() % 22];
        } else {
            memset(&rec, 0, sizeof rec);
            rec.type = (enum crow_jrec_type)(1 + next_random() % 7);
            rec.rollout = next_random() % 5;
            snprintf(rec.host, sizeof rec.host, "h%u", next_random() % 100);
            snprintf(rec.text, sizeof rec.text, "x&y=%u", next_random());
            long n = crow_journal_encode(buf, sizeof buf, &rec);
            ck_assert_int_gt(n, 0);
            len = (size_t)n;
            for (uint32_t k = next_random() % 3; k > 0; k--)
                buf[next_random() % len] = (char)next_random();
            if (next_random() % 4 == 0)
                len = next_random() % (len + 1);
        }
        char *exact = malloc(len ? len : 1); /* exact size: the sanitizer sees any overread */
        ck_assert_ptr_nonnull(exact);
        memcpy(exact, buf, len);
        int n = crow_journal_decode(exact, len, &rec);
        ck_assert(n == CROW_EMORE || n == CROW_EPARSE || (n > 0 && (size_t)n <= len));
        if (n > 0) {
            accepted++;
            ck_assert_int_eq(crow_journal_encode(line, sizeof line, &rec), n);
            ck_assert(memcmp(line, exact, (size_t)n) == 0);
        }
        size_t good;
        int s = crow_journal_scan(exact, len, &good, NULL, NULL);
        ck_assert(s == 0 || s == CROW_EPARSE);
        ck_assert_uint_le(good, len);
        free(exact);
    }
    /* Unmutated or harmlessly mutated lines do get through: the loop exercised the accepting path. */
    ck_assert_int_gt(accepted, 100);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_round_trip_every_type_and_field, 0, CROW_JREC_TYPE_LAST_ - CROW_JREC_START);
    tcase_add_test(tc, test_max_lengths_fit);
    tcase_add_test(tc, test_hostile_values_are_encoded);
    tcase_add_loop_test(tc, test_refused_payloads, 0, sizeof refused / sizeof refused[0]);
    tcase_add_test(tc, test_over_long_text_fields);
    tcase_add_test(tc, test_crc_mismatch);
    tcase_add_test(tc, test_scan_whole_and_torn);
    tcase_add_test(tc, test_scan_corruption_in_the_middle);
    tcase_add_test(tc, test_fuzz_garbage);
    suite_add_tcase(s, tc);
    return s;
}
