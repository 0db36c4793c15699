/* Bencode decoder: any bytes either fail with a reason inside the buffer or decode to a tree that
 * re-encodes to exactly the same bytes (the decoder is strict, so the encoding is canonical). */
#include "crowcast/bencode.h"
#include "crowcast/error.h"
#include "fuzz.h"

#define NODES 4096u

static crow_bnode_t nodes[NODES];

/* Re-encodes the subtree at i; false when a dictionary key holds a NUL byte (crow_benc_key takes
 * text, so such a document cannot be rebuilt through it). */
static bool encode(const crow_bdoc_t *doc, uint32_t i, crow_benc_t *e)
{
    const crow_bnode_t *n = &doc->nodes[i];
    switch (n->type) {
    case CROW_BINT:
        crow_benc_int(e, n->ival);
        return true;
    case CROW_BSTR:
        crow_benc_str(e, n->str, n->len);
        return true;
    case CROW_BLIST:
    case CROW_BDICT:
        break;
    }
    bool dict = n->type == CROW_BDICT;
    dict ? crow_benc_dict(e) : crow_benc_list(e);
    uint32_t child = crow_bnode_first(doc, i);
    for (uint32_t k = 0; k < n->count; k++) {
        FUZZ_ASSERT(child > i && child < doc->count);
        if (dict) {
            const crow_bnode_t *key = &doc->nodes[child];
            FUZZ_ASSERT(key->type == CROW_BSTR);
            char text[512];
            if (key->len >= sizeof text || memchr(key->str, 0, key->len))
                return false;
            memcpy(text, key->str, key->len);
            text[key->len] = '\0';
            crow_benc_key(e, text);
            FUZZ_ASSERT(crow_bdict_get(doc, i, text) == key->next);
            child = key->next;
        }
        if (!encode(doc, child, e))
            return false;
        child = doc->nodes[child].next;
    }
    FUZZ_ASSERT(n->count == 0 || child == n->next);
    crow_benc_end(e);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    crow_bdoc_t doc;
    crow_bencode_error_t err;
    int ret = crow_bencode_decode(data, size, nodes, NODES, &doc, &err);
    if (ret != 0) {
        FUZZ_ASSERT(ret == CROW_EPARSE || ret == CROW_ELIMIT);
        FUZZ_ASSERT(err.pos <= size && err.why != NULL);
        return 0;
    }
    FUZZ_ASSERT(doc.count >= 1 && doc.count <= NODES);
    FUZZ_ASSERT(doc.nodes[0].start == 0 && doc.nodes[0].end == size && doc.nodes[0].next == doc.count);
    for (uint32_t i = 0; i < doc.count; i++) {
        const crow_bnode_t *n = &doc.nodes[i];
        FUZZ_ASSERT(n->start < n->end && n->end <= size && n->next > i && n->next <= doc.count);
        if (n->type == CROW_BSTR)
            FUZZ_ASSERT(n->str >= data && n->str + n->len <= data + size);
    }
    uint8_t *out = malloc(size);
    if (!out)
        abort();
    crow_benc_t e;
    crow_benc_init(&e, out, size);
    if (encode(&doc, 0, &e)) {
        long len = crow_benc_finish(&e);
        FUZZ_ASSERT(len == (long)size && memcmp(out, data, size) == 0);
    }
    free(out);
    return 0;
}
