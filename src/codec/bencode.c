/* Strict bencode decoder into a flat node array, and a canonical encoder into a caller buffer. */
#include <stdio.h>
#include <string.h>

#include "crowcast/bencode.h"
#include "crowcast/error.h"

struct parser {
    const uint8_t *buf;
    size_t len, pos;
    crow_bencode_node_t *nodes;
    uint32_t cap, count;
    crow_bencode_error_t *err;
};

static int fail(struct parser *p, int code, const char *why)
{
    if (p->err) {
        p->err->code = code;
        p->err->pos = p->pos;
        p->err->why = why;
    }
    return code;
}

/* Reads a canonical decimal integer ending at `stop`; negative only when allow_negative. */
static int read_decimal(struct parser *p, char stop, bool allow_negative, int64_t *out)
{
    bool negative = false;
    if (allow_negative && p->pos < p->len && p->buf[p->pos] == '-') {
        negative = true;
        p->pos++;
    }
    size_t first = p->pos;
    uint64_t v = 0;
    while (p->pos < p->len && p->buf[p->pos] >= '0' && p->buf[p->pos] <= '9') {
        unsigned d = (unsigned)(p->buf[p->pos] - '0');
        uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        if (v > (limit - d) / 10)
            return fail(p, CROW_EPARSE, "integer overflows 64 bits");
        v = v * 10 + d;
        p->pos++;
    }
    size_t digits = p->pos - first;
    if (digits == 0)
        return fail(p, CROW_EPARSE, p->pos >= p->len ? "truncated number" : "expected a digit");
    if (digits > 1 && p->buf[first] == '0')
        return fail(p, CROW_EPARSE, "leading zero in number");
    if (negative && v == 0)
        return fail(p, CROW_EPARSE, "negative zero");
    if (p->pos >= p->len)
        return fail(p, CROW_EPARSE, "truncated number");
    if (p->buf[p->pos] != (uint8_t)stop)
        return fail(p, CROW_EPARSE,
                    stop == 'e' ? "integer not closed by 'e'" : "string length not followed by ':'");
    p->pos++;
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int new_node(struct parser *p, enum crow_bencode_type type, uint32_t *idx)
{
    if (p->count >= p->cap)
        return fail(p, CROW_ELIMIT, "too many values");
    *idx = p->count++;
    crow_bencode_node_t *n = &p->nodes[*idx];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->start = p->pos;
    return 0;
}

static int parse_string(struct parser *p, uint32_t *idx)
{
    int ret = new_node(p, CROW_BENCODE_STR, idx);
    if (ret)
        return ret;
    int64_t n = 0;
    ret = read_decimal(p, ':', false, &n);
    if (ret)
        return ret;
    if ((uint64_t)n > p->len - p->pos)
        return fail(p, CROW_EPARSE, "string longer than the input");
    crow_bencode_node_t *node = &p->nodes[*idx];
    node->str = p->buf + p->pos;
    node->len = (size_t)n;
    p->pos += (size_t)n;
    return 0;
}

/* Byte-wise comparison of two keys, shorter-is-smaller on a common prefix. */
static int compare_keys(const crow_bencode_node_t *a, const crow_bencode_node_t *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->str, b->str, n) : 0;
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

struct open_container {
    uint32_t node;
    uint32_t last_key; /* dict: node index of the previous key */
    bool want_value;   /* dict: a key was read, its value is next */
};

/* Records a finished child in its open parent. */
static void child_done(struct parser *p, struct open_container *top, uint32_t child)
{
    crow_bencode_node_t *parent = &p->nodes[top->node];
    if (parent->type == CROW_BENCODE_LIST) {
        parent->count++;
    } else if (top->want_value) {
        top->want_value = false;
    } else {
        top->last_key = child;
        top->want_value = true;
        parent->count++;
    }
}

/* Iterative descent: stack[] holds the open containers, so hostile nesting costs no C stack. */
static int parse_value(struct parser *p)
{
    struct open_container stack[CROW_BENCODE_MAX_DEPTH];
    uint32_t depth = 0;
    int ret;
    for (;;) {
        if (p->pos >= p->len)
            return fail(p, CROW_EPARSE, "truncated input");
        uint8_t c = p->buf[p->pos];
        struct open_container *top = depth ? &stack[depth - 1] : NULL;
        uint32_t idx;
        if (top && c == 'e') {
            if (top->want_value)
                return fail(p, CROW_EPARSE, "dictionary key without a value");
            p->pos++;
            idx = top->node;
            depth--;
        } else if (top && p->nodes[top->node].type == CROW_BENCODE_DICT && !top->want_value) {
            if (!(c >= '0' && c <= '9'))
                return fail(p, CROW_EPARSE, "dictionary key is not a string");
            size_t at = p->pos;
            if ((ret = parse_string(p, &idx)))
                return ret;
            if (p->nodes[top->node].count && compare_keys(&p->nodes[top->last_key], &p->nodes[idx]) >= 0) {
                p->pos = at;
                return fail(p, CROW_EPARSE, "dictionary keys unsorted or duplicated");
            }
        } else if (c == 'i') {
            if ((ret = new_node(p, CROW_BENCODE_INT, &idx)))
                return ret;
            p->pos++;
            if ((ret = read_decimal(p, 'e', true, &p->nodes[idx].ival)))
                return ret;
        } else if (c >= '0' && c <= '9') {
            if ((ret = parse_string(p, &idx)))
                return ret;
        } else if (c == 'l' || c == 'd') {
            if (depth >= CROW_BENCODE_MAX_DEPTH)
                return fail(p, CROW_ELIMIT, "nesting too deep");
            if ((ret = new_node(p, c == 'l' ? CROW_BENCODE_LIST : CROW_BENCODE_DICT, &idx)))
                return ret;
            p->pos++;
            stack[depth++] = (struct open_container){.node = idx};
            continue;
        } else {
            return fail(p, CROW_EPARSE, "unexpected byte");
        }
        crow_bencode_node_t *node = &p->nodes[idx];
        node->end = p->pos;
        node->next = p->count;
        if (depth == 0)
            return 0;
        child_done(p, &stack[depth - 1], idx);
    }
}

int crow_bencode_decode(const uint8_t *buf, size_t len, crow_bencode_node_t *nodes, uint32_t cap,
                        crow_bencode_doc_t *doc, crow_bencode_error_t *err)
{
    struct parser p = {.buf = buf, .len = len, .nodes = nodes, .cap = cap, .err = err};
    int ret = parse_value(&p);
    if (ret)
        return ret;
    if (p.pos != len)
        return fail(&p, CROW_EPARSE, "trailing bytes after the value");
    doc->nodes = nodes;
    doc->count = p.count;
    return 0;
}

uint32_t crow_bencode_first_child(const crow_bencode_doc_t *doc, uint32_t container)
{
    if (container >= doc->count)
        return 0;
    const crow_bencode_node_t *n = &doc->nodes[container];
    if ((n->type != CROW_BENCODE_LIST && n->type != CROW_BENCODE_DICT) || n->count == 0)
        return 0;
    return container + 1;
}

bool crow_bencode_is(const crow_bencode_node_t *node, const char *text)
{
    size_t n = strlen(text);
    return node->type == CROW_BENCODE_STR && node->len == n && memcmp(node->str, text, n) == 0;
}

uint32_t crow_bencode_dict_get(const crow_bencode_doc_t *doc, uint32_t dict, const char *key)
{
    if (dict >= doc->count || doc->nodes[dict].type != CROW_BENCODE_DICT)
        return 0;
    uint32_t k = crow_bencode_first_child(doc, dict);
    for (uint32_t i = 0; k && i < doc->nodes[dict].count; i++) {
        uint32_t v = doc->nodes[k].next;
        if (crow_bencode_is(&doc->nodes[k], key))
            return v;
        k = doc->nodes[v].next;
    }
    return 0;
}

bool crow_bencode_dict_int(const crow_bencode_doc_t *doc, uint32_t dict, const char *key, int64_t *out)
{
    uint32_t v = crow_bencode_dict_get(doc, dict, key);
    if (!v || doc->nodes[v].type != CROW_BENCODE_INT)
        return false;
    *out = doc->nodes[v].ival;
    return true;
}

bool crow_bencode_dict_str(const crow_bencode_doc_t *doc, uint32_t dict, const char *key, const uint8_t **str,
                           size_t *len)
{
    uint32_t v = crow_bencode_dict_get(doc, dict, key);
    if (!v || doc->nodes[v].type != CROW_BENCODE_STR)
        return false;
    *str = doc->nodes[v].str;
    *len = doc->nodes[v].len;
    return true;
}

/* ---- encoder ---- */

void crow_bencode_writer_init(crow_bencode_writer_t *e, uint8_t *buf, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->buf = buf;
    e->cap = cap;
}

static void put(crow_bencode_writer_t *e, const void *bytes, size_t n)
{
    if (e->len + n <= e->cap && !e->err)
        memcpy(e->buf + e->len, bytes, n);
    else if (!e->err)
        e->err = CROW_ESPACE;
    e->len += n; /* keeps counting past the end so the caller learns the size needed */
}

/* Called before every value: inside a dict, a value must follow a key; at the top, there is one value
 * (len counts every byte written, even past the end, so it says whether the root was written). */
static bool value_allowed(crow_bencode_writer_t *e)
{
    if (e->err && e->err != CROW_ESPACE)
        return false;
    if (!e->depth && e->len) {
        e->err = CROW_EPARSE;
        return false;
    }
    if (e->depth && e->frames[e->depth - 1].is_dict) {
        if (e->frames[e->depth - 1].want_key) {
            e->err = CROW_EPARSE;
            return false;
        }
        e->frames[e->depth - 1].want_key = true;
    }
    return true;
}

void crow_bencode_put_int(crow_bencode_writer_t *e, int64_t v)
{
    if (!value_allowed(e))
        return;
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "i%llde", (long long)v);
    put(e, tmp, (size_t)n);
}

static void put_string(crow_bencode_writer_t *e, const void *bytes, size_t len)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu:", len);
    put(e, tmp, (size_t)n);
    put(e, bytes, len);
}

void crow_bencode_put_str(crow_bencode_writer_t *e, const void *bytes, size_t len)
{
    if (value_allowed(e))
        put_string(e, bytes, len);
}

void crow_bencode_put_cstr(crow_bencode_writer_t *e, const char *text)
{
    crow_bencode_put_str(e, text, strlen(text));
}

void crow_bencode_put_key(crow_bencode_writer_t *e, const char *key)
{
    if (e->err && e->err != CROW_ESPACE)
        return;
    if (!e->depth || !e->frames[e->depth - 1].is_dict || !e->frames[e->depth - 1].want_key) {
        e->err = CROW_EPARSE;
        return;
    }
    size_t klen = strlen(key);
    struct crow_bencode_frame *f = &e->frames[e->depth - 1];
    if (f->has_key && !e->err) {
        size_t n = f->key_len < klen ? f->key_len : klen;
        int c = memcmp(e->buf + f->key_off, key, n);
        if (c > 0 || (c == 0 && f->key_len >= klen)) {
            e->err = CROW_EPARSE;
            return;
        }
    }
    put_string(e, key, klen);
    f->has_key = true;
    f->key_off = e->len - klen;
    f->key_len = klen;
    f->want_key = false;
}

static void open_container(crow_bencode_writer_t *e, bool is_dict)
{
    if (!value_allowed(e))
        return;
    if (e->depth >= CROW_BENCODE_MAX_DEPTH) {
        e->err = CROW_EPARSE;
        return;
    }
    put(e, is_dict ? "d" : "l", 1);
    e->frames[e->depth].is_dict = is_dict;
    e->frames[e->depth].want_key = is_dict;
    e->frames[e->depth].has_key = false;
    e->depth++;
}

void crow_bencode_open_list(crow_bencode_writer_t *e)
{
    open_container(e, false);
}

void crow_bencode_open_dict(crow_bencode_writer_t *e)
{
    open_container(e, true);
}

void crow_bencode_close(crow_bencode_writer_t *e)
{
    if (e->err && e->err != CROW_ESPACE)
        return;
    if (!e->depth || (e->frames[e->depth - 1].is_dict && !e->frames[e->depth - 1].want_key)) {
        e->err = CROW_EPARSE;
        return;
    }
    e->depth--;
    put(e, "e", 1);
}

void crow_bencode_put_raw(crow_bencode_writer_t *e, const void *encoded, size_t len)
{
    if (value_allowed(e))
        put(e, encoded, len);
}

long crow_bencode_finish(crow_bencode_writer_t *e)
{
    if (e->err)
        return e->err;
    if (e->depth || !e->len)
        return CROW_EPARSE;
    return (long)e->len;
}
