/* Query strings of the tracker's rollout endpoints, and the poll answer (see rollout_query.h). */
#include <stdio.h>
#include <string.h>

#include "crowcast/bencode.h"
#include "crowcast/error.h"
#include "crowcast/rollout_query.h"
#include "crowcast/units.h"

int crow_query_value(crow_http_str_t query, const char *key, char *out, size_t cap)
{
    crow_http_query_t it;
    crow_http_str_t k, v;
    out[0] = '\0';
    crow_http_query_init(&it, query);
    while (crow_http_query_next(&it, &k, &v)) {
        if (k.len != strlen(key) || memcmp(k.ptr, key, k.len) != 0)
            continue;
        long n = crow_http_pct_decode(v.ptr, v.len, (uint8_t *)out, cap - 1);
        if (n < 0) {
            out[0] = '\0';
            return (int)n;
        }
        out[n] = '\0';
        return strlen(out) == (size_t)n ? 0 : CROW_EPARSE; /* an embedded NUL */
    }
    return 1;
}

/* A mandatory value: present and not empty. */
static int need(crow_http_str_t query, const char *key, char *out, size_t cap)
{
    int ret = crow_query_value(query, key, out, cap);
    return ret == 0 && out[0] ? 0 : CROW_EPARSE;
}

/* An unsigned decimal of at most 9 digits, no sign, no leading junk. */
static int number(const char *text, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!crow_parse_decimal(text, strlen(text), max, &v))
        return CROW_EPARSE;
    *out = (uint32_t)v;
    return 0;
}

static bool release_or_empty(const char *text)
{
    size_t n = strlen(text);
    return n == 0 || (n == 64 && strspn(text, "0123456789abcdef") == 64);
}

int crow_poll_query_parse(crow_http_str_t query, crow_poll_query_t *out, const char **why)
{
    char wait[16];
    memset(out, 0, sizeof *out);
    if (need(query, "host", out->host, sizeof out->host)) {
        *why = "missing or invalid host";
        return CROW_EPARSE;
    }
    if (crow_query_value(query, "rack", out->rack, sizeof out->rack) < 0) {
        *why = "invalid rack";
        return CROW_EPARSE;
    }
    if (crow_query_value(query, "current", out->current, sizeof out->current) < 0 ||
        !release_or_empty(out->current)) {
        *why = "invalid current (64 lower-case hex digits or empty)";
        return CROW_EPARSE;
    }
    int ret = crow_query_value(query, "wait", wait, sizeof wait);
    if (ret < 0 || (ret == 0 && number(wait, CROW_POLL_WAIT_MAX, &out->wait_s))) {
        *why = "invalid wait (0 to 30 seconds)";
        return CROW_EPARSE;
    }
    return 0;
}

int crow_report_query_parse(crow_http_str_t query, crow_report_query_t *out, const char **why)
{
    char text[16];
    memset(out, 0, sizeof *out);
    if (need(query, "host", out->host, sizeof out->host)) {
        *why = "missing or invalid host";
        return CROW_EPARSE;
    }
    if (need(query, "rollout", text, sizeof text) || number(text, UINT32_MAX / 2, &out->rollout) ||
        out->rollout == 0) {
        *why = "missing or invalid rollout";
        return CROW_EPARSE;
    }
    if (need(query, "step", text, sizeof text) || !(out->step = crow_step_parse(text))) {
        *why = "missing or invalid step (download, activate, health or rollback)";
        return CROW_EPARSE;
    }
    if (need(query, "status", text, sizeof text) || (strcmp(text, "ok") && strcmp(text, "failed"))) {
        *why = "missing or invalid status (ok or failed)";
        return CROW_EPARSE;
    }
    out->ok = strcmp(text, "ok") == 0;
    if (crow_query_value(query, "detail", out->detail, sizeof out->detail) < 0) {
        *why = "invalid detail";
        return CROW_EPARSE;
    }
    char seq[24];
    int ret = crow_query_value(query, "seq", seq, sizeof seq);
    if (ret < 0 || (ret == 0 && !crow_parse_decimal(seq, strlen(seq), INT64_MAX, &out->seq))) {
        *why = "invalid seq";
        return CROW_EPARSE;
    }
    return 0;
}

int crow_start_query_parse(crow_http_str_t query, crow_start_query_t *out, const char **why)
{
    char mode[16];
    memset(out, 0, sizeof *out);
    if (need(query, "torrent", out->torrent, sizeof out->torrent) || out->torrent[0] != '/') {
        *why = "missing or invalid torrent (an absolute path the tracker can read)";
        return CROW_EPARSE;
    }
    int ret = crow_query_value(query, "plan", out->plan, sizeof out->plan);
    if (ret == CROW_ELIMIT) {
        *why = "plan larger than 1024 bytes";
        return CROW_EPARSE;
    }
    if (ret || !out->plan[0]) {
        *why = "missing or invalid plan";
        return CROW_EPARSE;
    }
    ret = crow_query_value(query, "distribute", mode, sizeof mode);
    if (ret == 0 && strcmp(mode, "per-wave") == 0)
        out->distribute = CROW_DISTRIBUTE_PER_WAVE;
    else if (ret < 0 || (ret == 0 && strcmp(mode, "all") != 0)) {
        *why = "invalid distribute (all or per-wave)";
        return CROW_EPARSE;
    }
    return 0;
}

long crow_poll_answer_encode(uint8_t *buf, size_t cap, enum crow_order order, uint32_t rollout,
                             const char *release, const char *name, uint32_t interval)
{
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, buf, cap);
    crow_bencode_open_dict(&e);
    crow_bencode_put_key(&e, "interval");
    crow_bencode_put_int(&e, interval);
    crow_bencode_put_key(&e, "name");
    crow_bencode_put_cstr(&e, name);
    crow_bencode_put_key(&e, "order");
    crow_bencode_put_cstr(&e, crow_order_name(order));
    crow_bencode_put_key(&e, "release");
    crow_bencode_put_cstr(&e, release);
    crow_bencode_put_key(&e, "rollout");
    crow_bencode_put_int(&e, rollout);
    crow_bencode_close(&e);
    return crow_bencode_finish(&e);
}
