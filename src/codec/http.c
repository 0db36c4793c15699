/* HTTP/1.1 message heads for the tracker: request parsing, response writing, the client's mirror
 * image, and query-string percent-coding. Strings point into the caller's buffer; nothing allocates. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crowcast/error.h"
#include "crowcast/hex.h"
#include "crowcast/http.h"

#define DEFAULT_REQUEST_LINE 2048
#define DEFAULT_HEAD         8192
#define DEFAULT_BODY         (1u << 20)

static void apply_limits(crow_http_limits_t *out, const crow_http_limits_t *in)
{
    crow_http_limits_t l = in ? *in : (crow_http_limits_t){0};
    if (l.max_request_line == 0)
        l.max_request_line = DEFAULT_REQUEST_LINE;
    if (l.max_head == 0)
        l.max_head = DEFAULT_HEAD;
    if (l.max_headers == 0 || l.max_headers > CROW_HTTP_MAX_HEADERS)
        l.max_headers = CROW_HTTP_MAX_HEADERS;
    if (l.max_body == 0)
        l.max_body = DEFAULT_BODY;
    *out = l;
}

static int fail(crow_http_error_t *err, int code, int status, const char *why)
{
    if (err) {
        err->status = status;
        err->why = why;
    }
    return code;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field values: HTAB, SP, visible ASCII and obs-text; never CR, LF, NUL or other controls. */
static bool is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool str_ieq(crow_http_str_t s, const char *text)
{
    return s.len == strlen(text) && strncasecmp(s.ptr, text, s.len) == 0;
}

/* Skips empty lines before the start line. Returns the offset of the first non-empty line's first
 * byte, or len when only line breaks have arrived so far. */
static size_t skip_empty_lines(const uint8_t *buf, size_t len)
{
    size_t pos = 0;
    while (pos < len && (buf[pos] == '\n' || (buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] == '\n')))
        pos += buf[pos] == '\r' ? 2 : 1;
    return pos;
}

/* Searches buf[from..len) for the empty line ending a head ("\n\n" or "\n\r\n"). Returns the offset
 * just past it, or 0; *resume is where a later search over a longer buffer must restart. */
static size_t find_head_end(const uint8_t *buf, size_t len, size_t from, size_t *resume)
{
    for (size_t i = from; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 >= len) {
            *resume = i;
            return 0;
        }
        if (buf[i + 1] == '\n')
            return i + 2;
        if (buf[i + 1] == '\r') {
            if (i + 2 >= len) {
                *resume = i;
                return 0;
            }
            if (buf[i + 2] == '\n')
                return i + 3;
        }
    }
    *resume = len;
    return 0;
}

/* Next line of a complete head: [*pos, LF) without the CR. Returns false on a bare CR. */
static bool next_line(const uint8_t *buf, size_t *pos, size_t end, crow_http_str_t *line)
{
    size_t start = *pos, i = start;
    while (i < end && buf[i] != '\n')
        i++;
    size_t stop = i;
    if (stop > start && buf[stop - 1] == '\r')
        stop--;
    line->ptr = (const char *)buf + start;
    line->len = stop - start;
    *pos = i + 1;
    return memchr(line->ptr, '\r', line->len) == NULL;
}

/* Message semantics gathered from the header fields. */
struct fields {
    bool conn_close, conn_keep_alive, has_length, has_te;
    size_t content_length;
};

static bool parse_length(crow_http_str_t v, size_t *out)
{
    size_t n = 0;
    if (v.len == 0 || v.len > 15)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return false;
        n = n * 10 + (size_t)(v.ptr[i] - '0');
    }
    *out = n;
    return true;
}

static void scan_connection(crow_http_str_t v, struct fields *f)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        crow_http_str_t tok = {p, (size_t)(stop - p)};
        while (tok.len && (tok.ptr[0] == ' ' || tok.ptr[0] == '\t')) {
            tok.ptr++;
            tok.len--;
        }
        while (tok.len && (tok.ptr[tok.len - 1] == ' ' || tok.ptr[tok.len - 1] == '\t'))
            tok.len--;
        if (str_ieq(tok, "close"))
            f->conn_close = true;
        else if (str_ieq(tok, "keep-alive"))
            f->conn_keep_alive = true;
        p = stop + 1;
    }
}

/* Parses the header lines of a complete head from *pos to head_end (which includes the empty line). */
static int parse_fields(const uint8_t *buf, size_t pos, size_t head_end, const crow_http_limits_t *lim,
                        crow_http_header_t *headers, uint32_t *count, struct fields *f,
                        crow_http_error_t *err)
{
    memset(f, 0, sizeof(*f));
    *count = 0;
    for (;;) {
        crow_http_str_t line;
        if (!next_line(buf, &pos, head_end, &line))
            return fail(err, CROW_EPARSE, 400, "bare CR in header");
        if (line.len == 0)
            return 0;
        if (line.ptr[0] == ' ' || line.ptr[0] == '\t')
            return fail(err, CROW_EPARSE, 400, "obsolete header line folding");
        size_t n = 0;
        while (n < line.len && is_tchar((unsigned char)line.ptr[n]))
            n++;
        if (n == 0 || n >= line.len || line.ptr[n] != ':')
            return fail(err, CROW_EPARSE, 400, "malformed header line");
        if (*count >= lim->max_headers)
            return fail(err, CROW_ELIMIT, 431, "too many header fields");
        crow_http_str_t value = {line.ptr + n + 1, line.len - n - 1};
        while (value.len && (value.ptr[0] == ' ' || value.ptr[0] == '\t')) {
            value.ptr++;
            value.len--;
        }
        while (value.len && (value.ptr[value.len - 1] == ' ' || value.ptr[value.len - 1] == '\t'))
            value.len--;
        for (size_t i = 0; i < value.len; i++)
            if (!is_field_char((unsigned char)value.ptr[i]))
                return fail(err, CROW_EPARSE, 400, "control character in header value");
        crow_http_header_t *h = &headers[(*count)++];
        h->name = (crow_http_str_t){line.ptr, n};
        h->value = value;
        if (str_ieq(h->name, "connection")) {
            scan_connection(value, f);
        } else if (str_ieq(h->name, "transfer-encoding")) {
            f->has_te = true;
        } else if (str_ieq(h->name, "content-length")) {
            size_t cl;
            if (!parse_length(value, &cl))
                return fail(err, CROW_EPARSE, 400, "invalid Content-Length");
            if (f->has_length && cl != f->content_length)
                return fail(err, CROW_EPARSE, 400, "conflicting Content-Length");
            f->has_length = true;
            f->content_length = cl;
        }
    }
}

/* "HTTP/1.0" or "HTTP/1.1"; another well-formed version is 505, anything else 400. */
static int parse_version(crow_http_str_t v, int *minor, crow_http_error_t *err)
{
    if (v.len != 8 || memcmp(v.ptr, "HTTP/", 5) != 0 || v.ptr[6] != '.' || v.ptr[5] < '0' || v.ptr[5] > '9' ||
        v.ptr[7] < '0' || v.ptr[7] > '9')
        return fail(err, CROW_EPARSE, 400, "malformed HTTP version");
    if (v.ptr[5] != '1' || v.ptr[7] > '1')
        return fail(err, CROW_EPARSE, 505, "HTTP version not supported");
    *minor = v.ptr[7] - '0';
    return 0;
}

static bool keep_alive_of(int minor, const struct fields *f)
{
    if (f->conn_close)
        return false;
    return minor >= 1 || f->conn_keep_alive;
}

/* Locates a complete head at the start of buf, enforcing the size limits on what has arrived. Returns
 * 0 with *start (first byte of the start line) and *end (past the empty line), CROW_EMORE, or an error.
 * *scanned and *line_seen carry the search over from the previous call on the same, grown buffer. */
static int locate_head(const uint8_t *buf, size_t len, const crow_http_limits_t *lim, size_t *scanned,
                       bool *line_seen, size_t *start, size_t *end, crow_http_error_t *err)
{
    size_t s = skip_empty_lines(buf, len);
    if (s > lim->max_head)
        return fail(err, CROW_ELIMIT, 431, "header section too large");
    if (s >= len)
        return CROW_EMORE;
    if (!*line_seen) {
        /* The start line is measured once, as soon as its LF (or too many bytes) arrived. */
        size_t window = len - s < lim->max_request_line + 2 ? len - s : lim->max_request_line + 2;
        const uint8_t *lf = memchr(buf + s, '\n', window);
        size_t line_len = lf ? (size_t)(lf - (buf + s)) : window;
        if (lf && line_len > 0 && buf[s + line_len - 1] == '\r')
            line_len--;
        /* Without its LF, the line may still be missing a CR: allow one byte of slack. */
        if (line_len > lim->max_request_line + (lf ? 0 : 1))
            return fail(err, CROW_ELIMIT, 414, "request line too long");
        *line_seen = lf != NULL;
    }
    size_t from = *scanned > s ? *scanned : s;
    size_t e = find_head_end(buf, len, from, scanned);
    if (e == 0) {
        if (len > lim->max_head)
            return fail(err, CROW_ELIMIT, 431, "header section too large");
        return CROW_EMORE;
    }
    if (e > lim->max_head)
        return fail(err, CROW_ELIMIT, 431, "header section too large");
    *start = s;
    *end = e;
    return 0;
}

void crow_http_parser_init(crow_http_parser_t *p, const crow_http_limits_t *limits)
{
    apply_limits(&p->limits, limits);
    p->scanned = 0;
    p->line_seen = false;
}

static int parse_request_line(crow_http_str_t line, crow_http_request_t *req, crow_http_error_t *err)
{
    const char *p = line.ptr, *end = line.ptr + line.len;
    const char *sp1 = memchr(p, ' ', line.len);
    if (!sp1 || sp1 == p)
        return fail(err, CROW_EPARSE, 400, "malformed request line");
    for (const char *c = p; c < sp1; c++)
        if (!is_tchar((unsigned char)*c))
            return fail(err, CROW_EPARSE, 400, "malformed method");
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t)
        return fail(err, CROW_EPARSE, 400, "malformed request line");
    for (const char *c = t; c < sp2; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return fail(err, CROW_EPARSE, 400, "invalid character in request target");
    if (*t != '/')
        return fail(err, CROW_EPARSE, 400, "request target must start with '/'");
    int ret = parse_version((crow_http_str_t){sp2 + 1, (size_t)(end - sp2 - 1)}, &req->minor_version, err);
    if (ret < 0)
        return ret;
    req->method = (crow_http_str_t){p, (size_t)(sp1 - p)};
    req->target = (crow_http_str_t){t, (size_t)(sp2 - t)};
    const char *q = memchr(t, '?', req->target.len);
    req->path = (crow_http_str_t){t, q ? (size_t)(q - t) : req->target.len};
    req->query = q ? (crow_http_str_t){q + 1, (size_t)(sp2 - q - 1)} : (crow_http_str_t){sp2, 0};
    return 0;
}

int crow_http_parse_request(crow_http_parser_t *p, const uint8_t *buf, size_t len, crow_http_request_t *req,
                            crow_http_error_t *err)
{
    size_t start, end;
    int ret = locate_head(buf, len, &p->limits, &p->scanned, &p->line_seen, &start, &end, err);
    if (ret < 0)
        return ret;
    p->scanned = 0;
    p->line_seen = false;
    size_t pos = start;
    crow_http_str_t line;
    if (!next_line(buf, &pos, end, &line))
        return fail(err, CROW_EPARSE, 400, "bare CR in request line");
    ret = parse_request_line(line, req, err);
    if (ret < 0)
        return ret;
    struct fields f;
    ret = parse_fields(buf, pos, end, &p->limits, req->headers, &req->header_count, &f, err);
    if (ret < 0)
        return ret;
    if (f.has_te)
        return fail(err, CROW_EUNSUPPORTED, 501, "transfer codings are not supported");
    if (f.has_length && f.content_length > 0)
        return fail(err, CROW_ELIMIT, 413, "request bodies are not accepted");
    req->keep_alive = keep_alive_of(req->minor_version, &f);
    return (int)end;
}

const crow_http_str_t *crow_http_find_header(const crow_http_header_t *headers, uint32_t count,
                                             const char *name)
{
    for (uint32_t i = 0; i < count; i++)
        if (str_ieq(headers[i].name, name))
            return &headers[i].value;
    return NULL;
}

const char *crow_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 429:
        return "Too Many Requests";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static long finish_snprintf(int n, size_t cap)
{
    if (n < 0 || (size_t)n >= cap)
        return CROW_ESPACE;
    return n;
}

long crow_http_write_head(char *buf, size_t cap, int status, const char *content_type, size_t content_length,
                          bool keep_alive)
{
    return crow_http_write_head_with(buf, cap, status, content_type, content_length, keep_alive, NULL);
}

long crow_http_write_head_with(char *buf, size_t cap, int status, const char *content_type,
                               size_t content_length, bool keep_alive, const char *extra)
{
    int n = snprintf(
        buf, cap, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n%s%s\r\n",
        status, crow_http_reason(status), content_type, content_length, keep_alive ? "keep-alive" : "close",
        extra ? extra : "", extra ? "\r\n" : "");
    return finish_snprintf(n, cap);
}

long crow_http_write_error(char *buf, size_t cap, int status, const char *why)
{
    size_t body = strlen(why) + 1;
    long head = crow_http_write_head(buf, cap, status, "text/plain", body, false);
    if (head < 0)
        return head;
    int n = snprintf(buf + head, cap - (size_t)head, "%s\n", why);
    long tail = finish_snprintf(n, cap - (size_t)head);
    return tail < 0 ? tail : head + tail;
}

void crow_http_query_init(crow_http_query_t *q, crow_http_str_t query)
{
    q->pos = query.ptr;
    q->end = query.ptr + query.len;
}

bool crow_http_query_next(crow_http_query_t *q, crow_http_str_t *key, crow_http_str_t *value)
{
    while (q->pos < q->end) {
        const char *amp = memchr(q->pos, '&', (size_t)(q->end - q->pos));
        const char *stop = amp ? amp : q->end;
        const char *seg = q->pos;
        q->pos = amp ? amp + 1 : q->end;
        if (stop == seg)
            continue;
        const char *eq = memchr(seg, '=', (size_t)(stop - seg));
        *key = (crow_http_str_t){seg, (size_t)((eq ? eq : stop) - seg)};
        *value = eq ? (crow_http_str_t){eq + 1, (size_t)(stop - eq - 1)} : (crow_http_str_t){stop, 0};
        return true;
    }
    return false;
}

long crow_http_pct_decode(const char *src, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t byte = (uint8_t)src[i];
        if (src[i] == '%') {
            if (len - i < 3)
                return CROW_EPARSE;
            int hi = crow_hex_digit(src[i + 1]), lo = crow_hex_digit(src[i + 2]);
            if (hi < 0 || lo < 0)
                return CROW_EPARSE;
            byte = (uint8_t)(hi << 4 | lo);
            i += 2;
        }
        if (n >= cap)
            return CROW_ELIMIT;
        out[n++] = byte;
    }
    return (long)n;
}

long crow_http_pct_encode(const uint8_t *src, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = src[i];
        bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                     c == '.' || c == '_' || c == '~';
        size_t need = plain ? 1 : 3;
        if (n + need >= cap)
            return CROW_ESPACE;
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (n >= cap)
        return CROW_ESPACE;
    out[n] = '\0';
    return (long)n;
}

long crow_http_write_get(char *buf, size_t cap, const char *host, const char *target, bool keep_alive)
{
    int n =
        snprintf(buf, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: crowcast\r\nConnection: %s\r\n\r\n",
                 target, host, keep_alive ? "keep-alive" : "close");
    return finish_snprintf(n, cap);
}

static int parse_status_line(crow_http_str_t line, crow_http_response_t *res, crow_http_error_t *err)
{
    if (line.len < 12 || line.ptr[8] != ' ')
        return fail(err, CROW_EPARSE, 400, "malformed status line");
    int ret = parse_version((crow_http_str_t){line.ptr, 8}, &res->minor_version, err);
    if (ret < 0)
        return ret;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (line.ptr[i] < '0' || line.ptr[i] > '9')
            return fail(err, CROW_EPARSE, 400, "malformed status code");
        status = status * 10 + (line.ptr[i] - '0');
    }
    if (status < 100)
        return fail(err, CROW_EPARSE, 400, "malformed status code");
    if (line.len > 12 && line.ptr[12] != ' ')
        return fail(err, CROW_EPARSE, 400, "malformed status line");
    res->status = status;
    res->reason = line.len > 12 ? (crow_http_str_t){line.ptr + 13, line.len - 13} : (crow_http_str_t){"", 0};
    return 0;
}

int crow_http_parse_response(const uint8_t *buf, size_t len, bool eof, const crow_http_limits_t *limits,
                             crow_http_response_t *res, crow_http_error_t *err)
{
    crow_http_limits_t lim;
    apply_limits(&lim, limits);
    size_t scanned = 0, start, end;
    bool line_seen = false;
    int ret = locate_head(buf, len, &lim, &scanned, &line_seen, &start, &end, err);
    if (ret == CROW_EMORE && eof)
        return fail(err, CROW_EPARSE, 400, "connection closed inside the response head");
    if (ret < 0)
        return ret;
    size_t pos = start;
    crow_http_str_t line;
    if (!next_line(buf, &pos, end, &line))
        return fail(err, CROW_EPARSE, 400, "bare CR in status line");
    ret = parse_status_line(line, res, err);
    if (ret < 0)
        return ret;
    struct fields f;
    ret = parse_fields(buf, pos, end, &lim, res->headers, &res->header_count, &f, err);
    if (ret < 0)
        return ret;
    if (f.has_te)
        return fail(err, CROW_EUNSUPPORTED, 501, "transfer codings are not supported");
    res->body = buf + end;
    bool no_body = res->status < 200 || res->status == 204 || res->status == 304;
    if (no_body || f.has_length) {
        size_t body = no_body ? 0 : f.content_length;
        if (body > lim.max_body)
            return fail(err, CROW_ELIMIT, 413, "response body too large");
        if (len - end < body)
            return eof ? fail(err, CROW_EPARSE, 400, "connection closed inside the response body")
                       : CROW_EMORE;
        res->body_len = body;
        res->keep_alive = keep_alive_of(res->minor_version, &f);
        return (int)(end + body);
    }
    /* No length: the body runs to the end of the connection, which therefore cannot be reused. */
    if (len - end > lim.max_body)
        return fail(err, CROW_ELIMIT, 413, "response body too large");
    if (!eof)
        return CROW_EMORE;
    res->body_len = len - end;
    res->keep_alive = false;
    return (int)len;
}
