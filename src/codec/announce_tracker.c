/* Tracker announce and scrape messages: query parsing and bencoded replies on the tracker side, query
 * building and reply decoding on the client side (BEP 3, 23, 48 plus the crowcast dictionary). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/announce.h"
#include "crowcast/error.h"
#include "crowcast/hash.h"
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
        req->has_need = crow_need_parse((const char *)v, len, &req->need);
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
        crow_need_format(&c->need, text, sizeof text);
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

/* Appends "&name=" plus the encoded bytes (no '&' before the first parameter). */
static int append_param(char *buf, size_t cap, size_t *len, const char *name, const uint8_t *value,
                        size_t vlen)
{
    int n = snprintf(buf + *len, cap - *len, "%s%s=", *len ? "&" : "", name);
    if (n < 0 || (size_t)n >= cap - *len)
        return CROW_ESPACE;
    *len += (size_t)n;
    long m = crow_http_pct_encode(value, vlen, buf + *len, cap - *len);
    if (m < 0)
        return (int)m;
    *len += (size_t)m;
    return 0;
}

static int append_number(char *buf, size_t cap, size_t *len, const char *name, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
    return append_param(buf, cap, len, name, (const uint8_t *)digits, (size_t)n);
}

long crow_announce_build_query(char *buf, size_t cap, const crow_announce_req_t *req)
{
    static const char *const events[] = {"", "started", "stopped", "completed", "paused"};
    size_t len = 0;
    int ret = 0;
    if (cap == 0)
        return CROW_ESPACE;
    buf[0] = '\0';
    ret = append_param(buf, cap, &len, "info_hash", req->info_hash, CROW_INFO_HASH_LEN);
    if (ret == 0)
        ret = append_param(buf, cap, &len, "peer_id", req->peer_id, CROW_PEER_ID_LEN);
    if (ret == 0)
        ret = append_number(buf, cap, &len, "port", req->port);
    if (ret == 0)
        ret = append_number(buf, cap, &len, "uploaded", req->uploaded);
    if (ret == 0)
        ret = append_number(buf, cap, &len, "downloaded", req->downloaded);
    if (ret == 0)
        ret = append_number(buf, cap, &len, "left", req->left);
    if (ret == 0)
        ret = append_number(buf, cap, &len, "compact", req->compact ? 1 : 0);
    if (ret == 0 && req->event != CROW_EVENT_NONE)
        ret = append_param(buf, cap, &len, "event", (const uint8_t *)events[req->event],
                           strlen(events[req->event]));
    if (ret == 0 && req->numwant >= 0)
        ret = append_number(buf, cap, &len, "numwant", (uint64_t)req->numwant);
    if (ret == 0 && req->has_ip) {
        char dotted[16];
        crow_ipv4_format(req->ip, dotted);
        ret = append_param(buf, cap, &len, "ip", (const uint8_t *)dotted, strlen(dotted));
    }
    if (ret == 0 && req->has_rack)
        ret = append_param(buf, cap, &len, "rack", (const uint8_t *)req->rack, strlen(req->rack));
    if (ret == 0 && req->want_groups)
        ret = append_number(buf, cap, &len, "groups", 1);
    if (ret == 0 && req->has_hook)
        ret = append_number(buf, cap, &len, "hook", req->hook);
    if (ret == 0 && req->mcast != CROW_MCAST_REPORT_NONE) {
        const char *m = req->mcast == CROW_MCAST_REPORT_LIT ? "lit" : "dark";
        ret = append_param(buf, cap, &len, "mcast", (const uint8_t *)m, strlen(m));
    }
    if (ret == 0 && req->has_need) {
        char text[CROW_NEED_TEXT_MAX];
        long n = crow_need_format(&req->need, text, sizeof text);
        ret = append_param(buf, cap, &len, "need", (const uint8_t *)text, (size_t)n);
    }
    if (ret == 0 && req->sending)
        ret = append_number(buf, cap, &len, "sending", 1);
    if (ret == 0 && req->streaming)
        ret = append_number(buf, cap, &len, "streaming", 1);
    if (ret == 0 && req->lead)
        ret = append_number(buf, cap, &len, "lead", 1);
    return ret < 0 ? ret : (long)len;
}

static int bad(const char **why, const char *text)
{
    *why = text;
    return CROW_EPARSE;
}

/* "groups": a list of "A.B.C.D:PORT" strings, each a multicast group. */
static int decode_groups(const crow_bencode_doc_t *doc, uint32_t list, crow_crowcast_info_t *c,
                         const char **why)
{
    if (doc->nodes[list].type != CROW_BENCODE_LIST)
        return bad(why, "crowcast groups is not a list");
    if (doc->nodes[list].count > CROW_ANNOUNCE_MAX_GROUPS)
        return bad(why, "too many crowcast groups");
    uint32_t item = crow_bencode_first_child(doc, list);
    for (uint32_t i = 0; i < doc->nodes[list].count; i++, item = doc->nodes[item].next) {
        const crow_bencode_node_t *n = &doc->nodes[item];
        uint16_t port;
        uint32_t addr;
        if (n->type != CROW_BENCODE_STR ||
            !crow_ipv4_parse_endpoint((const char *)n->str, n->len, &addr, &port) || (addr >> 28) != 14)
            return bad(why, "invalid crowcast group in groups");
        c->groups[c->group_count].addr = addr;
        c->groups[c->group_count].port = (uint16_t)port;
        c->group_count++;
    }
    return 0;
}

static int decode_crowcast(const crow_bencode_doc_t *doc, uint32_t dict, crow_crowcast_info_t *c,
                           const uint8_t **flags, size_t *flags_len, const char **why)
{
    const uint8_t *s;
    size_t len;
    int64_t v;
    if (doc->nodes[dict].type != CROW_BENCODE_DICT)
        return bad(why, "crowcast is not a dictionary");
    c->present = true;
    if (crow_bencode_dict_str(doc, dict, "rack", &s, &len)) {
        if (len > 0 && !crow_rack_name_valid((const char *)s, len))
            return bad(why, "invalid crowcast rack");
        memcpy(c->rack, s, len);
        c->rack[len] = '\0';
    }
    if (crow_bencode_dict_str(doc, dict, "group", &s, &len) &&
        !crow_ipv4_parse((const char *)s, len, &c->group))
        return bad(why, "invalid crowcast group");
    if (crow_bencode_dict_int(doc, dict, "port", &v)) {
        if (v < 0 || v > 65535)
            return bad(why, "invalid crowcast port");
        c->port = (uint16_t)v;
    }
    if (crow_bencode_dict_int(doc, dict, "position", &v)) {
        if (v < 0 || v > UINT32_MAX)
            return bad(why, "invalid crowcast position");
        c->position = (uint32_t)v;
    }
    if (crow_bencode_dict_int(doc, dict, "head", &v))
        c->head = v != 0;
    if (crow_bencode_dict_int(doc, dict, "lit", &v)) {
        if (v < 0 || v > UINT32_MAX)
            return bad(why, "invalid crowcast lit");
        c->lit = (uint32_t)v;
    }
    /* Another form (an older tracker's) is no map: the seeder then sends everything. */
    if (crow_bencode_dict_str(doc, dict, "need", &s, &len))
        c->has_need = crow_need_parse((const char *)s, len, &c->need);
    if (crow_bencode_dict_int(doc, dict, "dark", &v)) {
        if (v < 0 || v > UINT32_MAX)
            return bad(why, "invalid crowcast dark");
        c->dark = (uint32_t)v;
    }
    if (crow_bencode_dict_int(doc, dict, "sending", &v)) {
        if (v < 0 || v > UINT32_MAX)
            return bad(why, "invalid crowcast sending");
        c->sending = (uint32_t)v;
        c->has_sending = true;
    }
    if (crow_bencode_dict_int(doc, dict, "streaming", &v)) {
        if (v < 0 || v > UINT32_MAX)
            return bad(why, "invalid crowcast streaming");
        c->streaming = (uint32_t)v;
    }
    crow_bencode_dict_str(doc, dict, "peer flags", flags, flags_len);
    uint32_t groups = crow_bencode_dict_get(doc, dict, "groups");
    return groups ? decode_groups(doc, groups, c, why) : 0;
}

static void store_peer(crow_announce_peer_t *peers, size_t peer_cap, crow_announce_result_t *r,
                       const crow_announce_peer_t *p)
{
    if (r->peer_count < peer_cap)
        peers[r->peer_count++] = *p;
    else
        r->peers_dropped++;
}

static int decode_peer_list(const crow_bencode_doc_t *doc, uint32_t list, const uint8_t *flags,
                            size_t flags_len, crow_announce_peer_t *peers, size_t peer_cap,
                            crow_announce_result_t *r, const char **why)
{
    const crow_bencode_node_t *n = &doc->nodes[list];
    if (n->type == CROW_BENCODE_STR) {
        if (n->len % CROW_COMPACT_PEER_LEN)
            return bad(why, "compact peers length is not a multiple of 6");
        size_t count = n->len / CROW_COMPACT_PEER_LEN;
        if (flags && flags_len != count)
            return bad(why, "crowcast peer flags do not match the peers");
        for (size_t i = 0; i < count; i++) {
            const uint8_t *b = n->str + i * CROW_COMPACT_PEER_LEN;
            crow_announce_peer_t p = {0};
            p.addr = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
            p.port = (uint16_t)(b[4] << 8 | b[5]);
            p.flags = flags ? flags[i] : 0;
            store_peer(peers, peer_cap, r, &p);
        }
        return 0;
    }
    if (n->type != CROW_BENCODE_LIST)
        return bad(why, "peers is neither a string nor a list");
    if (flags && flags_len != n->count)
        return bad(why, "crowcast peer flags do not match the peers");
    uint32_t item = crow_bencode_first_child(doc, list);
    for (uint32_t i = 0; i < n->count; i++, item = doc->nodes[item].next) {
        if (doc->nodes[item].type != CROW_BENCODE_DICT)
            return bad(why, "peer entry is not a dictionary");
        const uint8_t *ip, *id;
        size_t ip_len, id_len;
        int64_t port;
        crow_announce_peer_t p = {0};
        if (!crow_bencode_dict_int(doc, item, "port", &port) || port < 1 || port > 65535)
            return bad(why, "peer entry without a valid port");
        if (!crow_bencode_dict_str(doc, item, "ip", &ip, &ip_len))
            return bad(why, "peer entry without ip");
        if (crow_bencode_dict_str(doc, item, "peer id", &id, &id_len) && id_len == CROW_PEER_ID_LEN)
            memcpy(p.peer_id, id, id_len);
        p.port = (uint16_t)port;
        p.flags = flags ? flags[i] : 0;
        if (crow_ipv4_parse((const char *)ip, ip_len, &p.addr))
            store_peer(peers, peer_cap, r, &p);
        else
            r->peers_dropped++; /* a host name or IPv6: not for crowcast */
    }
    return 0;
}

int crow_announce_decode(const uint8_t *body, size_t len, crow_bencode_node_t *nodes, uint32_t node_cap,
                         crow_announce_peer_t *peers, size_t peer_cap, crow_announce_result_t *r,
                         const char **why)
{
    crow_bencode_doc_t doc;
    crow_bencode_error_t err = {0};
    memset(r, 0, sizeof(*r));
    r->interval = r->min_interval = r->complete = r->incomplete = -1;
    int ret = crow_bencode_decode(body, len, nodes, node_cap, &doc, &err);
    if (ret < 0) {
        *why = err.why;
        return ret;
    }
    if (doc.nodes[0].type != CROW_BENCODE_DICT)
        return bad(why, "response is not a dictionary");
    size_t flen;
    if (crow_bencode_dict_str(&doc, 0, "failure reason", &r->failure, &flen)) {
        r->failure_len = flen;
        return 0;
    }
    crow_bencode_dict_int(&doc, 0, "interval", &r->interval);
    crow_bencode_dict_int(&doc, 0, "min interval", &r->min_interval);
    crow_bencode_dict_int(&doc, 0, "complete", &r->complete);
    crow_bencode_dict_int(&doc, 0, "incomplete", &r->incomplete);
    const uint8_t *flags = NULL;
    size_t flags_len = 0;
    uint32_t cc = crow_bencode_dict_get(&doc, 0, "crowcast");
    if (cc && (ret = decode_crowcast(&doc, cc, &r->crowcast, &flags, &flags_len, why)) < 0)
        return ret;
    uint32_t list = crow_bencode_dict_get(&doc, 0, "peers");
    if (!list)
        return bad(why, "response without peers");
    return decode_peer_list(&doc, list, flags, flags_len, peers, peer_cap, r, why);
}
