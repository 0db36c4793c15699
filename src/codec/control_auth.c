/* Control-plane key lines, keys files and request signatures (see control_auth.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crowcast/control_auth.h"
#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/units.h"

#define CANON_PREFIX "crowcast-control-1\n"

const char *crow_control_auth_kind_name(enum crow_control_auth_kind kind)
{
    return kind == CROW_AUTH_OPERATOR ? "operator" : kind == CROW_AUTH_AGENT ? "agent" : NULL;
}

enum crow_control_auth_kind crow_control_auth_kind_parse(const char *text, size_t len)
{
    for (enum crow_control_auth_kind k = CROW_AUTH_OPERATOR; k <= CROW_AUTH_AGENT; k++)
        if (len == strlen(crow_control_auth_kind_name(k)) &&
            memcmp(text, crow_control_auth_kind_name(k), len) == 0)
            return k;
    return 0;
}

static bool name_valid(const char *s, size_t len)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    if (len == 0 || len > CROW_AUTH_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!s[i] || !strchr(ok, s[i]))
            return false;
    return true;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The next blank-separated word of [*p, end). */
static bool word(const char **p, const char *end, const char **w, size_t *len)
{
    while (*p < end && blank(**p))
        (*p)++;
    *w = *p;
    while (*p < end && !blank(**p))
        (*p)++;
    *len = (size_t)(*p - *w);
    return *len > 0;
}

int crow_control_auth_key_parse(const char *line, size_t len, crow_control_auth_key_t *out, const char **why)
{
    const char *p = line, *end = line + len, *w;
    size_t n;
    memset(out, 0, sizeof *out);
    if (!word(&p, end, &w, &n) || !(out->kind = crow_control_auth_kind_parse(w, n))) {
        *why = "a key line starts with operator or agent";
        return CROW_EPARSE;
    }
    if (!word(&p, end, &w, &n) || !name_valid(w, n)) {
        *why = "the name wants 1 to 63 of [A-Za-z0-9._-]";
        return CROW_EPARSE;
    }
    memcpy(out->name, w, n);
    char hex[2 * CROW_AUTH_SECRET_LEN + 1];
    if (!word(&p, end, &w, &n) || n != 2 * CROW_AUTH_SECRET_LEN) {
        *why = "the secret wants 64 hex digits (crowcast token new)";
        return CROW_EPARSE;
    }
    memcpy(hex, w, n);
    hex[n] = '\0';
    if (crow_unhex(hex, out->secret, CROW_AUTH_SECRET_LEN)) {
        *why = "the secret wants 64 hex digits (crowcast token new)";
        return CROW_EPARSE;
    }
    if (word(&p, end, &w, &n)) {
        *why = "unexpected words after the secret";
        return CROW_EPARSE;
    }
    return 0;
}

long crow_control_auth_key_format(const crow_control_auth_key_t *key, char *buf, size_t cap)
{
    char hex[2 * CROW_AUTH_SECRET_LEN + 1];
    crow_hex(key->secret, CROW_AUTH_SECRET_LEN, hex);
    int n = snprintf(buf, cap, "%s %s %s\n", crow_control_auth_kind_name(key->kind), key->name, hex);
    return n > 0 && (size_t)n < cap ? n : CROW_ESPACE;
}

int crow_control_auth_keys_parse(const char *text, size_t len, crow_control_auth_key_t *keys, size_t max,
                                 size_t *count, unsigned *line, const char **why)
{
    *count = 0;
    *line = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end, *hash = memchr(p, '#', (size_t)(stop - p));
        const char *body_end = hash ? hash : stop, *w;
        size_t n;
        (*line)++;
        const char *q = p;
        if (word(&q, body_end, &w, &n)) {
            if (*count == max) {
                *why = "too many identities";
                return CROW_ELIMIT;
            }
            crow_control_auth_key_t *k = &keys[*count];
            if (crow_control_auth_key_parse(p, (size_t)(body_end - p), k, why))
                return CROW_EPARSE;
            for (size_t i = 0; i < *count; i++)
                if (keys[i].kind == k->kind && strcmp(keys[i].name, k->name) == 0) {
                    *why = "this identity is given twice";
                    return CROW_EPARSE;
                }
            (*count)++;
        }
        p = nl ? nl + 1 : end;
    }
    *line = 0;
    return 0;
}

void crow_control_auth_mac(const uint8_t secret[CROW_AUTH_SECRET_LEN], const crow_control_auth_claim_t *claim,
                           crow_http_str_t method, crow_http_str_t path, crow_http_str_t query,
                           uint8_t out[CROW_HMAC_SHA256_LEN])
{
    /* Bounded by the request line the tracker accepts (7 KiB) and the claim's fields. */
    char canon[8192 + 256];
    int n = snprintf(canon, sizeof canon, CANON_PREFIX "%.*s\n%.*s\n%.*s\n%s:%s\n%" PRIu64 "\n%s",
                     (int)method.len, method.ptr, (int)path.len, path.ptr, (int)query.len, query.ptr,
                     crow_control_auth_kind_name(claim->kind), claim->name, claim->ts, claim->nonce);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof canon ? (size_t)n : sizeof canon - 1;
    crow_hmac_sha256(secret, CROW_AUTH_SECRET_LEN, canon, len, out);
}

void crow_control_auth_answer_mac(const uint8_t secret[CROW_AUTH_SECRET_LEN], const char *nonce, int status,
                                  const uint8_t *body, size_t len, char hex[2 * CROW_HMAC_SHA256_LEN + 1])
{
    /* The body enters as its SHA-256: the MAC's input stays small whatever the body's size. */
    uint8_t digest[CROW_SHA256_LEN], mac[CROW_HMAC_SHA256_LEN];
    crow_sha256(body, len, digest);
    char text[128 + 2 * CROW_SHA256_LEN];
    char dhex[2 * CROW_SHA256_LEN + 1];
    crow_hex(digest, sizeof digest, dhex);
    int n = snprintf(text, sizeof text, "crowcast-answer-1\n%.32s\n%d\n%s", nonce, status, dhex);
    crow_hmac_sha256(secret, CROW_AUTH_SECRET_LEN, text, n > 0 ? (size_t)n : 0, mac);
    crow_hex(mac, sizeof mac, hex);
}

long crow_control_auth_sign(char *buf, size_t cap, const crow_control_auth_key_t *key, const char *method,
                            const char *target, uint64_t ts, const uint8_t nonce[CROW_AUTH_NONCE_LEN])
{
    crow_control_auth_claim_t claim = {.kind = key->kind, .ts = ts};
    snprintf(claim.name, sizeof claim.name, "%s", key->name);
    crow_hex(nonce, CROW_AUTH_NONCE_LEN, claim.nonce);
    const char *q = strchr(target, '?');
    crow_http_str_t m = {method, strlen(method)}, path = {target, q ? (size_t)(q - target) : strlen(target)},
                    query = {q ? q + 1 : "", q ? strlen(q + 1) : 0};
    uint8_t sig[CROW_HMAC_SHA256_LEN];
    char hex[2 * CROW_HMAC_SHA256_LEN + 1];
    crow_control_auth_mac(key->secret, &claim, m, path, query, sig);
    crow_hex(sig, sizeof sig, hex);
    int n = snprintf(buf, cap, CROW_AUTH_SCHEME " id=%s:%s,ts=%" PRIu64 ",nonce=%s,sig=%s",
                     crow_control_auth_kind_name(key->kind), key->name, ts, claim.nonce, hex);
    return n > 0 && (size_t)n < cap ? n : CROW_ESPACE;
}

/* "key=" at *p: moves *p past it and returns the value's end (the next ',' or end). */
static const char *field(const char **p, const char *end, const char *key)
{
    size_t k = strlen(key);
    if ((size_t)(end - *p) < k || memcmp(*p, key, k) != 0)
        return NULL;
    *p += k;
    const char *comma = memchr(*p, ',', (size_t)(end - *p));
    return comma ? comma : end;
}

/* True when every byte of [p, stop) is one of set (the value is not NUL-terminated). */
static bool all_of(const char *p, const char *stop, const char *set)
{
    for (; p < stop; p++)
        if (!*p || !strchr(set, *p))
            return false;
    return true;
}

static bool hex_field(const char *p, const char *stop, size_t bytes, char *out)
{
    if ((size_t)(stop - p) != 2 * bytes || !all_of(p, stop, "0123456789abcdef"))
        return false;
    memcpy(out, p, 2 * bytes);
    out[2 * bytes] = '\0';
    return true;
}

int crow_control_auth_claim_parse(const char *value, size_t len, crow_control_auth_claim_t *out,
                                  const char **why)
{
    const char *p = value, *end = value + len, *stop;
    size_t scheme = strlen(CROW_AUTH_SCHEME " ");
    memset(out, 0, sizeof *out);
    *why = "malformed Authorization (want " CROW_AUTH_SCHEME " id=KIND:NAME,ts=S,nonce=HEX,sig=HEX)";
    if (len < scheme || memcmp(p, CROW_AUTH_SCHEME " ", scheme) != 0) {
        *why = "Authorization is not " CROW_AUTH_SCHEME;
        return CROW_EPARSE;
    }
    p += scheme;
    if (!(stop = field(&p, end, "id=")))
        return CROW_EPARSE;
    const char *colon = memchr(p, ':', (size_t)(stop - p));
    if (!colon || !(out->kind = crow_control_auth_kind_parse(p, (size_t)(colon - p))) ||
        !name_valid(colon + 1, (size_t)(stop - colon - 1)))
        return CROW_EPARSE;
    memcpy(out->name, colon + 1, (size_t)(stop - colon - 1));
    p = stop + (stop < end);
    if (!(stop = field(&p, end, "ts=")) ||
        !crow_parse_decimal(p, (size_t)(stop - p), 999999999999u, &out->ts))
        return CROW_EPARSE;
    p = stop + (stop < end);
    if (!(stop = field(&p, end, "nonce=")) || !hex_field(p, stop, CROW_AUTH_NONCE_LEN, out->nonce))
        return CROW_EPARSE;
    p = stop + (stop < end);
    char sig[2 * CROW_HMAC_SHA256_LEN + 1];
    if (!(stop = field(&p, end, "sig=")) || stop != end || !hex_field(p, stop, CROW_HMAC_SHA256_LEN, sig) ||
        crow_unhex(sig, out->sig, CROW_HMAC_SHA256_LEN))
        return CROW_EPARSE;
    *why = NULL;
    return 0;
}
