/* The tracker's announce and scrape query parsers (the part of a GET after '?', from anyone): any
 * bytes are refused with a failure reason or give a request that the client's query builder writes
 * back into a query parsing to the same request. Percent-encoding the input as a value and decoding
 * it gives the input back. */
#include "crowcast/announce.h"
#include "crowcast/error.h"
#include "crowcast/http.h"
#include "fuzz.h"

static void same_request(const crow_announce_req_t *a, const crow_announce_req_t *b)
{
    FUZZ_ASSERT(memcmp(a->info_hash, b->info_hash, sizeof a->info_hash) == 0);
    FUZZ_ASSERT(memcmp(a->peer_id, b->peer_id, sizeof a->peer_id) == 0);
    FUZZ_ASSERT(a->port == b->port && a->uploaded == b->uploaded && a->downloaded == b->downloaded);
    FUZZ_ASSERT(a->left == b->left && a->event == b->event && a->numwant == b->numwant);
    FUZZ_ASSERT(a->compact == b->compact && a->has_ip == b->has_ip && (!a->has_ip || a->ip == b->ip));
    FUZZ_ASSERT(a->has_rack == b->has_rack && strcmp(a->rack, b->rack) == 0);
    FUZZ_ASSERT(a->want_groups == b->want_groups && a->has_hook == b->has_hook && a->hook == b->hook);
}

static void pct_round_trip(const uint8_t *data, size_t size)
{
    char *enc = malloc(3 * size + 1);
    uint8_t *dec = malloc(size ? size : 1);
    if (!enc || !dec)
        abort();
    long n = crow_http_pct_encode(data, size, enc, 3 * size + 1);
    FUZZ_ASSERT(n >= (long)size && enc[n] == '\0');
    FUZZ_ASSERT(crow_http_pct_decode(enc, (size_t)n, dec, size) == (long)size &&
                memcmp(dec, data, size) == 0);
    free(enc);
    free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pct_round_trip(data, size);
    const char *query = (const char *)data, *failure = NULL;
    crow_announce_req_t req, again;
    int ret = crow_announce_parse(query, size, &req, &failure);
    if (ret != 0) {
        FUZZ_ASSERT(ret == CROW_EPARSE && failure != NULL);
    } else {
        FUZZ_ASSERT(req.port > 0 && (!req.has_rack || crow_rack_name_valid(req.rack, strlen(req.rack))));
        char built[1024];
        long len = crow_announce_build_query(built, sizeof built, &req);
        FUZZ_ASSERT(len > 0 && built[len] == '\0');
        FUZZ_ASSERT(crow_announce_parse(built, (size_t)len, &again, &failure) == 0);
        same_request(&req, &again);
    }

    uint8_t hashes[CROW_SCRAPE_MAX_HASHES][CROW_INFO_HASH_LEN];
    size_t cap = size ? data[0] % (CROW_SCRAPE_MAX_HASHES + 1) : 0;
    failure = NULL;
    ret = crow_scrape_parse(query, size, hashes, cap, &failure);
    FUZZ_ASSERT((ret >= 0 && (size_t)ret <= cap) || ((ret == CROW_EPARSE || ret == CROW_ELIMIT) && failure));
    return 0;
}
