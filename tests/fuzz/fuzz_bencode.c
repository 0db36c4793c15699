/* Bencode decoder: any bytes either fail with a reason inside the buffer or decode to a tree that
 * re-encodes to exactly the same bytes (the decoder is strict, so the encoding is canonical). */
#include "crowcast/bencode.h"
#include "crowcast/error.h"
#include "fuzz.h"

#define NODES 4096u

static crow_bencode_node_t nodes[NODES];

/* Re-encodes the subtree at i; false when a dictionary key holds a NUL byte (crow_bencode_put_key takes
 * text, so such a document cannot be rebuilt through it). */
static bool encode(const crow_bencode_doc_t *doc, uint32_t i, crow_bencode_writer_t *e)
{
    const crow_bencode_node_t *n = &doc->nodes[i];
    switch (n->type) {
    case CROW_BENCODE_INT:
        crow_bencode_put_int(e, n->ival);
        return true;
    case CROW_BENCODE_STR:
        crow_bencode_put_str(e, n->str, n->len);
        return true;
    case CROW_BENCODE_LIST:
    case CROW_BENCODE_DICT:
        break;
    }
    bool dict = n->type == CROW_BENCODE_DICT;
    dict ? crow_bencode_open_dict(e) : crow_bencode_open_list(e);
    uint32_t child = crow_bencode_first_child(doc, i);
    for (uint32_t k = 0; k < n->count; k++) {
        FUZZ_ASSERT(child > i && child < doc->count);
        if (dict) {
            const crow_bencode_node_t *key = &doc->nodes[child];
            FUZZ_ASSERT(key->type == CROW_BENCODE_STR);
            char text[512];
            if (key->len >= sizeof text || memchr(key->str, 0, key->len))
                return false;
            memcpy(text, key->str, key->len);
            text[key->len] = '\0';
            crow_bencode_put_key(e, text);
            FUZZ_ASSERT(crow_bencode_dict_get(doc, i, text) == key->next);
            child = key->next;
        }
        if (!encode(doc, child, e))
            return false;
        child = doc->nodes[child].next;
    }
    FUZZ_ASSERT(n->count == 0 || child == n->next);
    crow_bencode_close(e);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    crow_bencode_doc_t doc;
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
        const crow_bencode_node_t *n = &doc.nodes[i];
        FUZZ_ASSERT(n->start < n->end && n->end <= size && n->next > i && n->next <= doc.count);
        if (n->type == CROW_BENCODE_STR)
            FUZZ_ASSERT(n->str >= data && n->str + n->len <= data + size);
    }
    uint8_t *out = malloc(size);
    if (!out)
        abort();
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, out, size);
    if (encode(&doc, 0, &e)) {
        long len = crow_bencode_finish(&e);
        FUZZ_ASSERT(len == (long)size && memcmp(out, data, size) == 0);
    }
    free(out);
    return 0;
}
