/* Probe report codec: a step's report as a query string, and the lines of /probe/results. Strict:
 * every field once, plain decimal in range, nothing unknown. */
#include <stdio.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/http.h"
#include "crowcast/probe_report.h"
#include "crowcast/units.h"

/* Report fields in their encoding order; the bit of a field is 1 << its index. */
static const char *const fields[] = {"run", "step", "rate", "expected", "received", "bytes", "usec", "drops"};
#define NFIELDS    (sizeof fields / sizeof fields[0])
#define ALL_FIELDS ((1u << NFIELDS) - 1)

static uint64_t *field_slot(crow_probe_report_t *r, uint64_t tmp[2], size_t i)
{
    uint64_t *slots[] = {&tmp[0],      &tmp[1],           &r->rate_bps, &r->expected,
                         &r->received, &r->payload_bytes, &r->usec,     &r->kernel_drops};
    return slots[i];
}

long crow_probe_report_encode(const crow_probe_report_t *r, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "run=%u&step=%u&rate=%llu&expected=%llu&received=%llu&bytes=%llu&usec=%llu&drops=%llu",
                     r->run, r->step, (unsigned long long)r->rate_bps, (unsigned long long)r->expected,
                     (unsigned long long)r->received, (unsigned long long)r->payload_bytes,
                     (unsigned long long)r->usec, (unsigned long long)r->kernel_drops);
    return n < 0 || (size_t)n >= cap ? CROW_ESPACE : n;
}

static bool str_is(crow_http_str_t s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

/* Plain decimal: 1..20 digits, no sign, no leading zero (except "0"), no overflow. */
static bool parse_u64(crow_http_str_t s, uint64_t *out)
{
    return crow_parse_decimal(s.ptr, s.len, UINT64_MAX, out);
}

/* Takes one report field; returns false for an unknown key, a repeat or a bad number. */
static bool take_field(crow_probe_report_t *r, uint64_t tmp[2], unsigned *seen, crow_http_str_t k,
                       crow_http_str_t v)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        if (!str_is(k, fields[i]))
            continue;
        if (*seen & (1u << i) || !parse_u64(v, field_slot(r, tmp, i)))
            return false;
        *seen |= 1u << i;
        return true;
    }
    return false;
}

static int finish_report(crow_probe_report_t *r, const uint64_t tmp[2], unsigned seen)
{
    if (seen != ALL_FIELDS || tmp[0] > UINT16_MAX || tmp[1] >= CROW_PROBE_MAX_STEPS ||
        r->received > r->expected)
        return CROW_EPARSE;
    r->run = (uint16_t)tmp[0];
    r->step = (uint16_t)tmp[1];
    return 0;
}

int crow_probe_report_decode(const char *q, size_t len, crow_probe_report_t *out)
{
    memset(out, 0, sizeof *out);
    crow_http_query_t it;
    crow_http_query_init(&it, (crow_http_str_t){q, len});
    crow_http_str_t k, v;
    uint64_t tmp[2] = {0, 0};
    unsigned seen = 0;
    while (crow_http_query_next(&it, &k, &v))
        if (!take_field(out, tmp, &seen, k, v))
            return CROW_EPARSE;
    return finish_report(out, tmp, seen);
}

long crow_probe_report_line_encode(const crow_probe_report_line_t *l, char *buf, size_t cap)
{
    char host[16], group[16];
    crow_ipv4_format(l->host, host);
    int n;
    if (l->kind == CROW_PROBE_REPORT_LINE_RECEIVER) {
        crow_ipv4_format(l->group, group);
        n = snprintf(buf, cap, "receiver&host=%s&rack=%s&group=%s:%u\n", host, l->rack, group, l->port);
    } else {
        n = snprintf(buf, cap, "report&host=%s&rack=%s&", host, l->rack);
        if (n < 0 || (size_t)n >= cap)
            return CROW_ESPACE;
        long m = crow_probe_report_encode(&l->report, buf + n, cap - (size_t)n);
        if (m < 0 || (size_t)(n + m + 1) >= cap)
            return CROW_ESPACE;
        buf[n + m] = '\n';
        buf[n + m + 1] = '\0';
        return n + m + 1;
    }
    return n < 0 || (size_t)n >= cap ? CROW_ESPACE : n;
}

int crow_probe_report_line_decode(const char *line, size_t len, crow_probe_report_line_t *out)
{
    memset(out, 0, sizeof *out);
    crow_http_query_t it;
    crow_http_query_init(&it, (crow_http_str_t){line, len});
    crow_http_str_t k, v;
    if (!crow_http_query_next(&it, &k, &v) || v.len)
        return CROW_EPARSE;
    if (str_is(k, "receiver"))
        out->kind = CROW_PROBE_REPORT_LINE_RECEIVER;
    else if (str_is(k, "report"))
        out->kind = CROW_PROBE_REPORT_LINE_REPORT;
    else
        return CROW_EPARSE;
    bool host = false, rack = false, group = false;
    uint64_t tmp[2] = {0, 0};
    unsigned seen = 0;
    while (crow_http_query_next(&it, &k, &v)) {
        bool ok;
        if (str_is(k, "host"))
            ok = !host && (host = crow_ipv4_parse(v.ptr, v.len, &out->host));
        else if (str_is(k, "rack"))
            ok = !rack && (rack = crow_rack_name_valid(v.ptr, v.len));
        else if (out->kind == CROW_PROBE_REPORT_LINE_RECEIVER && str_is(k, "group"))
            ok = !group && (group = crow_ipv4_parse_endpoint(v.ptr, v.len, &out->group, &out->port));
        else
            ok = out->kind == CROW_PROBE_REPORT_LINE_REPORT && take_field(&out->report, tmp, &seen, k, v);
        if (!ok)
            return CROW_EPARSE;
        if (str_is(k, "rack"))
            memcpy(out->rack, v.ptr, v.len);
    }
    if (!host || !rack)
        return CROW_EPARSE;
    if (out->kind == CROW_PROBE_REPORT_LINE_RECEIVER)
        return group ? 0 : CROW_EPARSE;
    return finish_report(&out->report, tmp, seen);
}

int crow_probe_report_results_decode(const char *q, size_t len, uint16_t *run, uint16_t *step)
{
    crow_http_query_t it;
    crow_http_query_init(&it, (crow_http_str_t){q, len});
    crow_http_str_t k, v;
    uint64_t vals[2];
    unsigned seen = 0;
    while (crow_http_query_next(&it, &k, &v)) {
        unsigned i = str_is(k, "run") ? 0 : str_is(k, "step") ? 1 : 2;
        if (i == 2 || seen & (1u << i) || !parse_u64(v, &vals[i]))
            return CROW_EPARSE;
        seen |= 1u << i;
    }
    if (seen != 3 || vals[0] > UINT16_MAX || vals[1] >= CROW_PROBE_MAX_STEPS)
        return CROW_EPARSE;
    *run = (uint16_t)vals[0];
    *step = (uint16_t)vals[1];
    return 0;
}
