/* The agent's requests and the tracker's answers to them (see agent_proto.h). */
#include <stdio.h>
#include <string.h>

#include "crowcast/agent_proto.h"
#include "crowcast/bencode.h"
#include "crowcast/error.h"
#include "crowcast/http.h"

#define NODES 64 /* an answer is one flat dictionary: a handful of nodes */

bool crow_agent_release_valid(const char *text)
{
    size_t n = 0;
    for (; text[n]; n++)
        if (!((text[n] >= '0' && text[n] <= '9') || (text[n] >= 'a' && text[n] <= 'f')) ||
            n >= CROW_RELEASE_HEX)
            return false;
    return n == CROW_RELEASE_HEX;
}

bool crow_agent_name_valid(const char *text)
{
    size_t n = strnlen(text, CROW_AGENT_NAME_MAX + 1);
    if (n == 0 || n > CROW_AGENT_NAME_MAX || text[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (text[i] <= ' ' || text[i] > '~' || text[i] == '/')
            return false;
    return true;
}

/* Copies a bencoded string value into out (NUL-terminated); false when absent, not a string, too long
 * or holding a NUL. */
static bool get_text(const crow_bencode_doc_t *doc, const char *key, char *out, size_t cap)
{
    const uint8_t *s;
    size_t len;
    if (!crow_bencode_dict_str(doc, 0, key, &s, &len) || len >= cap || memchr(s, 0, len))
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

static int decode_dict(const uint8_t *buf, size_t len, crow_bencode_node_t *nodes, crow_bencode_doc_t *doc,
                       const char **why)
{
    crow_bencode_error_t err;
    if (crow_bencode_decode(buf, len, nodes, NODES, doc, &err)) {
        *why = err.why ? err.why : "not bencode";
        return CROW_EPARSE;
    }
    if (doc->nodes[0].type != CROW_BENCODE_DICT) {
        *why = "not a dictionary";
        return CROW_EPARSE;
    }
    return 0;
}

static int decode_order(const uint8_t *buf, size_t len, crow_agent_order_t *out, const char **why)
{
    crow_bencode_node_t nodes[NODES];
    crow_bencode_doc_t doc;
    int ret = decode_dict(buf, len, nodes, &doc, why);
    if (ret)
        return ret;
    if (crow_bencode_dict_get(&doc, 0, "failure reason")) {
        if (!get_text(&doc, "failure reason", out->failure, sizeof out->failure)) {
            *why = "bad failure reason";
            return CROW_EPARSE;
        }
        return CROW_EPROTO;
    }
    char order[16];
    if (!get_text(&doc, "order", order, sizeof order)) {
        *why = "no order";
        return CROW_EPARSE;
    }
    out->order = CROW_ORDER_NONE;
    while (strcmp(order, crow_order_name(out->order)) != 0)
        if (++out->order > CROW_ORDER_ROLLBACK) {
            *why = "unknown order";
            return CROW_EPARSE;
        }
    int64_t v;
    if (crow_bencode_dict_get(&doc, 0, "interval")) {
        if (!crow_bencode_dict_int(&doc, 0, "interval", &v) || v < 0 || v > CROW_AGENT_INTERVAL_MAX) {
            *why = "bad interval";
            return CROW_EPARSE;
        }
        out->interval = (uint32_t)v;
    }
    if (out->order == CROW_ORDER_NONE)
        return 0;
    if (!crow_bencode_dict_int(&doc, 0, "rollout", &v) || v <= 0 || v > UINT32_MAX) {
        *why = "bad rollout number";
        return CROW_EPARSE;
    }
    out->rollout = (uint32_t)v;
    if (!get_text(&doc, "release", out->release, sizeof out->release) ||
        !(crow_agent_release_valid(out->release) ||
          (out->order == CROW_ORDER_ROLLBACK && !out->release[0]))) {
        *why = "bad release id";
        return CROW_EPARSE;
    }
    if (!get_text(&doc, "name", out->name, sizeof out->name) || !crow_agent_name_valid(out->name)) {
        *why = "bad release name";
        return CROW_EPARSE;
    }
    return 0;
}

int crow_agent_order_decode(const uint8_t *buf, size_t len, crow_agent_order_t *out, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(out, 0, sizeof *out);
    int ret = decode_order(buf, len, out, why);
    if (ret == CROW_EPARSE)
        memset(out, 0, sizeof *out); /* nothing half-decoded is left for a careless caller */
    return ret;
}

int crow_agent_ack_decode(const uint8_t *buf, size_t len, char *failure, size_t cap)
{
    crow_bencode_node_t nodes[NODES];
    crow_bencode_doc_t doc;
    const char *why;
    if (cap)
        failure[0] = '\0';
    if (decode_dict(buf, len, nodes, &doc, &why))
        return CROW_EPARSE;
    char text[256];
    if (crow_bencode_dict_get(&doc, 0, "failure reason")) {
        if (!get_text(&doc, "failure reason", text, sizeof text))
            return CROW_EPARSE;
        if (cap)
            snprintf(failure, cap, "%s", text);
        return CROW_EPROTO;
    }
    int64_t ok;
    return crow_bencode_dict_int(&doc, 0, "ok", &ok) && ok == 1 ? 0 : CROW_EPARSE;
}

/* Appends "<sep>key=<percent-encoded value>" at buf+*len. */
static int append(char *buf, size_t cap, size_t *len, char sep, const char *key, const char *value)
{
    int n = snprintf(buf + *len, cap - *len, "%c%s=", sep, key);
    if (n < 0 || (size_t)n >= cap - *len)
        return CROW_ESPACE;
    *len += (size_t)n;
    long e = crow_http_pct_encode((const uint8_t *)value, strlen(value), buf + *len, cap - *len);
    if (e < 0)
        return CROW_ESPACE;
    *len += (size_t)e;
    return 0;
}

static long start(char *buf, size_t cap, size_t *len, const char *prefix, const char *endpoint)
{
    int n = snprintf(buf, cap, "%s/agent/%s", prefix, endpoint);
    if (n < 0 || (size_t)n >= cap)
        return CROW_ESPACE;
    *len = (size_t)n;
    return 0;
}

long crow_agent_poll_target(char *buf, size_t cap, const char *prefix, const char *host, const char *rack,
                            const char *current, unsigned wait)
{
    size_t len;
    char w[16];
    snprintf(w, sizeof w, "%u", wait > CROW_AGENT_WAIT_MAX ? CROW_AGENT_WAIT_MAX : wait);
    if (start(buf, cap, &len, prefix, "poll") || append(buf, cap, &len, '?', "host", host) ||
        (rack && rack[0] && append(buf, cap, &len, '&', "rack", rack)) ||
        append(buf, cap, &len, '&', "current", current ? current : "") ||
        append(buf, cap, &len, '&', "wait", w))
        return CROW_ESPACE;
    return (long)len;
}

long crow_agent_torrent_target(char *buf, size_t cap, const char *prefix, const char *release)
{
    size_t len;
    if (start(buf, cap, &len, prefix, "torrent") || append(buf, cap, &len, '?', "release", release))
        return CROW_ESPACE;
    return (long)len;
}

long crow_agent_report_target(char *buf, size_t cap, const char *prefix, const char *host, uint32_t rollout,
                              enum crow_step step, bool ok, const char *detail, uint64_t seq)
{
    size_t len;
    char r[16], q[24];
    snprintf(r, sizeof r, "%u", rollout);
    snprintf(q, sizeof q, "%llu", (unsigned long long)seq);
    if (start(buf, cap, &len, prefix, "report") || append(buf, cap, &len, '?', "host", host) ||
        append(buf, cap, &len, '&', "rollout", r) ||
        append(buf, cap, &len, '&', "step", crow_step_name(step)) ||
        append(buf, cap, &len, '&', "status", ok ? "ok" : "failed") ||
        append(buf, cap, &len, '&', "detail", detail ? detail : "") ||
        (seq && append(buf, cap, &len, '&', "seq", q)))
        return CROW_ESPACE;
    return (long)len;
}
