/* Signed control requests checked against the keys, the replay window and the nonce table (see
 * control_verifier.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/control_verifier.h"
#include "crowcast/error.h"
#include "crowcast/hash.h"

#define PROBES 64 /* slots a nonce may take, from its hash on */

/* A nonce is kept as 64 bits of a salted hash: two nonces alike there (a genuine request taken for a
 * replay) are as likely as guessing a 64-bit secret. */
struct slot {
    uint64_t expires_s; /* 0: never used; past now: free again */
    uint64_t print;
};

struct crow_control_verifier {
    uint32_t window_s;
    crow_control_auth_key_t *keys; /* sorted by kind, then name */
    size_t key_count;
    uint8_t salt[16]; /* keys the slot hash: a key holder cannot aim nonces at one probe range */
    struct slot *slots;
    uint32_t slot_count;
};

static int key_order(const void *a, const void *b)
{
    const crow_control_auth_key_t *x = a, *y = b;
    return x->kind != y->kind ? (int)x->kind - (int)y->kind : strcmp(x->name, y->name);
}

int crow_control_verifier_new(crow_control_verifier_t **out, uint32_t window_s, uint32_t nonces)
{
    crow_control_verifier_t *v = calloc(1, sizeof *v);
    nonces = nonces ? nonces : CROW_VERIFIER_NONCES;
    if (!v || !(v->slots = calloc(nonces, sizeof *v->slots)) ||
        !(v->keys = calloc(CROW_VERIFIER_MAX_KEYS, sizeof *v->keys)) ||
        crow_random_bytes(v->salt, sizeof v->salt)) {
        crow_control_verifier_free(v);
        return -ENOMEM;
    }
    v->window_s = window_s ? window_s : CROW_VERIFIER_WINDOW_S;
    v->slot_count = nonces;
    *out = v;
    return 0;
}

void crow_control_verifier_free(crow_control_verifier_t *v)
{
    if (!v)
        return;
    free(v->slots);
    free(v->keys);
    free(v);
}

int crow_control_verifier_set_keys(crow_control_verifier_t *v, const crow_control_auth_key_t *keys,
                                   size_t count)
{
    if (count > CROW_VERIFIER_MAX_KEYS)
        return CROW_ELIMIT;
    memcpy(v->keys, keys, count * sizeof *keys);
    v->key_count = count;
    qsort(v->keys, count, sizeof *v->keys, key_order);
    return 0;
}

size_t crow_control_verifier_key_count(const crow_control_verifier_t *v)
{
    return v->key_count;
}

static int refuse(crow_verdict_t *out, int status, const char *why)
{
    out->status = status;
    out->why = why;
    return CROW_EPROTO;
}

/* Remembers the nonce: 0, CROW_EPROTO when it is there already, CROW_ELIMIT when no slot is free. */
static int remember(crow_control_verifier_t *v, const crow_control_auth_claim_t *c, uint64_t now_s)
{
    uint8_t h[CROW_SHA256_LEN], in[sizeof v->salt + sizeof c->nonce];
    memcpy(in, v->salt, sizeof v->salt);
    memcpy(in + sizeof v->salt, c->nonce, sizeof c->nonce);
    crow_sha256(in, sizeof in, h);
    uint32_t at = ((uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3]) % v->slot_count;
    uint64_t print;
    memcpy(&print, h + 8, sizeof print);
    struct slot *free_slot = NULL;
    /* A nonce is placed in the first free slot of its range, and slots never used do not come back:
     * a lookup may stop at one. Expired slots are reused but do not end the search. */
    for (unsigned i = 0; i < PROBES; i++) {
        struct slot *s = &v->slots[(at + i) % v->slot_count];
        bool live = s->expires_s >= now_s;
        if (live && s->print == print)
            return CROW_EPROTO;
        if (!live && !free_slot)
            free_slot = s;
        if (s->expires_s == 0)
            break;
    }
    if (!free_slot)
        return CROW_ELIMIT;
    free_slot->expires_s = c->ts + v->window_s;
    free_slot->print = print;
    return 0;
}

int crow_control_verifier_check(crow_control_verifier_t *v, const crow_http_request_t *req, uint64_t now_s,
                                crow_verdict_t *out)
{
    memset(out, 0, sizeof *out);
    const crow_http_str_t *h = crow_http_find_header(req->headers, req->header_count, "Authorization");
    if (!h)
        return refuse(out, 401, "no Authorization header: sign the request (--key FILE)");
    const char *why;
    if (crow_control_auth_claim_parse(h->ptr, h->len, &out->claim, &why))
        return refuse(out, 401, why);
    crow_control_auth_key_t probe = {.kind = out->claim.kind};
    memcpy(probe.name, out->claim.name, sizeof probe.name);
    const crow_control_auth_key_t *key = bsearch(&probe, v->keys, v->key_count, sizeof *v->keys, key_order);
    if (!key)
        return refuse(out, 401, "unknown identity (not in the tracker's --auth file, or revoked)");
    uint8_t mac[CROW_HMAC_SHA256_LEN];
    crow_control_auth_mac(key->secret, &out->claim, req->method, req->path, req->query, mac);
    if (!crow_mac_equal(mac, out->claim.sig, sizeof mac))
        return refuse(out, 401, "bad signature (wrong secret, or the request was altered)");
    if (out->claim.ts + v->window_s < now_s || out->claim.ts > now_s + v->window_s)
        return refuse(out, 401, "timestamp outside the replay window (are the clocks in sync?)");
    int ret = remember(v, &out->claim, now_s);
    if (ret == CROW_EPROTO)
        return refuse(out, 401, "replayed request (its nonce was seen already)");
    if (ret)
        return refuse(out, 503, "too many signed requests within the replay window: try again");
    out->key = key;
    return 0;
}
