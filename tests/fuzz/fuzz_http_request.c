/* HTTP request parser as the tracker runs it: a connection's bytes arrive in records (any split),
 * pipelined requests are cut off one by one. The verdicts (each request's length, then the error or
 * the wait for more) must not depend on how the bytes were split: the same stream parsed in one piece
 * gives the same ones. Each request's query is iterated and percent-decoded as the endpoints do. The
 * first byte picks tight or default limits. */
#include "crowcast/error.h"
#include "crowcast/http.h"
#include "fuzz.h"

#define MAX_VERDICTS 64

struct verdicts {
    int v[MAX_VERDICTS];
    unsigned n;
};

static void check_request(const crow_http_request_t *req, const uint8_t *buf, int len)
{
    const char *lo = (const char *)buf, *hi = lo + len;
    FUZZ_ASSERT(req->target.ptr >= lo && req->target.ptr + req->target.len <= hi);
    FUZZ_ASSERT(req->target.len > 0 && req->target.ptr[0] == '/');
    FUZZ_ASSERT(req->path.ptr == req->target.ptr && req->path.len <= req->target.len);
    FUZZ_ASSERT(req->minor_version == 0 || req->minor_version == 1);
    FUZZ_ASSERT(req->header_count <= CROW_HTTP_MAX_HEADERS);
    for (uint32_t i = 0; i < req->header_count; i++) {
        const crow_http_header_t *h = &req->headers[i];
        FUZZ_ASSERT(h->name.ptr >= lo && h->name.ptr + h->name.len <= hi);
        FUZZ_ASSERT(h->value.ptr >= lo && h->value.ptr + h->value.len <= hi);
    }
    crow_http_find_header(req->headers, req->header_count, "host");
    crow_http_query_t q;
    crow_http_query_init(&q, req->query);
    crow_http_str_t key, value;
    uint8_t out[256];
    while (crow_http_query_next(&q, &key, &value)) {
        FUZZ_ASSERT(key.ptr >= req->query.ptr && value.ptr + value.len <= req->query.ptr + req->query.len);
        long n = crow_http_pct_decode(value.ptr, value.len, out, sizeof out);
        FUZZ_ASSERT(n == CROW_EPARSE || n == CROW_ELIMIT || (n >= 0 && (size_t)n <= value.len));
    }
}

/* Parses buf[0..len) with p, cutting off complete requests; appends the verdicts; returns the
 * bytes consumed. Waiting for more is not a verdict (a split stream waits more often). Each call sees an
 * exact-size copy of what has arrived. */
static size_t parse(crow_http_parser_t *p, const uint8_t *buf, size_t len, struct verdicts *out, bool *closed)
{
    size_t used = 0;
    while (!*closed && out->n < MAX_VERDICTS) {
        size_t n = len - used;
        uint8_t *copy = malloc(n ? n : 1);
        if (!copy)
            abort();
        memcpy(copy, buf + used, n);
        crow_http_request_t req;
        crow_http_error_t err = {0, NULL};
        int ret = crow_http_parse_request(p, copy, n, &req, &err);
        if (ret > 0) {
            FUZZ_ASSERT((size_t)ret <= n);
            check_request(&req, copy, ret);
            used += (size_t)ret;
        } else if (ret != CROW_EMORE) {
            FUZZ_ASSERT(ret == CROW_EPARSE || ret == CROW_ELIMIT || ret == CROW_EUNSUPPORTED);
            FUZZ_ASSERT(err.status >= 400 && err.status <= 505 && err.why != NULL);
            *closed = true;
        }
        free(copy);
        if (ret != CROW_EMORE)
            out->v[out->n++] = ret;
        if (ret <= 0)
            break;
    }
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const crow_http_limits_t tight = {.max_request_line = 40, .max_head = 120, .max_headers = 3};
    fuzz_input_t in = fuzz_input(data, size);
    const crow_http_limits_t *limits = fuzz_byte(&in) & 1 ? &tight : NULL;
    uint8_t *stream = malloc(in.left ? in.left : 1);
    if (!stream)
        abort();
    size_t have = 0, used = 0;
    bool closed = false;
    struct verdicts split = {.n = 0}, whole = {.n = 0};
    crow_http_parser_t p;
    crow_http_parser_init(&p, limits);
    size_t len;
    uint8_t *rec;
    while (!closed && (rec = fuzz_record(&in, &len)) != NULL) {
        memcpy(stream + have, rec, len);
        have += len;
        free(rec);
        used += parse(&p, stream + used, have - used, &split, &closed);
    }
    crow_http_parser_init(&p, limits);
    bool closed_whole = false;
    parse(&p, stream, have, &whole, &closed_whole);
    if (split.n < MAX_VERDICTS && whole.n < MAX_VERDICTS) {
        FUZZ_ASSERT(split.n == whole.n && closed == closed_whole);
        FUZZ_ASSERT(memcmp(split.v, whole.v, split.n * sizeof split.v[0]) == 0);
    }
    free(stream);
    return 0;
}
