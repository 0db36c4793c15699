/* The agent's request targets read back by the tracker: a host name, a rack, a release id and a
 * report detail (a health check's output: any bytes but NUL) from the input's records, written by
 * crow_agent_poll_target / crow_agent_report_target under a prefix, then parsed as the tracker parses
 * the request: the request line must hold (one target, no byte that ends it) and every value must
 * come back as it was sent, whenever it fits the tracker's fields. */
#include "crowcast/agent_proto.h"
#include "crowcast/agent_state.h"
#include "crowcast/error.h"
#include "crowcast/rollout_query.h"
#include "fuzz.h"

/* The next record as text (up to its first NUL, at most cap - 1 bytes). */
static void text_of(fuzz_input_t *in, char *out, size_t cap)
{
    size_t len = 0;
    uint8_t *rec = fuzz_record(in, &len);
    size_t n = rec ? strnlen((const char *)rec, len < cap ? len : cap - 1) : 0;
    if (n)
        memcpy(out, rec, n);
    out[n] = '\0';
    free(rec);
}

/* Parses "GET <target> HTTP/1.1" as the tracker does and returns the query. */
static crow_http_str_t query_of(const char *target, long len, char *request, size_t cap)
{
    int n = snprintf(request, cap, "GET %s HTTP/1.1\r\n\r\n", target);
    FUZZ_ASSERT(n > 0 && (size_t)n < cap);
    crow_http_parser_t p;
    crow_http_parser_init(&p, NULL);
    crow_http_request_t req;
    crow_http_error_t err;
    FUZZ_ASSERT(crow_http_parse_request(&p, (const uint8_t *)request, (size_t)n, &req, &err) == n);
    FUZZ_ASSERT(req.target.len == (size_t)len);
    return req.query;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char host[128], rack[64], current[80], detail[CROW_AGENT_DETAIL_MAX + 1], target[8192],
        request[8400];
    static crow_poll_query_t poll;
    static crow_report_query_t report;
    fuzz_input_t in = fuzz_input(data, size);
    uint8_t flags = fuzz_byte(&in);
    text_of(&in, host, sizeof host);
    text_of(&in, rack, sizeof rack);
    text_of(&in, current, sizeof current);
    text_of(&in, detail, sizeof detail);
    const char *prefix = flags & 1 ? "/tracker" : "";
    const char *why = NULL;

    long len = crow_agent_poll_target(target, sizeof target, prefix, host, rack, current, flags >> 2);
    FUZZ_ASSERT(len > 0);
    int ret = crow_poll_query_parse(query_of(target, len, request, sizeof request), &poll, &why);
    bool fits = host[0] && strlen(host) <= CROW_JREC_HOST_MAX && strlen(rack) <= CROW_RACK_NAME_MAX &&
                (!current[0] || crow_agent_release_valid(current));
    if (fits) {
        FUZZ_ASSERT(ret == 0 && strcmp(poll.host, host) == 0 && strcmp(poll.rack, rack) == 0);
        FUZZ_ASSERT(strcmp(poll.current, current) == 0 &&
                    poll.wait_s == ((flags >> 2) > 30 ? 30 : flags >> 2));
    }

    uint32_t rollout = 1u + (uint32_t)flags * 7919u;
    enum crow_step step = (enum crow_step)(CROW_STEP_DOWNLOAD + (flags & 3u));
    uint64_t seq = (uint64_t)flags * 1000003u;
    len =
        crow_agent_report_target(target, sizeof target, prefix, host, rollout, step, flags & 2, detail, seq);
    FUZZ_ASSERT(len > 0);
    ret = crow_report_query_parse(query_of(target, len, request, sizeof request), &report, &why);
    if (host[0] && strlen(host) <= CROW_JREC_HOST_MAX) {
        FUZZ_ASSERT(ret == 0 && strcmp(report.host, host) == 0 && strcmp(report.detail, detail) == 0);
        FUZZ_ASSERT(report.rollout == rollout && report.step == step && report.ok == ((flags & 2) != 0));
    }
    return 0;
}
