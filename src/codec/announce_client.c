/* Tracker announce messages, the client side: the announce query a peer sends, and the tracker's bencoded
 * reply (peers compact or as dictionaries, failure reason, the crowcast dictionary) decoded. The tracker
 * side, which reads these queries and writes these replies, is announce_tracker.c. */
#include <stdio.h>
#include <string.h>

#include "crowcast/announce.h"
#include "crowcast/error.h"
#include "crowcast/http.h"

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
        long n = crow_need_map_format(&req->need, text, sizeof text);
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
    if (crow_bencode_dict_int(doc, dict, "relay", &v))
        c->relay = v != 0 && c->group != 0;
    if (crow_bencode_dict_int(doc, dict, "lit", &v)) {
        if (v < 0 || v > UINT32_MAX)
            return bad(why, "invalid crowcast lit");
        c->lit = (uint32_t)v;
    }
    /* Another form (an older tracker's) is no map: the seeder then sends everything. */
    if (crow_bencode_dict_str(doc, dict, "need", &s, &len))
        c->has_need = crow_need_map_parse((const char *)s, len, &c->need);
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
