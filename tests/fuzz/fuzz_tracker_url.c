/* Tracker URLs as the announcer and the agent turn them into HTTP requests: an announce URL comes
 * from the manifest (anyone's .torrent). A URL that crow_http_client_parse_server accepts must give a host
 * and a path that make exactly one request, with that target, when written as the HTTP client writes
 * it: no byte of the URL may end the request line or start a header of its own. */
#include "../../src/app/http_client.h"
#include "crowcast/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char url[600], target[700], request[1024];
    size_t n = strnlen((const char *)data, size < sizeof url ? size : sizeof url - 1);
    memcpy(url, data, n);
    url[n] = '\0';
    struct crow_http_client_server server;
    if (crow_http_client_parse_server(url, &server) != 0)
        return 0;
    FUZZ_ASSERT(server.path[0] == '\0' || server.path[0] == '/');
    snprintf(target, sizeof target, "%s?info_hash=x", server.path[0] ? server.path : "/announce");
    long len = crow_http_write_get(request, sizeof request, server.host, target, false);
    FUZZ_ASSERT(len > 0);
    crow_http_parser_t p;
    crow_http_parser_init(&p, NULL);
    crow_http_request_t req;
    crow_http_error_t err;
    FUZZ_ASSERT(crow_http_parse_request(&p, (const uint8_t *)request, (size_t)len, &req, &err) == len);
    FUZZ_ASSERT(req.target.len == strlen(target) && memcmp(req.target.ptr, target, req.target.len) == 0);
    const crow_http_str_t *host = crow_http_find_header(req.headers, req.header_count, "host");
    FUZZ_ASSERT(host && host->len == strlen(server.host) && memcmp(host->ptr, server.host, host->len) == 0);
    return 0;
}
