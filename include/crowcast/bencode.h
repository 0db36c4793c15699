/* Bencode (BEP 3), sans I/O.
 *
 * Decoding is strict: canonical integers (no leading zeros, no "-0"), string lengths without
 * leading zeros, dictionary keys that are strings in strictly increasing byte order (so no
 * duplicates), bounded nesting, every length checked against the bytes that remain, and the
 * value must span the whole buffer. The decoder never allocates: it fills a caller-provided array
 * of nodes in pre-order (a container is followed by its children; a dictionary's children
 * alternate key, value), and the nodes point into the caller's buffer, which must outlive them.
 *
 * Encoding writes canonical bencode into a caller-provided buffer. Errors are sticky: after the
 * first one every call is a no-op and crow_bencode_finish reports it.
 */
#ifndef CROWCAST_BENCODE_H
#define CROWCAST_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CROW_BENCODE_MAX_DEPTH 32

enum crow_bencode_type { CROW_BENCODE_INT = 1, CROW_BENCODE_STR, CROW_BENCODE_LIST, CROW_BENCODE_DICT };

typedef struct crow_bencode_node {
    enum crow_bencode_type type;
    uint32_t next;      /* index of the node after this one's subtree (its next sibling) */
    uint32_t count;     /* list: items; dict: key/value pairs */
    size_t start, end;  /* byte range of the whole encoded value in the input */
    int64_t ival;       /* CROW_BENCODE_INT */
    const uint8_t *str; /* CROW_BENCODE_STR: the bytes, inside the input buffer */
    size_t len;         /* CROW_BENCODE_STR: their length */
} crow_bencode_node_t;

typedef struct crow_bencode_doc {
    const crow_bencode_node_t *nodes; /* nodes[0] is the root */
    uint32_t count;
} crow_bencode_doc_t;

typedef struct crow_bencode_error {
    int code;        /* CROW_EPARSE or CROW_ELIMIT */
    size_t pos;      /* byte offset where the problem was found */
    const char *why; /* static text, e.g. "leading zero in integer" */
} crow_bencode_error_t;

/* Decodes buf[0..len) into nodes[0..cap). Returns 0 and fills *doc, or a negative code and fills
 * *err (when err is not NULL). Running out of nodes or exceeding CROW_BENCODE_MAX_DEPTH is
 * CROW_ELIMIT; anything malformed is CROW_EPARSE. */
int crow_bencode_decode(const uint8_t *buf, size_t len, crow_bencode_node_t *nodes, uint32_t cap,
                        crow_bencode_doc_t *doc, crow_bencode_error_t *err);

/* Index of the value stored under `key` in the dictionary at index `dict`, or 0 when the key is
 * absent or `dict` is not a dictionary (0 is the root and never a value). */
uint32_t crow_bencode_dict_get(const crow_bencode_doc_t *doc, uint32_t dict, const char *key);
/* Convenience typed lookups: return false when absent or of another type. */
bool crow_bencode_dict_int(const crow_bencode_doc_t *doc, uint32_t dict, const char *key, int64_t *out);
bool crow_bencode_dict_str(const crow_bencode_doc_t *doc, uint32_t dict, const char *key, const uint8_t **str,
                           size_t *len);
/* First child of a list or dictionary (a dictionary's first key), or 0 when it is empty. */
uint32_t crow_bencode_first_child(const crow_bencode_doc_t *doc, uint32_t container);
/* True when the string node equals the NUL-terminated text. */
bool crow_bencode_is(const crow_bencode_node_t *node, const char *text);

struct crow_bencode_frame {
    bool is_dict;
    bool want_key;           /* dict: the next item must be a key */
    bool has_key;            /* dict: a previous key exists */
    size_t key_off, key_len; /* dict: the previous key, inside buf */
};

typedef struct crow_bencode_writer {
    uint8_t *buf;
    size_t cap, len;
    int err;
    uint32_t depth;
    struct crow_bencode_frame frames[CROW_BENCODE_MAX_DEPTH];
} crow_bencode_writer_t;

void crow_bencode_writer_init(crow_bencode_writer_t *e, uint8_t *buf, size_t cap);
void crow_bencode_put_int(crow_bencode_writer_t *e, int64_t v);
void crow_bencode_put_str(crow_bencode_writer_t *e, const void *bytes, size_t len);
void crow_bencode_put_cstr(crow_bencode_writer_t *e, const char *text);
/* A dictionary key. Keys must come in strictly increasing byte order (CROW_EPARSE otherwise). */
void crow_bencode_put_key(crow_bencode_writer_t *e, const char *key);
void crow_bencode_open_list(crow_bencode_writer_t *e);
void crow_bencode_open_dict(crow_bencode_writer_t *e);
void crow_bencode_close(crow_bencode_writer_t *e);
/* Copies an already-encoded value verbatim (e.g. an `info` dictionary kept as bytes). */
void crow_bencode_put_raw(crow_bencode_writer_t *e, const void *encoded, size_t len);
/* Returns the encoded length, or CROW_ESPACE (buffer too small; e->len says how many bytes were
 * needed), or CROW_EPARSE (unbalanced containers, key order, a value where a key belongs, or not
 * exactly one value at the top: nothing, or a second value after the first). */
long crow_bencode_finish(crow_bencode_writer_t *e);

#endif
