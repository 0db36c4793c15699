/* Tracker announce and scrape messages, the tracker side: the announce and scrape queries parsed, the
 * bencoded replies written (BEP 3, 23, 48 plus the crowcast dictionary). The client side, which builds these
 * queries and decodes these replies, is announce_client.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/announce.h"
#include "crowcast/error.h"
#include "crowcast/http.h"
#include "crowcast/units.h"

enum param {
    P_INFO_HASH,
    P_PEER_ID,
    P_PORT,
    P_UPLOADED,
    P_DOWNLOADED,
    P_LEFT,
    P_EVENT,
    P_NUMWANT,
    P_COMPACT,
    P_NO_PEER_ID,
    P_IP,
    P_RACK,
    P_GROUPS,
    P_HOOK,
    P_MCAST,
    P_NEED,
    P_SENDING,
    P_STREAMING,
    P_LEAD,
    P_COUNT
};

#define REQUIRED_PARAMS 6 /* P_INFO_HASH .. P_LEFT */

static const struct {
    const char *name, *missing, *invalid, *duplicate;
} params[P_COUNT] = {
#define PARAM(n)                                                                                             \
    {                                                                                                        \
#n, "missing " #n, "invalid " #n, "duplicate " #n                                                    \
    }
    PARAM(info_hash), PARAM(peer_id), PARAM(port),      PARAM(uploaded), PARAM(downloaded),
    PARAM(left),      PARAM(event),   PARAM(numwant),   PARAM(compact),  PARAM(no_peer_id),
    PARAM(ip),        PARAM(rack),    PARAM(groups),    PARAM(hook),     PARAM(mcast),
    PARAM(need),      PARAM(sending), PARAM(streaming), PARAM(lead),
#undef PARAM
};

bool crow_rack_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > CROW_RACK_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool bytes_are(const uint8_t *s, size_t len, const char *text)
{
    return len == strlen(text) && memcmp(s, text, len) == 0;
}

static enum param lookup_param(const uint8_t *key, size_t len)
{
    for (int i = 0; i < P_COUNT; i++)
        if (bytes_are(key, len, params[i].name))
            return (enum param)i;
    return P_COUNT;
}

static bool parse_event(const uint8_t *v, size_t len, enum crow_announce_event *ev)
{
    static const char *const names[] = {"", "started", "stopped", "completed", "paused"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (bytes_are(v, len, names[i])) {
            *ev = (enum crow_announce_event)i;
            return true;
        }
    }
    return false;
}

/* Stores one decoded value; false when it is invalid for that parameter. */
static bool store_param(crow_announce_req_t *req, enum param p, const uint8_t *v, size_t len)
{
    uint64_t n;
    switch (p) {
    case P_INFO_HASH:
    case P_PEER_ID:
        if (len != CROW_INFO_HASH_LEN)
            return false;
        memcpy(p == P_INFO_HASH ? req->info_hash : req->peer_id, v, len);
        return true;
    case P_PORT:
        if (!crow_parse_decimal((const char *)v, len, 65535, &n) || n == 0)
            return false;
        req->port = (uint16_t)n;
        return true;
    case P_UPLOADED:
        return crow_parse_decimal((const char *)v, len, UINT64_MAX, &req->uploaded);
    case P_DOWNLOADED:
        return crow_parse_decimal((const char *)v, len, UINT64_MAX, &req->downloaded);
    case P_LEFT:
        return crow_parse_decimal((const char *)v, len, UINT64_MAX, &req->left);
    case P_EVENT:
        return parse_event(v, len, &req->event);
    case P_NUMWANT:
        if (!crow_parse_decimal((const char *)v, len, INT32_MAX, &n))
            return false;
        req->numwant = (int32_t)n;
        return true;
    case P_COMPACT:
        if (!bytes_are(v, len, "0") && !bytes_are(v, len, "1"))
            return false;
        req->compact = v[0] == '1';
        return true;
    case P_NO_PEER_ID:
        req->no_peer_id = !bytes_are(v, len, "0");
        return true;
    case P_IP:
        req->has_ip = crow_ipv4_parse((const char *)v, len, &req->ip);
        return req->has_ip;
    case P_RACK:
        if (!crow_rack_name_valid((const char *)v, len))
            return false;
        memcpy(req->rack, v, len);
        req->rack[len] = '\0';
        req->has_rack = true;
        return true;
    case P_GROUPS:
        if (!bytes_are(v, len, "0") && !bytes_are(v, len, "1"))
            return false;
        req->want_groups = v[0] == '1';
        return true;
    case P_HOOK:
        if (!crow_parse_decimal((const char *)v, len, 255, &n))
            return false;
        req->hook = (uint8_t)n;
        req->has_hook = true;
        return true;
    case P_MCAST:
        if (bytes_are(v, len, "lit"))
            req->mcast = CROW_MCAST_REPORT_LIT;
        else if (bytes_are(v, len, "dark"))
            req->mcast = CROW_MCAST_REPORT_DARK;
        else
            return false;
        return true;
    case P_NEED: /* another form (an older peer's) is no map, not a broken announce */
        req->has_need = crow_need_map_parse((const char *)v, len, &req->need);
        return true;
    case P_SENDING:
    case P_STREAMING:
    case P_LEAD:
        if (!bytes_are(v, len, "0") && !bytes_are(v, len, "1"))
            return false;
        *(p == P_SENDING ? &req->sending : p == P_STREAMING ? &req->streaming : &req->lead) = v[0] == '1';
        return true;
    case P_COUNT:
        break;
    }
    return false;
}

/* Decodes a parameter name; names longer than any known one are simply unknown. */
static int decode_key(crow_http_str_t key, uint8_t *out, size_t cap, size_t *len)
{
    long n = crow_http_pct_decode(key.ptr, key.len, out, cap);
    if (n == CROW_EPARSE)
        return n;
    *len = n < 0 ? 0 : (size_t)n;
    return 0;
}

int crow_announce_parse(const char *query, size_t len, crow_announce_req_t *req, const char **failure)
{
    bool seen[P_COUNT] = {false};
    memset(req, 0, sizeof(*req));
    req->numwant = CROW_NUMWANT_ABSENT;
    req->compact = true;
    crow_http_query_t it;
    crow_http_query_init(&it, (crow_http_str_t){query, len});
    crow_http_str_t k, v;
    while (crow_http_query_next(&it, &k, &v)) {
        uint8_t key[16], val[CROW_NEED_TEXT_MAX]; /* need= is the longest value */
        size_t klen;
        if (decode_key(k, key, sizeof(key), &klen) < 0) {
            *failure = "bad percent-encoding in a parameter name";
            return CROW_EPARSE;
        }
        enum param p = lookup_param(key, klen);
        if (p == P_COUNT)
            continue;
        if (seen[p]) {
            *failure = params[p].duplicate;
            return CROW_EPARSE;
        }
        seen[p] = true;
        long vlen = crow_http_pct_decode(v.ptr, v.len, val, sizeof(val));
        if (vlen == CROW_EPARSE) {
            *failure = "bad percent-encoding in a parameter value";
            return CROW_EPARSE;
        }
        if (vlen < 0 || !store_param(req, p, val, (size_t)vlen)) {
            *failure = params[p].invalid;
            return CROW_EPARSE;
        }
    }
    for (int p = 0; p < REQUIRED_PARAMS; p++) {
        if (!seen[p]) {
            *failure = params[p].missing;
            return CROW_EPARSE;
        }
    }
    return 0;
}

int crow_scrape_parse(const char *query, size_t len, uint8_t (*hashes)[CROW_INFO_HASH_LEN], size_t cap,
                      const char **failure)
{
    size_t count = 0;
    crow_http_query_t it;
    crow_http_query_init(&it, (crow_http_str_t){query, len});
    crow_http_str_t k, v;
    while (crow_http_query_next(&it, &k, &v)) {
        uint8_t key[16], val[CROW_INFO_HASH_LEN];
        size_t klen;
        if (decode_key(k, key, sizeof(key), &klen) < 0) {
            *failure = "bad percent-encoding in a parameter name";
            return CROW_EPARSE;
        }
        if (!bytes_are(key, klen, "info_hash"))
            continue;
        long n = crow_http_pct_decode(v.ptr, v.len, val, sizeof(val));
        if (n == CROW_EPARSE) {
            *failure = "bad percent-encoding in a parameter value";
            return CROW_EPARSE;
        }
        if (n != CROW_INFO_HASH_LEN) {
            *failure = "invalid info_hash";
            return CROW_EPARSE;
        }
        if (count >= cap) {
            *failure = "too many info_hash parameters";
            return CROW_ELIMIT;
        }
        memcpy(hashes[count++], val, CROW_INFO_HASH_LEN);
    }
    return (int)count;
}

/* Starts a string value of `len` bytes whose bytes follow through string_tail: long strings (compact
 * peer lists) are written piece by piece, straight into the output, without a staging buffer. */
static void string_prefix(crow_bencode_writer_t *e, size_t len)
{
    char prefix[24];
    int n = snprintf(prefix, sizeof(prefix), "%zu:", len);
    crow_bencode_put_raw(e, prefix, (size_t)n);
}

/* Appends the rest of a value begun with crow_bencode_put_raw, with the encoder's own space accounting: after
 * a shortfall it keeps counting, so e->len still tells the size needed. */
static void string_tail(crow_bencode_writer_t *e, const void *bytes, size_t n)
{
    if (e->err == 0 && e->len + n <= e->cap)
        memcpy(e->buf + e->len, bytes, n);
    else if (e->err == 0)
        e->err = CROW_ESPACE;
    e->len += n;
}

static void encode_crowcast(crow_bencode_writer_t *e, const crow_announce_resp_t *r)
{
    const crow_crowcast_info_t *c = &r->crowcast;
    char dotted[16];
    crow_bencode_put_key(e, "crowcast");
    crow_bencode_open_dict(e);
    if (c->dark) {
        crow_bencode_put_key(e, "dark");
        crow_bencode_put_int(e, c->dark);
    }
    if (c->group) {
        crow_ipv4_format(c->group, dotted);
        crow_bencode_put_key(e, "group");
        crow_bencode_put_cstr(e, dotted);
    }
    if (c->group_count) {
        crow_bencode_put_key(e, "groups");
        crow_bencode_open_list(e);
        for (uint32_t i = 0; i < c->group_count && i < CROW_ANNOUNCE_MAX_GROUPS; i++) {
            char endpoint[24];
            crow_ipv4_format(c->groups[i].addr, dotted);
            snprintf(endpoint, sizeof(endpoint), "%s:%u", dotted, c->groups[i].port);
            crow_bencode_put_cstr(e, endpoint);
        }
        crow_bencode_close(e);
    }
    crow_bencode_put_key(e, "head");
    crow_bencode_put_int(e, c->head ? 1 : 0);
    if (c->lit) {
        crow_bencode_put_key(e, "lit");
        crow_bencode_put_int(e, c->lit);
    }
    if (c->has_need) {
        char text[CROW_NEED_TEXT_MAX];
        crow_need_map_format(&c->need, text, sizeof text);
        crow_bencode_put_key(e, "need");
        crow_bencode_put_cstr(e, text);
    }
    crow_bencode_put_key(e, "peer flags");
    string_prefix(e, r->peer_count);
    for (size_t i = 0; i < r->peer_count; i++)
        string_tail(e, &r->peers[i].flags, 1);
    if (c->group) {
        crow_bencode_put_key(e, "port");
        crow_bencode_put_int(e, c->port);
    }
    crow_bencode_put_key(e, "position");
    crow_bencode_put_int(e, c->position);
    crow_bencode_put_key(e, "rack");
    crow_bencode_put_cstr(e, c->rack);
    if (c->relay) {
        crow_bencode_put_key(e, "relay");
        crow_bencode_put_int(e, 1);
    }
    crow_bencode_put_key(e, "sending");
    crow_bencode_put_int(e, c->sending);
    crow_bencode_put_key(e, "streaming");
    crow_bencode_put_int(e, c->streaming);
    crow_bencode_close(e);
}

static void put_be(uint8_t *out, uint32_t addr, uint16_t port)
{
    out[0] = (uint8_t)(addr >> 24);
    out[1] = (uint8_t)(addr >> 16);
    out[2] = (uint8_t)(addr >> 8);
    out[3] = (uint8_t)addr;
    out[4] = (uint8_t)(port >> 8);
    out[5] = (uint8_t)port;
}

static void encode_compact_peers(crow_bencode_writer_t *e, const crow_announce_resp_t *r)
{
    string_prefix(e, r->peer_count * CROW_COMPACT_PEER_LEN);
    for (size_t i = 0; i < r->peer_count; i++) {
        uint8_t b[CROW_COMPACT_PEER_LEN];
        put_be(b, r->peers[i].addr, r->peers[i].port);
        string_tail(e, b, sizeof(b));
    }
}

long crow_announce_encode(uint8_t *buf, size_t cap, const crow_announce_resp_t *r, bool compact,
                          bool no_peer_id)
{
    crow_bencode_writer_t e;
    char dotted[16];
    crow_bencode_writer_init(&e, buf, cap);
    crow_bencode_open_dict(&e);
    crow_bencode_put_key(&e, "complete");
    crow_bencode_put_int(&e, r->complete);
    if (r->crowcast.present)
        encode_crowcast(&e, r);
    crow_bencode_put_key(&e, "incomplete");
    crow_bencode_put_int(&e, r->incomplete);
    crow_bencode_put_key(&e, "interval");
    crow_bencode_put_int(&e, r->interval);
    crow_bencode_put_key(&e, "min interval");
    crow_bencode_put_int(&e, r->min_interval);
    crow_bencode_put_key(&e, "peers");
    if (compact) {
        encode_compact_peers(&e, r);
    } else {
        crow_bencode_open_list(&e);
        for (size_t i = 0; i < r->peer_count; i++) {
            crow_bencode_open_dict(&e);
            crow_ipv4_format(r->peers[i].addr, dotted);
            crow_bencode_put_key(&e, "ip");
            crow_bencode_put_cstr(&e, dotted);
            if (!no_peer_id) {
                crow_bencode_put_key(&e, "peer id");
                crow_bencode_put_str(&e, r->peers[i].peer_id, CROW_PEER_ID_LEN);
            }
            crow_bencode_put_key(&e, "port");
            crow_bencode_put_int(&e, r->peers[i].port);
            crow_bencode_close(&e);
        }
        crow_bencode_close(&e);
    }
    crow_bencode_close(&e);
    return crow_bencode_finish(&e);
}

long crow_announce_encode_failure(uint8_t *buf, size_t cap, const char *reason)
{
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, buf, cap);
    crow_bencode_open_dict(&e);
    crow_bencode_put_key(&e, "failure reason");
    crow_bencode_put_cstr(&e, reason);
    crow_bencode_close(&e);
    return crow_bencode_finish(&e);
}

static int compare_entries(const void *a, const void *b)
{
    return memcmp(((const crow_scrape_entry_t *)a)->info_hash, ((const crow_scrape_entry_t *)b)->info_hash,
                  CROW_INFO_HASH_LEN);
}

long crow_scrape_encode(uint8_t *buf, size_t cap, crow_scrape_entry_t *entries, size_t count)
{
    crow_bencode_writer_t e;
    if (count > 1)
        qsort(entries, count, sizeof(*entries), compare_entries);
    crow_bencode_writer_init(&e, buf, cap);
    crow_bencode_open_dict(&e);
    crow_bencode_put_key(&e, "files");
    /* Its keys are binary hashes, which crow_bencode_put_key (text keys) cannot take: the sorted,
     * duplicate-free entries are written as one raw value instead. */
    crow_bencode_put_raw(&e, "d", 1);
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && compare_entries(&entries[i - 1], &entries[i]) == 0)
            continue;
        char item[160];
        string_tail(&e, "20:", 3);
        string_tail(&e, entries[i].info_hash, CROW_INFO_HASH_LEN);
        int n = snprintf(item, sizeof(item), "d8:completei%ue10:downloadedi%ue10:incompletei%uee",
                         entries[i].complete, entries[i].downloaded, entries[i].incomplete);
        string_tail(&e, item, (size_t)n);
    }
    string_tail(&e, "e", 1);
    crow_bencode_close(&e);
    return crow_bencode_finish(&e);
}
