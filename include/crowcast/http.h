/* HTTP/1.1 for the tracker and its clients, sans I/O.
 *
 * Server side: an incremental request-head parser (request line, headers, keep-alive semantics),
 * a query-string iterator with percent-decoding into binary, and a response-head writer.
 * Client side: a GET request writer and a response parser (status, headers, Content-Length body).
 *
 * Nothing here allocates or touches a socket. Parsed strings point into the caller's buffer, which
 * must stay unchanged while they are used. The tracker takes parameters in the query string only (a
 * state change is a POST with an empty body): a request carrying a body is rejected (413, or 501 for
 * Transfer-Encoding) rather than skipped, and the connection is closed.
 */
#ifndef CROWCAST_HTTP_H
#define CROWCAST_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CROW_HTTP_MAX_HEADERS 32 /* hard cap on headers kept per message */

/* A run of bytes inside the caller's buffer; not NUL-terminated. */
typedef struct crow_http_str {
    const char *ptr;
    size_t len;
} crow_http_str_t;

typedef struct crow_http_header {
    crow_http_str_t name, value; /* value without surrounding spaces/tabs */
} crow_http_header_t;

/* Bounds on what a peer may send before it is refused. A zero field takes the default. */
typedef struct crow_http_limits {
    size_t max_request_line; /* request line (or status line) bytes, without CRLF: default 2048 -> 414 */
    size_t max_head;         /* whole head, request line to the empty line: default 8192 -> 431 */
    uint32_t max_headers;    /* header lines: default and maximum CROW_HTTP_MAX_HEADERS -> 431 */
    size_t max_body;         /* client side: response body bytes: default 1 MiB -> CROW_ELIMIT */
} crow_http_limits_t;

/* Why a message was refused: the HTTP status to answer with (400, 413, 414, 431, 501, 505) and a
 * static text for the body or the log. After any error the connection should be closed. */
typedef struct crow_http_error {
    int status;
    const char *why;
} crow_http_error_t;

typedef struct crow_http_request {
    crow_http_str_t method; /* token as sent, e.g. "GET" (the caller answers 405 to what it does not serve) */
    crow_http_str_t target; /* origin-form, starts with '/' */
    crow_http_str_t path;   /* target up to '?' (not decoded) */
    crow_http_str_t query;  /* after '?', empty when absent (not decoded) */
    int minor_version;      /* HTTP/1.<minor>: 0 or 1 */
    bool keep_alive;        /* 1.1 unless "Connection: close"; 1.0 only with "Connection: keep-alive" */
    uint32_t header_count;
    crow_http_header_t headers[CROW_HTTP_MAX_HEADERS];
} crow_http_request_t;

/* Incremental request parser. Between calls it keeps how far it has searched for the end of the head
 * and whether the request line is complete, so a byte-at-a-time sender does not make it rescan what
 * it has seen; it refuses an over-long request line or head as soon as the bytes received prove it,
 * without waiting for the rest. The head is parsed once, when complete. */
typedef struct crow_http_parser {
    crow_http_limits_t limits;
    size_t scanned; /* bytes of the buffer already searched for the end of the head */
    bool line_seen; /* the request line's LF has arrived (and its length was checked) */
} crow_http_parser_t;

/* limits may be NULL (all defaults). */
void crow_http_parser_init(crow_http_parser_t *p, const crow_http_limits_t *limits);

/* Parses the request at the start of buf[0..len). Call again with the same (grown) buffer after
 * CROW_EMORE. Returns:
 *   > 0          a complete request; the value is its length in bytes. The parser is reset: drop those
 *                bytes from the buffer (what follows is the next, pipelined request) and call again.
 *   CROW_EMORE   the head is not complete yet and within limits.
 *   CROW_EPARSE  malformed (err->status 400 or 505);
 *   CROW_ELIMIT  too large (414 request line, 431 head or header count, 413 a body);
 *   CROW_EUNSUPPORTED  Transfer-Encoding (501).
 * Leading empty lines before the request line are skipped (RFC 9112 2.2); lines may end in CRLF or LF.
 * The Host header is not required (the tracker serves one host). */
int crow_http_parse_request(crow_http_parser_t *p, const uint8_t *buf, size_t len, crow_http_request_t *req,
                            crow_http_error_t *err);

/* Case-insensitive header lookup; NULL when absent. */
const crow_http_str_t *crow_http_find_header(const crow_http_header_t *headers, uint32_t count,
                                             const char *name);

/* Reason phrase of a status code ("OK", "Bad Request", ...; "Unknown" for others). */
const char *crow_http_reason(int status);

/* Writes "HTTP/1.1 <status> <reason>", Content-Type, Content-Length and Connection (keep-alive or
 * close) and the empty line into buf. The body (content_length bytes) is the caller's to append.
 * Returns the head length or CROW_ESPACE. */
long crow_http_write_head(char *buf, size_t cap, int status, const char *content_type, size_t content_length,
                          bool keep_alive);

/* The same with one more header line (e.g. "Allow: POST", without CRLF), or none when extra is NULL. */
long crow_http_write_head_with(char *buf, size_t cap, int status, const char *content_type,
                               size_t content_length, bool keep_alive, const char *extra);

/* A complete text/plain response whose body is `why` plus a newline, with "Connection: close": the
 * answer to a refused request. Returns the length or CROW_ESPACE. */
long crow_http_write_error(char *buf, size_t cap, int status, const char *why);

/* Query string "k=v&k2=v2": iterates raw (still percent-encoded) pairs, skipping empty segments. A
 * segment without '=' has an empty value. */
typedef struct crow_http_query {
    const char *pos, *end;
} crow_http_query_t;

void crow_http_query_init(crow_http_query_t *q, crow_http_str_t query);
/* Returns true and fills key/value, or false at the end. */
bool crow_http_query_next(crow_http_query_t *q, crow_http_str_t *key, crow_http_str_t *value);

/* Decodes %XX escapes into bytes (binary-safe; '+' stays '+', since BitTorrent clients escape every
 * byte that is not unreserved). Returns the decoded length, CROW_EPARSE for a '%' not followed by two
 * hex digits, or CROW_ELIMIT when the result exceeds cap. */
long crow_http_pct_decode(const char *src, size_t len, uint8_t *out, size_t cap);

/* Encodes bytes for a query value: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every other byte
 * becomes %XX. Writes a NUL terminator; returns the length without it, or CROW_ESPACE. */
long crow_http_pct_encode(const uint8_t *src, size_t len, char *out, size_t cap);

/* Client side: "GET <target> HTTP/1.1" with Host, User-Agent and Connection headers. Returns the
 * length or CROW_ESPACE. */
long crow_http_write_get(char *buf, size_t cap, const char *host, const char *target, bool keep_alive);

typedef struct crow_http_response {
    int status;             /* 100..999 */
    int minor_version;      /* 0 or 1 */
    bool keep_alive;        /* may the connection be reused after this response */
    crow_http_str_t reason; /* reason phrase as sent */
    uint32_t header_count;
    crow_http_header_t headers[CROW_HTTP_MAX_HEADERS];
    const uint8_t *body; /* inside the caller's buffer */
    size_t body_len;
} crow_http_response_t;

/* Parses a complete response at the start of buf[0..len). The body is Content-Length bytes, or,
 * without Content-Length, everything up to the end of the connection: pass eof=true once the peer
 * closed. Returns the message length (> 0), CROW_EMORE, CROW_EPARSE (malformed), CROW_ELIMIT (head
 * or body over the limits) or CROW_EUNSUPPORTED (chunked transfer coding). limits may be NULL. */
int crow_http_parse_response(const uint8_t *buf, size_t len, bool eof, const crow_http_limits_t *limits,
                             crow_http_response_t *res, crow_http_error_t *err);

#endif
