/* The rollout journal's record codec: CRC-framed query-string lines. */
#include <stdio.h>
#include <string.h>

#include "crowcast/byteorder.h"
#include "crowcast/error.h"
#include "crowcast/hex.h"
#include "crowcast/http.h"
#include "crowcast/journal.h"
#include "crowcast/text.h"
#include "crowcast/units.h"

uint32_t crow_journal_crc32(const char *p, size_t len)
{
    uint32_t crc = UINT32_MAX;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint8_t)p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put_str(crow_text_t *o, const char *key, const char *value)
{
    if (!value[0])
        return;
    crow_text_printf(o, "&%s=", key);
    if (o->full)
        return;
    long n = crow_http_pct_encode((const uint8_t *)value, strlen(value), o->buf + o->len, o->cap - o->len);
    if (n < 0)
        o->full = true;
    else
        o->len += (size_t)n;
}

static void put_num(crow_text_t *o, const char *key, long long v)
{
    char num[24];
    if (v == 0)
        return;
    snprintf(num, sizeof num, "%lld", v);
    put_str(o, key, num);
}

long crow_journal_encode(char *buf, size_t cap, const crow_jrec_t *rec)
{
    if (rec->type < CROW_JREC_START || rec->type >= CROW_JREC_TYPE_LAST_)
        return CROW_EPARSE; /* the type is the first field: a line without one would not decode */
    if (cap < 12)
        return CROW_ESPACE;
    /* Fields go in from buf + 8, each behind a '&': the first one's becomes the space after the CRC.
     * The writer keeps room for a NUL, so the '\n' always has its byte. */
    crow_text_t o;
    crow_text_init(&o, buf + 8, cap - 8);
    put_num(&o, "t", rec->type);
    put_num(&o, "r", rec->rollout);
    put_num(&o, "ms", (long long)rec->t_ms);
    put_num(&o, "w", rec->wave);
    put_num(&o, "c", rec->code);
    put_num(&o, "s", rec->status);
    put_num(&o, "q", (long long)rec->seq);
    put_str(&o, "h", rec->host);
    put_str(&o, "k", rec->rack);
    put_str(&o, "rel", rec->release);
    put_str(&o, "n", rec->name);
    put_str(&o, "p", rec->path);
    put_str(&o, "x", rec->text);
    put_str(&o, "y", rec->extra);
    if (o.full)
        return CROW_ESPACE;
    size_t plen = o.len - 1;
    char crc[9];
    snprintf(crc, sizeof crc, "%08x", crow_journal_crc32(buf + 9, plen));
    memcpy(buf, crc, 8);
    buf[8] = ' ';
    buf[9 + plen] = '\n';
    return (long)(10 + plen);
}

static int get_num(crow_http_str_t v, long long min, long long max, long long *out)
{
    bool negative = v.len > 1 && v.ptr[0] == '-';
    uint64_t magnitude;
    if (!crow_parse_decimal(v.ptr + negative, v.len - negative,
                            negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &magnitude))
        return CROW_EPARSE;
    long long n = negative ? (long long)(0 - magnitude) : (long long)magnitude;
    if (n < min || n > max)
        return CROW_EPARSE;
    *out = n;
    return 0;
}

static int get_str(crow_http_str_t v, char *out, size_t cap)
{
    long n = crow_http_pct_decode(v.ptr, v.len, (uint8_t *)out, cap - 1);
    if (n < 0 || memchr(out, '\0', (size_t)n))
        return CROW_EPARSE;
    out[n] = '\0';
    return 0;
}

static bool key_is(crow_http_str_t k, const char *name)
{
    return k.len == strlen(name) && memcmp(k.ptr, name, k.len) == 0;
}

int crow_journal_decode(const char *buf, size_t len, crow_jrec_t *rec)
{
    const char *nl = memchr(buf, '\n', len);
    if (!nl)
        return CROW_EMORE;
    size_t line = (size_t)(nl - buf);
    char hex[9];
    uint8_t crc[4];
    if (line < 9 || buf[8] != ' ')
        return CROW_EPARSE;
    memcpy(hex, buf, 8);
    hex[8] = '\0';
    /* Lower case only: the CRC is written that way, so anything else is damage. */
    if (strspn(hex, "0123456789abcdef") != 8 || crow_unhex(hex, crc, sizeof crc) ||
        crow_get32(crc) != crow_journal_crc32(buf + 9, line - 9))
        return CROW_EPARSE;
    memset(rec, 0, sizeof *rec);
    crow_http_query_t q;
    crow_http_query_init(&q, (crow_http_str_t){buf + 9, line - 9});
    crow_http_str_t k, v;
    long long n = 0;
    int ret = 0;
    while (!ret && crow_http_query_next(&q, &k, &v)) {
        if (key_is(k, "t") && !(ret = get_num(v, 1, CROW_JREC_TYPE_LAST_ - 1, &n)))
            rec->type = (enum crow_jrec_type)n;
        else if (key_is(k, "r") && !(ret = get_num(v, 0, UINT32_MAX, &n)))
            rec->rollout = (uint32_t)n;
        else if (key_is(k, "ms") && !(ret = get_num(v, 0, INT64_MAX, &n)))
            rec->t_ms = (uint64_t)n;
        else if (key_is(k, "w") && !(ret = get_num(v, 0, UINT32_MAX, &n)))
            rec->wave = (uint32_t)n;
        else if (key_is(k, "c") && !(ret = get_num(v, INT32_MIN, INT32_MAX, &n)))
            rec->code = (int32_t)n;
        else if (key_is(k, "s") && !(ret = get_num(v, INT32_MIN, INT32_MAX, &n)))
            rec->status = (int32_t)n;
        else if (key_is(k, "q") && !(ret = get_num(v, 0, INT64_MAX, &n)))
            rec->seq = (uint64_t)n;
        else if (key_is(k, "h"))
            ret = get_str(v, rec->host, sizeof rec->host);
        else if (key_is(k, "k"))
            ret = get_str(v, rec->rack, sizeof rec->rack);
        else if (key_is(k, "rel"))
            ret = get_str(v, rec->release, sizeof rec->release);
        else if (key_is(k, "n"))
            ret = get_str(v, rec->name, sizeof rec->name);
        else if (key_is(k, "p"))
            ret = get_str(v, rec->path, sizeof rec->path);
        else if (key_is(k, "x"))
            ret = get_str(v, rec->text, sizeof rec->text);
        else if (key_is(k, "y"))
            ret = get_str(v, rec->extra, sizeof rec->extra);
        else if (!ret)
            ret = CROW_EPARSE;
    }
    if (ret || rec->type == 0)
        return CROW_EPARSE;
    return (int)(line + 1);
}

int crow_journal_scan(const char *buf, size_t len, size_t *good_len,
                      int (*fn)(void *ctx, const crow_jrec_t *rec), void *ctx)
{
    static _Thread_local crow_jrec_t rec; /* about 10 KiB: kept off the stack */
    size_t pos = 0;
    *good_len = 0;
    while (pos < len) {
        int n = crow_journal_decode(buf + pos, len - pos, &rec);
        if (n == CROW_EMORE)
            return 0; /* torn last record: no newline */
        if (n < 0) {
            const char *nl = memchr(buf + pos, '\n', len - pos);
            return nl + 1 == buf + len ? 0 : CROW_EPARSE; /* a bad last line is torn too */
        }
        int ret = fn ? fn(ctx, &rec) : 0;
        if (ret)
            return ret;
        pos += (size_t)n;
        *good_len = pos;
    }
    return 0;
}
