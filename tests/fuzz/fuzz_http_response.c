/* HTTP response parser as the clients (announce, agent) run it: any bytes, with or without the end
 * of the connection, are refused or give a status, headers and a body inside the buffer. A response
 * that parses before the end of the connection parses the same once the connection has ended. The
 * first byte picks tight or default limits. And the tracker's refusal written around the input's text
 * (crow_http_write_error) parses back to its status and that text. */
#include "crowcast/error.h"
#include "crowcast/http.h"
#include "fuzz.h"

static int parse(const uint8_t *buf, size_t len, bool eof, const crow_http_limits_t *limits,
                 crow_http_response_t *res)
{
    crow_http_error_t err = {0, NULL};
    int ret = crow_http_parse_response(buf, len, eof, limits, res, &err);
    if (ret > 0) {
        FUZZ_ASSERT((size_t)ret <= len && res->status >= 100 && res->status <= 999);
        FUZZ_ASSERT(res->header_count <= CROW_HTTP_MAX_HEADERS);
        FUZZ_ASSERT(res->body_len == 0 || (res->body >= buf && res->body + res->body_len <= buf + ret));
        for (uint32_t i = 0; i < res->header_count; i++) {
            const crow_http_header_t *h = &res->headers[i];
            FUZZ_ASSERT((const uint8_t *)h->name.ptr >= buf &&
                        (const uint8_t *)h->value.ptr + h->value.len <= buf + ret);
        }
        crow_http_find_header(res->headers, res->header_count, "content-type");
    } else {
        FUZZ_ASSERT(ret == CROW_EMORE || ret == CROW_EPARSE || ret == CROW_ELIMIT ||
                    ret == CROW_EUNSUPPORTED);
        FUZZ_ASSERT(ret == CROW_EMORE || err.why != NULL);
    }
    return ret;
}

static void error_round_trip(const uint8_t *data, size_t size)
{
    static char why[4096], out[8192];
    size_t n = strnlen((const char *)data, size < sizeof why ? size : sizeof why - 1);
    memcpy(why, data, n);
    why[n] = '\0';
    int status = 400 + (size ? data[0] % 200 : 0);
    long len = crow_http_write_error(out, sizeof out, status, why);
    FUZZ_ASSERT(len > 0);
    crow_http_response_t res;
    FUZZ_ASSERT(parse((const uint8_t *)out, (size_t)len, false, NULL, &res) == len);
    FUZZ_ASSERT(res.status == status && !res.keep_alive && res.body_len == n + 1);
    FUZZ_ASSERT(memcmp(res.body, why, n) == 0 && res.body[n] == '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    error_round_trip(data, size);
    static const crow_http_limits_t tight = {
        .max_request_line = 40, .max_head = 120, .max_headers = 3, .max_body = 64};
    if (size == 0)
        return 0;
    const crow_http_limits_t *limits = data[0] & 1 ? &tight : NULL;
    uint8_t *buf = malloc(size - 1 ? size - 1 : 1);
    if (!buf)
        abort();
    memcpy(buf, data + 1, size - 1);
    crow_http_response_t open_res, closed_res;
    int open = parse(buf, size - 1, false, limits, &open_res);
    int closed = parse(buf, size - 1, true, limits, &closed_res);
    if (open > 0) {
        FUZZ_ASSERT(closed == open && closed_res.status == open_res.status);
        FUZZ_ASSERT(closed_res.body_len == open_res.body_len && closed_res.keep_alive == open_res.keep_alive);
    }
    free(buf);
    return 0;
}
