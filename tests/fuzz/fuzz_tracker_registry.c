/* The tracker's swarm registry fed announces from anyone: each step is an opcode byte (which of 16
 * addresses in three racks sends it, how much time passes, or an expiry and a scrape) and a record
 * with the announce's query string. Every announce that parses gets an answer that encodes, decodes
 * back to the same peers and never lists more than asked; the status and metrics always render. */
#include "crowcast/error.h"
#include "crowcast/racks.h"
#include "crowcast/tracker_registry.h"
#include "fuzz.h"

#define PEERS_MAX 8u

static const char racks_text[] = "rack r1 10.1.1.0/29 239.255.10.1:7000\n"
                                 "rack r2 10.1.1.8/30 239.255.10.2:7000\n"
                                 "trust-announced-rack yes\n";

static void answer(crow_tracker_registry_t *reg, const crow_racks_t *racks, const char *q, size_t len,
                   uint32_t addr, uint64_t now)
{
    static crow_announce_peer_t peers[PEERS_MAX], decoded[PEERS_MAX];
    static uint8_t body[4096];
    static crow_bencode_node_t nodes[512];
    crow_announce_req_t req;
    const char *failure;
    if (crow_announce_parse(q, len, &req, &failure) != 0)
        return;
    uint32_t rack;
    if (crow_racks_resolve(racks, addr, req.has_rack ? req.rack : NULL, &rack) != 0)
        return;
    crow_announce_resp_t resp;
    if (crow_tracker_registry_announce(reg, &req, addr, rack, now, peers, PEERS_MAX, &resp, &failure) != 0) {
        FUZZ_ASSERT(failure != NULL);
        return;
    }
    FUZZ_ASSERT(resp.peer_count <= PEERS_MAX);
    FUZZ_ASSERT(req.numwant == CROW_NUMWANT_ABSENT || resp.peer_count <= (size_t)req.numwant);
    long n = crow_announce_encode(body, sizeof body, &resp, req.compact, req.no_peer_id);
    FUZZ_ASSERT(n > 0);
    crow_announce_result_t res;
    const char *why;
    FUZZ_ASSERT(crow_announce_decode(body, (size_t)n, nodes, 512, decoded, PEERS_MAX, &res, &why) == 0);
    FUZZ_ASSERT(res.peer_count == resp.peer_count && res.failure == NULL);
    for (size_t i = 0; i < res.peer_count; i++)
        FUZZ_ASSERT(decoded[i].addr == peers[i].addr && decoded[i].port == peers[i].port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_racks_t racks;
    static char status[1u << 16];
    static crow_scrape_entry_t scraped[8];
    crow_racks_error_t err;
    if (racks.count == 0 && crow_racks_parse(&racks, racks_text, sizeof racks_text - 1, &err) != 0)
        abort();
    crow_tracker_registry_config_t cfg = {.max_swarms = 3, .max_peers_per_swarm = 12, .interval = 30};
    crow_tracker_registry_t *reg;
    if (crow_tracker_registry_new(&reg, &cfg, &racks) != 0)
        abort();
    uint64_t now = 1000;
    fuzz_input_t in = fuzz_input(data, size);
    while (in.left > 0) {
        uint8_t op = fuzz_byte(&in);
        if (op >= 0xf0) {
            now += (uint64_t)(op & 0x0f) * 20000;
            crow_tracker_registry_expire(reg, now);
            crow_tracker_registry_next_deadline(reg);
            FUZZ_ASSERT(crow_tracker_registry_scrape(reg, NULL, 0, scraped, 8) <= cfg.max_swarms);
            continue;
        }
        size_t len;
        uint8_t *q = fuzz_record(&in, &len);
        if (!q)
            break;
        now += (op >> 4) * 100u;
        answer(reg, &racks, (const char *)q, len, 0x0a010100u + (op & 0x0fu), now);
        free(q);
    }
    long n = crow_tracker_registry_status_json(reg, now, status, sizeof status);
    FUZZ_ASSERT(n == CROW_ESPACE || (n >= 0 && (size_t)n < sizeof status));
    n = crow_tracker_registry_metrics(reg, status, sizeof status);
    FUZZ_ASSERT(n == CROW_ESPACE || (n >= 0 && (size_t)n < sizeof status));
    crow_tracker_registry_free(reg);
    return 0;
}
