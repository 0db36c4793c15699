/* The release manifest: strict parsing of a BitTorrent v1 metainfo carrying crowcast's extras,
 * its canonical encoding, and the piece/chunk arithmetic every role shares.
 *
 * Parsing trusts nothing: every field is checked for type, range and consistency with the others
 * (hash strings against the piece count, lengths against overflow, paths against escapes) before
 * the caller sees it. crow_manifest_load is the one function here that touches a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/bencode.h"
#include "crowcast/error.h"
#include "crowcast/manifest.h"

#define CROW_MANIFEST_VERSION 2 /* the newest this code reads and writes */

/* A path made printable for an error message: at most 60 bytes, control bytes as '?'. */
static const char *printable(const char *s, size_t len, char out[64])
{
    size_t n = len < 60 ? len : 60;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    strcpy(out + n, len > n ? "..." : "");
    return out;
}

int crow_manifest_check_path(const char *path, size_t len)
{
    if (len == 0 || len > CROW_MAX_PATH || memchr(path, '\0', len))
        return CROW_EPATH;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        size_t n = i - start;
        const char *c = path + start;
        if (n == 0 || n > CROW_MAX_NAME || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return CROW_EPATH;
        start = i + 1;
    }
    return 0;
}

static bool is_power_of_two(uint64_t v)
{
    return v && (v & (v - 1)) == 0;
}

/* Orders paths as a directory walk would: '/' sorts before every other byte, so a path "a" is
 * immediately followed by everything under "a/". That puts both duplicates and a file that is
 * also used as a directory next to each other. */
static int tree_order(const void *pa, const void *pb)
{
    const unsigned char *a = *(const unsigned char *const *)pa, *b = *(const unsigned char *const *)pb;
    for (;; a++, b++) {
        unsigned ca = *a == '/' ? 1 : *a, cb = *b == '/' ? 1 : *b;
        if (ca != cb || ca == 0)
            return (int)ca - (int)cb;
    }
}

/* One path of the release tree, for the uniqueness check. */
struct tree_path {
    const char *path;
    const char *kind; /* "file", "symlink", "empty directory" */
};

static int tree_path_order(const void *pa, const void *pb)
{
    const char *a = ((const struct tree_path *)pa)->path, *b = ((const struct tree_path *)pb)->path;
    return tree_order(&a, &b);
}

/* No path twice among files, symlinks and empty directories, and none of them below another (a
 * file or a symlink cannot be a directory, an empty directory holds nothing). Padding files never
 * reach the disk: their paths may repeat (BEP 47 names them after their size). */
static int check_unique_paths(const crow_manifest_t *m, char *why, size_t why_cap)
{
    size_t total = (size_t)m->file_count + m->link_count + m->dir_count, n = 0;
    struct tree_path *sorted = malloc(total * sizeof *sorted);
    if (!sorted)
        return -ENOMEM;
    for (uint32_t i = 0; i < m->file_count; i++)
        if (!(m->files[i].attr & CROW_ATTR_PAD))
            sorted[n++] = (struct tree_path){m->files[i].path, "file"};
    for (uint32_t i = 0; i < m->link_count; i++)
        sorted[n++] = (struct tree_path){m->links[i].path, "symlink"};
    for (uint32_t i = 0; i < m->dir_count; i++)
        sorted[n++] = (struct tree_path){m->dirs[i], "empty directory"};
    if (n)
        qsort(sorted, n, sizeof *sorted, tree_path_order);
    int ret = 0;
    char shown[64];
    for (size_t i = 1; i < n && !ret; i++) {
        const char *a = sorted[i - 1].path, *b = sorted[i].path;
        size_t len = strlen(a);
        if (strcmp(a, b) == 0)
            ret = crow_why(why, why_cap, CROW_EPATH, "path \"%s\" listed twice", printable(b, len, shown));
        else if (strncmp(a, b, len) == 0 && b[len] == '/')
            ret = crow_why(why, why_cap, CROW_EPATH, "\"%s\" is both a%s %s and a directory",
                           printable(a, len, shown), sorted[i - 1].kind[0] == 'e' ? "n" : "",
                           sorted[i - 1].kind);
    }
    free(sorted);
    return ret;
}

/* Symlinks and empty directories: safe paths, safe targets, and only in a multi-file release. */
static int check_tree_extras(const crow_manifest_t *m, char *why, size_t why_cap)
{
    char shown[64];
    if (m->single_file && (m->link_count || m->dir_count || (m->files[0].attr & CROW_ATTR_PAD)))
        return crow_why(why, why_cap, CROW_EMANIFEST,
                        "a single-file release holds no symlink, directory or padding");
    if ((uint64_t)m->file_count + m->link_count + m->dir_count > CROW_MAX_FILES)
        return crow_why(why, why_cap, CROW_ELIMIT, "more than %u files, symlinks and directories",
                        CROW_MAX_FILES);
    for (uint32_t i = 0; i < m->link_count; i++) {
        const crow_manifest_link_t *l = &m->links[i];
        if (!l->path || crow_manifest_check_path(l->path, strlen(l->path)))
            return crow_why(why, why_cap, CROW_EPATH, "symlink %u: unsafe path \"%s\"", i,
                            l->path ? printable(l->path, strlen(l->path), shown) : "");
        if (!l->target || crow_manifest_check_path(l->target, strlen(l->target)))
            return crow_why(why, why_cap, CROW_EPATH, "symlink %s: unsafe target \"%s\"",
                            printable(l->path, strlen(l->path), shown), l->target ? l->target : "");
    }
    for (uint32_t i = 0; i < m->dir_count; i++)
        if (!m->dirs[i] || crow_manifest_check_path(m->dirs[i], strlen(m->dirs[i])))
            return crow_why(why, why_cap, CROW_EPATH, "empty directory %u: unsafe path \"%s\"", i,
                            m->dirs[i] ? printable(m->dirs[i], strlen(m->dirs[i]), shown) : "");
    return 0;
}

int crow_manifest_layout(crow_manifest_t *m, char *why, size_t why_cap)
{
    char shown[64];
    if (!m->name || crow_manifest_check_path(m->name, strlen(m->name)) || strchr(m->name, '/'))
        return crow_why(why, why_cap, CROW_EPATH, "name \"%s\" is not a safe single path component",
                        m->name ? printable(m->name, strlen(m->name), shown) : "");
    if (!is_power_of_two(m->piece_length) || m->piece_length < CROW_MIN_PIECE_LENGTH ||
        m->piece_length > CROW_MAX_PIECE_LENGTH)
        return crow_why(why, why_cap, CROW_EMANIFEST, "piece length %u is not a power of two in %u..%u",
                        m->piece_length, CROW_MIN_PIECE_LENGTH, CROW_MAX_PIECE_LENGTH);
    if (m->chunk_size < CROW_MIN_CHUNK_SIZE || m->chunk_size > CROW_MAX_CHUNK_SIZE)
        return crow_why(why, why_cap, CROW_EMANIFEST, "chunk size %u is outside %u..%u", m->chunk_size,
                        CROW_MIN_CHUNK_SIZE, CROW_MAX_CHUNK_SIZE);
    if (m->file_count == 0 || !m->files)
        return crow_why(why, why_cap, CROW_EMANIFEST, "the release lists no file");
    if (m->file_count > CROW_MAX_FILES)
        return crow_why(why, why_cap, CROW_ELIMIT, "%u files exceed the limit of %u", m->file_count,
                        CROW_MAX_FILES);
    if (m->single_file && (m->file_count != 1 || !m->files[0].path || strcmp(m->files[0].path, m->name) != 0))
        return crow_why(why, why_cap, CROW_EMANIFEST,
                        "a single-file release must hold one file named like it");
    int ret = check_tree_extras(m, why, why_cap);
    if (ret)
        return ret;
    uint64_t total = 0;
    for (uint32_t i = 0; i < m->file_count; i++) {
        crow_manifest_file_t *f = &m->files[i];
        if (!f->path || crow_manifest_check_path(f->path, strlen(f->path)))
            return crow_why(why, why_cap, CROW_EPATH, "file %u: unsafe path \"%s\"", i,
                            f->path ? printable(f->path, strlen(f->path), shown) : "");
        /* Bencode integers are signed 64-bit: the sum must stay encodable. */
        if (f->length > (uint64_t)INT64_MAX - total)
            return crow_why(why, why_cap, CROW_ELIMIT, "file lengths add up to more than 2^63-1 bytes");
        f->offset = total;
        total += f->length;
    }
    if (total == 0)
        return crow_why(why, why_cap, CROW_EMANIFEST, "the release holds no data (every file is empty)");
    uint64_t pieces = (total - 1) / m->piece_length + 1;
    if (pieces > UINT32_MAX)
        return crow_why(why, why_cap, CROW_ELIMIT, "%llu pieces exceed 2^32-1", (unsigned long long)pieces);
    m->total_length = total;
    m->piece_count = (uint32_t)pieces;
    return m->single_file ? 0 : check_unique_paths(m, why, why_cap);
}

/* ---- parsing ---- */

static char *copy_string(const uint8_t *s, size_t len)
{
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

/* Joins the path components of a bencoded list with '/' into out (CROW_MAX_PATH + 1 bytes);
 * `what` names the list in errors ("file 3", "file 3's symlink path"). */
static int join_path(const crow_bencode_doc_t *doc, uint32_t list, const char *what, char *out, char *why,
                     size_t why_cap)
{
    const crow_bencode_node_t *l = &doc->nodes[list];
    if (l->type != CROW_BENCODE_LIST || l->count == 0)
        return crow_why(why, why_cap, CROW_EMANIFEST, "%s: path is not a non-empty list", what);
    size_t len = 0;
    uint32_t c = crow_bencode_first_child(doc, list);
    for (uint32_t k = 0; k < l->count; k++, c = doc->nodes[c].next) {
        const crow_bencode_node_t *comp = &doc->nodes[c];
        if (comp->type != CROW_BENCODE_STR)
            return crow_why(why, why_cap, CROW_EMANIFEST, "%s: path component %u is not a string", what, k);
        /* A '/' inside a component would silently add a directory level once joined. */
        if (comp->len == 0 || memchr(comp->str, '/', comp->len))
            return crow_why(why, why_cap, CROW_EPATH, "%s: path component %u is empty or holds '/'", what, k);
        size_t need = len + (k ? 1 : 0) + comp->len;
        if (need > CROW_MAX_PATH)
            return crow_why(why, why_cap, CROW_EPATH, "%s: path longer than %u bytes", what, CROW_MAX_PATH);
        if (k)
            out[len++] = '/';
        memcpy(out + len, comp->str, comp->len);
        len = need;
    }
    out[len] = '\0';
    if (crow_manifest_check_path(out, len)) {
        char shown[64];
        return crow_why(why, why_cap, CROW_EPATH, "%s: unsafe path \"%s\"", what, printable(out, len, shown));
    }
    return 0;
}

/* BEP 47 "attr": a string of letters, unknown ones ignored (as the BEP asks). Sets *attr and
 * *link; refuses letters that contradict each other. */
static int read_attr(const crow_bencode_doc_t *doc, uint32_t dict, const char *what, uint32_t *attr,
                     bool *link, char *why, size_t why_cap)
{
    *attr = 0;
    *link = false;
    uint32_t a = crow_bencode_dict_get(doc, dict, "attr");
    if (!a)
        return 0;
    const crow_bencode_node_t *n = &doc->nodes[a];
    if (n->type != CROW_BENCODE_STR || n->len > 16)
        return crow_why(why, why_cap, CROW_EMANIFEST, "%s: attr is not a string of at most 16 letters", what);
    for (size_t i = 0; i < n->len; i++) {
        if (n->str[i] == 'x')
            *attr |= CROW_ATTR_EXEC;
        else if (n->str[i] == 'p')
            *attr |= CROW_ATTR_PAD;
        else if (n->str[i] == 'l')
            *link = true;
    }
    if ((*link && *attr) || *attr == (CROW_ATTR_EXEC | CROW_ATTR_PAD))
        return crow_why(why, why_cap, CROW_EMANIFEST,
                        "%s: attr combines a symlink, padding or executable that exclude each other", what);
    return 0;
}

/* One entry of info.files: a file (into m->files) or, with attr "l", a symlink (into m->links). */
static int read_entry(const crow_bencode_doc_t *doc, uint32_t e, uint32_t i, crow_manifest_t *m, char *why,
                      size_t why_cap)
{
    char what[48], path[CROW_MAX_PATH + 1], target[CROW_MAX_PATH + 1];
    snprintf(what, sizeof what, "file %u", i);
    int64_t length;
    if (doc->nodes[e].type != CROW_BENCODE_DICT)
        return crow_why(why, why_cap, CROW_EMANIFEST, "file %u is not a dictionary", i);
    if (!crow_bencode_dict_int(doc, e, "length", &length) || length < 0)
        return crow_why(why, why_cap, CROW_EMANIFEST, "file %u: length missing or negative", i);
    uint32_t p = crow_bencode_dict_get(doc, e, "path");
    if (!p)
        return crow_why(why, why_cap, CROW_EMANIFEST, "file %u: path missing", i);
    uint32_t attr, sp = crow_bencode_dict_get(doc, e, "symlink path");
    bool link;
    int ret = join_path(doc, p, what, path, why, why_cap);
    if (ret || (ret = read_attr(doc, e, what, &attr, &link, why, why_cap)))
        return ret;
    if (link != (sp != 0) || (link && length != 0))
        return crow_why(why, why_cap, CROW_EMANIFEST,
                        "file %u: a symlink needs attr \"l\", length 0 and a symlink path, and only it", i);
    if (!link) {
        crow_manifest_file_t *f = &m->files[m->file_count];
        f->length = (uint64_t)length;
        f->attr = attr;
        if (!(f->path = strdup(path)))
            return -ENOMEM;
        m->file_count++;
        return 0;
    }
    snprintf(what, sizeof what, "file %u's symlink path", i);
    if ((ret = join_path(doc, sp, what, target, why, why_cap)))
        return ret;
    crow_manifest_link_t *l = &m->links[m->link_count];
    if (!(l->path = strdup(path)) || !(l->target = strdup(target))) {
        free(l->path);
        return -ENOMEM;
    }
    m->link_count++;
    return 0;
}

static int read_files(const crow_bencode_doc_t *doc, uint32_t list, crow_manifest_t *m, char *why,
                      size_t why_cap)
{
    const crow_bencode_node_t *l = &doc->nodes[list];
    if (l->type != CROW_BENCODE_LIST || l->count == 0)
        return crow_why(why, why_cap, CROW_EMANIFEST, "info.files is not a non-empty list");
    if (l->count > CROW_MAX_FILES)
        return crow_why(why, why_cap, CROW_ELIMIT, "%u files exceed the limit of %u", l->count,
                        CROW_MAX_FILES);
    /* Either array may end up holding every entry; both stay within CROW_MAX_FILES entries. */
    m->files = calloc(l->count, sizeof *m->files);
    m->links = calloc(l->count, sizeof *m->links);
    if (!m->files || !m->links)
        return -ENOMEM;
    uint32_t e = crow_bencode_first_child(doc, list);
    for (uint32_t i = 0; i < l->count; i++, e = doc->nodes[e].next) {
        int ret = read_entry(doc, e, i, m, why, why_cap);
        if (ret)
            return ret;
    }
    return 0;
}

/* info.crowcast's "empty directories": a list of paths. */
static int read_dirs(const crow_bencode_doc_t *doc, uint32_t list, crow_manifest_t *m, char *why,
                     size_t why_cap)
{
    const crow_bencode_node_t *l = &doc->nodes[list];
    if (l->type != CROW_BENCODE_LIST || l->count == 0)
        return crow_why(why, why_cap, CROW_EMANIFEST,
                        "info.crowcast.empty directories is not a non-empty list");
    if (l->count > CROW_MAX_FILES)
        return crow_why(why, why_cap, CROW_ELIMIT, "%u empty directories exceed the limit of %u", l->count,
                        CROW_MAX_FILES);
    if (!(m->dirs = calloc(l->count, sizeof *m->dirs)))
        return -ENOMEM;
    char path[CROW_MAX_PATH + 1], what[48];
    uint32_t e = crow_bencode_first_child(doc, list);
    for (uint32_t i = 0; i < l->count; i++, e = doc->nodes[e].next) {
        snprintf(what, sizeof what, "empty directory %u", i);
        int ret = join_path(doc, e, what, path, why, why_cap);
        if (ret)
            return ret;
        if (!(m->dirs[i] = strdup(path)))
            return -ENOMEM;
        m->dir_count++;
    }
    return 0;
}

/* info.crowcast's chunk size and empty directories; the version is checked once the rest is read
 * (it follows from what the release holds). */
static int read_crowcast(const crow_bencode_doc_t *doc, uint32_t info, crow_manifest_t *m, char *why,
                         size_t why_cap)
{
    uint32_t cc = crow_bencode_dict_get(doc, info, "crowcast");
    if (!cc || doc->nodes[cc].type != CROW_BENCODE_DICT)
        return crow_why(why, why_cap, CROW_EMANIFEST,
                        "info.crowcast dictionary missing (not made by crowcast?)");
    int64_t chunk;
    if (!crow_bencode_dict_int(doc, cc, "chunk size", &chunk) || chunk < CROW_MIN_CHUNK_SIZE ||
        chunk > CROW_MAX_CHUNK_SIZE)
        return crow_why(why, why_cap, CROW_EMANIFEST, "info.crowcast.chunk size missing or outside %u..%u",
                        CROW_MIN_CHUNK_SIZE, CROW_MAX_CHUNK_SIZE);
    m->chunk_size = (uint32_t)chunk;
    uint32_t dirs = crow_bencode_dict_get(doc, cc, "empty directories");
    if (dirs && m->single_file)
        return crow_why(why, why_cap, CROW_EMANIFEST, "a single-file release lists empty directories");
    return dirs ? read_dirs(doc, dirs, m, why, why_cap) : 0;
}

/* The version a reader of m needs: 2 once m has anything BitTorrent v1 cannot say. */
static int64_t version_of(const crow_manifest_t *m)
{
    return crow_manifest_has_attributes(m) ? 2 : 1;
}

static int check_version(const crow_bencode_doc_t *doc, uint32_t info, const crow_manifest_t *m, char *why,
                         size_t why_cap)
{
    int64_t version;
    if (!crow_bencode_dict_int(doc, crow_bencode_dict_get(doc, info, "crowcast"), "version", &version) ||
        version < 1 || version > CROW_MANIFEST_VERSION)
        return crow_why(why, why_cap, CROW_EMANIFEST,
                        "info.crowcast.version missing or not 1..%d (made by a newer crowcast?)",
                        CROW_MANIFEST_VERSION);
    if (version != version_of(m))
        return crow_why(why, why_cap, CROW_EMANIFEST,
                        "info.crowcast.version is %lld, but a release %s is %lld", (long long)version,
                        version == 1 ? "with attributes" : "without attributes", (long long)version_of(m));
    return 0;
}

bool crow_manifest_has_attributes(const crow_manifest_t *m)
{
    if (m->link_count || m->dir_count)
        return true;
    for (uint32_t i = 0; i < m->file_count; i++)
        if (m->files[i].attr)
            return true;
    return false;
}

/* Copies a concatenation of per-piece hashes after checking its length against the piece count. */
static int read_hashes(const crow_bencode_doc_t *doc, uint32_t dict, const char *key, size_t each,
                       uint32_t count, uint8_t **out, char *why, size_t why_cap)
{
    const uint8_t *s;
    size_t len;
    if (!crow_bencode_dict_str(doc, dict, key, &s, &len))
        return crow_why(why, why_cap, CROW_EMANIFEST, "%s missing or not a string", key);
    if (len != (uint64_t)each * count)
        return crow_why(why, why_cap, CROW_EMANIFEST, "%s holds %zu bytes, %u pieces need %llu", key, len,
                        count, (unsigned long long)each * count);
    if (!(*out = malloc(len)))
        return -ENOMEM;
    memcpy(*out, s, len);
    return 0;
}

/* BEP 12 announce-list: a list of tiers, each a list of URL strings. An empty tier is dropped
 * (it names nobody); anything else that is not a URL string is an error, as everywhere here. */
static int read_announce_list(const crow_bencode_doc_t *doc, uint32_t list, crow_manifest_t *m, char *why,
                              size_t why_cap)
{
    const crow_bencode_node_t *l = &doc->nodes[list];
    if (l->type != CROW_BENCODE_LIST)
        return crow_why(why, why_cap, CROW_EMANIFEST, "announce-list is not a list of tiers");
    uint32_t total = 0;
    uint32_t t = crow_bencode_first_child(doc, list);
    for (uint32_t i = 0; i < l->count; i++, t = doc->nodes[t].next) {
        if (doc->nodes[t].type != CROW_BENCODE_LIST)
            return crow_why(why, why_cap, CROW_EMANIFEST, "announce-list tier %u is not a list of URLs",
                            i + 1);
        total += doc->nodes[t].count;
        if (total > CROW_MANIFEST_MAX_TRACKERS)
            return crow_why(why, why_cap, CROW_ELIMIT, "announce-list holds more than %u URLs",
                            CROW_MANIFEST_MAX_TRACKERS);
    }
    if (total == 0)
        return 0;
    if (!(m->trackers = calloc(total, sizeof *m->trackers)))
        return -ENOMEM;
    uint32_t tier = 0;
    t = crow_bencode_first_child(doc, list);
    for (uint32_t i = 0; i < l->count; i++, t = doc->nodes[t].next) {
        uint32_t u = crow_bencode_first_child(doc, t);
        for (uint32_t k = 0; k < doc->nodes[t].count; k++, u = doc->nodes[u].next) {
            const crow_bencode_node_t *n = &doc->nodes[u];
            if (n->type != CROW_BENCODE_STR || n->len == 0 || n->len > CROW_MAX_PATH ||
                memchr(n->str, '\0', n->len))
                return crow_why(why, why_cap, CROW_EMANIFEST,
                                "announce-list tier %u: entry %u is not a URL string", i + 1, k + 1);
            crow_manifest_tracker_t *e = &m->trackers[m->tracker_count];
            if (!(e->url = copy_string(n->str, n->len)))
                return -ENOMEM;
            e->tier = tier;
            m->tracker_count++;
        }
        if (doc->nodes[t].count)
            tier++;
    }
    return 0;
}

/* The top-level "crowcast signatures" list: shape only (what a signature proves is release_sig.c's
 * to say). A key listed twice is refused, so no reader can be shown one entry and another reader
 * a second one for the same signer. */
static int read_signatures(const crow_bencode_doc_t *doc, uint32_t list, crow_manifest_t *m, char *why,
                           size_t why_cap)
{
    const crow_bencode_node_t *l = &doc->nodes[list];
    if (l->type != CROW_BENCODE_LIST || l->count == 0)
        return crow_why(why, why_cap, CROW_EMANIFEST, "crowcast signatures is not a non-empty list");
    if (l->count > CROW_MANIFEST_MAX_SIGNATURES)
        return crow_why(why, why_cap, CROW_ELIMIT, "%u crowcast signatures exceed the limit of %u", l->count,
                        CROW_MANIFEST_MAX_SIGNATURES);
    uint32_t e = crow_bencode_first_child(doc, list);
    for (uint32_t i = 0; i < l->count; i++, e = doc->nodes[e].next) {
        const uint8_t *key, *sig;
        size_t key_len, sig_len;
        if (doc->nodes[e].type != CROW_BENCODE_DICT ||
            !crow_bencode_dict_str(doc, e, "public key", &key, &key_len) ||
            !crow_bencode_dict_str(doc, e, "signature", &sig, &sig_len))
            return crow_why(why, why_cap, CROW_EMANIFEST,
                            "crowcast signature %u is not a dictionary of \"public key\" and \"signature\"",
                            i + 1);
        if (key_len != CROW_ED25519_PUBLIC_LEN || sig_len != CROW_ED25519_SIGNATURE_LEN)
            return crow_why(
                why, why_cap, CROW_EMANIFEST,
                "crowcast signature %u: a %zu-byte key and a %zu-byte signature (Ed25519 wants %u and %u)",
                i + 1, key_len, sig_len, CROW_ED25519_PUBLIC_LEN, CROW_ED25519_SIGNATURE_LEN);
        for (uint32_t k = 0; k < m->signature_count; k++)
            if (memcmp(m->signatures[k].public_key, key, key_len) == 0)
                return crow_why(why, why_cap, CROW_EMANIFEST,
                                "crowcast signatures %u and %u are by the same key", k + 1, i + 1);
        crow_manifest_signature_t *s = &m->signatures[m->signature_count++];
        memcpy(s->public_key, key, key_len);
        memcpy(s->signature, sig, sig_len);
    }
    return 0;
}

static int read_manifest(const crow_bencode_doc_t *doc, const uint8_t *buf, crow_manifest_t *m, char *why,
                         size_t why_cap)
{
    if (doc->nodes[0].type != CROW_BENCODE_DICT)
        return crow_why(why, why_cap, CROW_EMANIFEST, "the top level is not a dictionary");
    uint32_t a = crow_bencode_dict_get(doc, 0, "announce");
    if (a) {
        const crow_bencode_node_t *n = &doc->nodes[a];
        if (n->type != CROW_BENCODE_STR || n->len > CROW_MAX_PATH || memchr(n->str, '\0', n->len))
            return crow_why(why, why_cap, CROW_EMANIFEST, "announce is not a URL string");
        if (!(m->announce = copy_string(n->str, n->len)))
            return -ENOMEM;
    }
    uint32_t al = crow_bencode_dict_get(doc, 0, "announce-list");
    int ret;
    if (al && (ret = read_announce_list(doc, al, m, why, why_cap)))
        return ret;
    uint32_t sigs = crow_bencode_dict_get(doc, 0, "crowcast signatures");
    if (sigs && (ret = read_signatures(doc, sigs, m, why, why_cap)))
        return ret;
    uint32_t info = crow_bencode_dict_get(doc, 0, "info");
    if (!info || doc->nodes[info].type != CROW_BENCODE_DICT)
        return crow_why(why, why_cap, CROW_EMANIFEST, "info dictionary missing");
    const crow_bencode_node_t *in = &doc->nodes[info];
    crow_sha256(buf + in->start, in->end - in->start, m->release_id);
    crow_sha1(buf + in->start, in->end - in->start, m->info_hash);

    const uint8_t *name;
    size_t name_len;
    if (!crow_bencode_dict_str(doc, info, "name", &name, &name_len))
        return crow_why(why, why_cap, CROW_EMANIFEST, "info.name missing or not a string");
    if (!(m->name = copy_string(name, name_len)))
        return -ENOMEM;
    if (strlen(m->name) != name_len)
        return crow_why(why, why_cap, CROW_EPATH, "info.name holds a NUL byte");
    int64_t piece_length;
    if (!crow_bencode_dict_int(doc, info, "piece length", &piece_length) || piece_length <= 0 ||
        piece_length > CROW_MAX_PIECE_LENGTH)
        return crow_why(why, why_cap, CROW_EMANIFEST, "info.piece length missing or outside 1..%u",
                        CROW_MAX_PIECE_LENGTH);
    m->piece_length = (uint32_t)piece_length;

    uint32_t files = crow_bencode_dict_get(doc, info, "files");
    int64_t length;
    bool has_length = crow_bencode_dict_get(doc, info, "length") != 0;
    if (files && has_length)
        return crow_why(why, why_cap, CROW_EMANIFEST, "info has both length and files");
    if (files && crow_bencode_dict_get(doc, info, "attr"))
        return crow_why(why, why_cap, CROW_EMANIFEST, "info.attr belongs to single-file releases");
    if (files) {
        if ((ret = read_files(doc, files, m, why, why_cap)))
            return ret;
    } else {
        if (!crow_bencode_dict_int(doc, info, "length", &length) || length < 0)
            return crow_why(why, why_cap, CROW_EMANIFEST, "info.length missing or negative (and no files)");
        m->single_file = true;
        if (!(m->files = calloc(1, sizeof *m->files)) || !(m->files[0].path = strdup(m->name)))
            return -ENOMEM;
        m->file_count = 1;
        m->files[0].length = (uint64_t)length;
        bool link;
        if ((ret = read_attr(doc, info, "info", &m->files[0].attr, &link, why, why_cap)))
            return ret;
        if (link || m->files[0].attr & CROW_ATTR_PAD)
            return crow_why(why, why_cap, CROW_EMANIFEST, "a single-file release can only be executable");
    }
    if ((ret = read_crowcast(doc, info, m, why, why_cap)) || (ret = crow_manifest_layout(m, why, why_cap)) ||
        (ret = check_version(doc, info, m, why, why_cap)))
        return ret;
    if ((ret = read_hashes(doc, info, "pieces", CROW_SHA1_LEN, m->piece_count, &m->sha1, why, why_cap)))
        return ret;
    return read_hashes(doc, crow_bencode_dict_get(doc, info, "crowcast"), "sha256", CROW_SHA256_LEN,
                       m->piece_count, &m->sha256, why, why_cap);
}

int crow_manifest_parse(const uint8_t *buf, size_t len, crow_manifest_t *m, char *why, size_t why_cap)
{
    memset(m, 0, sizeof *m);
    if (why_cap)
        why[0] = '\0';
    /* Every bencode value takes at least two bytes ("le", "0:"), so len/2+1 nodes always suffice. */
    size_t want = len / 2 + 1;
    uint32_t cap = want > CROW_MANIFEST_MAX_NODES ? CROW_MANIFEST_MAX_NODES : (uint32_t)want;
    crow_bencode_node_t *nodes = malloc(cap * sizeof *nodes);
    if (!nodes)
        return -ENOMEM;
    crow_bencode_doc_t doc;
    crow_bencode_error_t err = {0};
    int ret = crow_bencode_decode(buf, len, nodes, cap, &doc, &err);
    if (ret)
        ret = crow_why(why, why_cap, ret, "bencode: %s at byte %zu", err.why, err.pos);
    else
        ret = read_manifest(&doc, buf, m, why, why_cap);
    free(nodes);
    if (ret) {
        if (ret == -ENOMEM)
            crow_why(why, why_cap, ret, "out of memory");
        crow_manifest_dispose(m);
    }
    return ret;
}

int crow_manifest_load(const char *path, crow_manifest_t *m, char *why, size_t why_cap)
{
    memset(m, 0, sizeof *m);
    uint8_t *buf = NULL;
    int ret;
    /* O_NONBLOCK: opening a FIFO would wait for a writer; it is refused below as not a regular file
     * (on a regular file the flag changes nothing). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return crow_why(why, why_cap, -errno, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        ret = crow_why(why, why_cap, -errno, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = crow_why(why, why_cap, CROW_EMANIFEST, "%s is not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > CROW_MANIFEST_MAX_BYTES) {
        ret =
            crow_why(why, why_cap, CROW_ELIMIT, "%s is larger than %u bytes", path, CROW_MANIFEST_MAX_BYTES);
        goto out;
    }
    size_t size = (size_t)st.st_size, got = 0;
    if (!(buf = malloc(size ? size : 1))) {
        ret = crow_why(why, why_cap, -ENOMEM, "out of memory");
        goto out;
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = crow_why(why, why_cap, n < 0 ? -errno : CROW_EPARSE, "cannot read %s: %s", path,
                           n < 0 ? strerror(errno) : "file shrank while reading");
            goto out;
        }
        got += (size_t)n;
    }
    ret = crow_manifest_parse(buf, size, m, why, why_cap);
out:
    free(buf);
    close(fd);
    return ret;
}

static void drop_trackers(crow_manifest_t *m)
{
    for (uint32_t i = 0; m->trackers && i < m->tracker_count; i++)
        free(m->trackers[i].url);
    free(m->trackers);
    free(m->announce);
    m->trackers = NULL;
    m->tracker_count = 0;
    m->announce = NULL;
}

void crow_manifest_dispose(crow_manifest_t *m)
{
    for (uint32_t i = 0; m->files && i < m->file_count; i++)
        free(m->files[i].path);
    free(m->files);
    for (uint32_t i = 0; m->links && i < m->link_count; i++) {
        free(m->links[i].path);
        free(m->links[i].target);
    }
    free(m->links);
    for (uint32_t i = 0; m->dirs && i < m->dir_count; i++)
        free(m->dirs[i]);
    free(m->dirs);
    free(m->name);
    drop_trackers(m);
    free(m->sha1);
    free(m->sha256);
    memset(m, 0, sizeof *m);
}

/* ---- trackers of a manifest being built ---- */

int crow_manifest_set_trackers(crow_manifest_t *m, const char *const *tiers, uint32_t count, char *why,
                               size_t why_cap)
{
    drop_trackers(m);
    uint32_t urls = 0;
    for (uint32_t t = 0; t < count; t++)
        for (const char *p = tiers[t]; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
            urls++;
    if (urls == 0)
        return 0;
    if (urls > CROW_MANIFEST_MAX_TRACKERS)
        return crow_why(why, why_cap, CROW_ELIMIT, "%u tracker URLs exceed the limit of %u", urls,
                        CROW_MANIFEST_MAX_TRACKERS);
    if (!(m->trackers = calloc(urls, sizeof *m->trackers)))
        return crow_why(why, why_cap, -ENOMEM, "out of memory");
    for (uint32_t t = 0; t < count; t++) {
        for (const char *p = tiers[t];;) {
            size_t n = strcspn(p, ",");
            char shown[64];
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f) {
                    int ret =
                        crow_why(why, why_cap, CROW_EMANIFEST,
                                 "tracker URL \"%s\" holds a space or control byte", printable(p, n, shown));
                    drop_trackers(m);
                    return ret;
                }
            if (n == 0 || n > CROW_MAX_PATH) {
                int ret = crow_why(why, why_cap, CROW_EMANIFEST, "tier %u: an empty or overlong tracker URL",
                                   t + 1);
                drop_trackers(m);
                return ret;
            }
            crow_manifest_tracker_t *e = &m->trackers[m->tracker_count];
            if (!(e->url = copy_string((const uint8_t *)p, n))) {
                drop_trackers(m);
                return crow_why(why, why_cap, -ENOMEM, "out of memory");
            }
            e->tier = t;
            m->tracker_count++;
            if (p[n] != ',')
                break;
            p += n + 1;
        }
    }
    if (!(m->announce = strdup(m->trackers[0].url))) {
        drop_trackers(m);
        return crow_why(why, why_cap, -ENOMEM, "out of memory");
    }
    if (m->tracker_count == 1) { /* announce says it all */
        free(m->trackers[0].url);
        free(m->trackers);
        m->trackers = NULL;
        m->tracker_count = 0;
    }
    return 0;
}

/* ---- encoding ---- */

static void encode_path(crow_bencode_writer_t *e, const char *path)
{
    crow_bencode_open_list(e);
    for (const char *p = path;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        crow_bencode_put_str(e, p, n);
        if (!slash)
            break;
        p = slash + 1;
    }
    crow_bencode_close(e);
}

static void encode_attr(crow_bencode_writer_t *e, uint32_t attr)
{
    if (!attr)
        return;
    crow_bencode_put_key(e, "attr");
    crow_bencode_put_cstr(e, attr & CROW_ATTR_PAD ? "p" : "x");
}

/* info.files: the files in order, then the symlinks (BEP 47: zero-length entries with attr "l"). */
static void encode_files(const crow_manifest_t *m, crow_bencode_writer_t *e)
{
    crow_bencode_put_key(e, "files");
    crow_bencode_open_list(e);
    for (uint32_t i = 0; i < m->file_count; i++) {
        crow_bencode_open_dict(e);
        encode_attr(e, m->files[i].attr);
        crow_bencode_put_key(e, "length");
        crow_bencode_put_int(e, (int64_t)m->files[i].length);
        crow_bencode_put_key(e, "path");
        encode_path(e, m->files[i].path);
        crow_bencode_close(e);
    }
    for (uint32_t i = 0; i < m->link_count; i++) {
        crow_bencode_open_dict(e);
        crow_bencode_put_key(e, "attr");
        crow_bencode_put_cstr(e, "l");
        crow_bencode_put_key(e, "length");
        crow_bencode_put_int(e, 0);
        crow_bencode_put_key(e, "path");
        encode_path(e, m->links[i].path);
        crow_bencode_put_key(e, "symlink path");
        encode_path(e, m->links[i].target);
        crow_bencode_close(e);
    }
    crow_bencode_close(e);
}

/* Keys go in byte order, as canonical bencode requires: the encoder rejects any other order. */
static long encode(const crow_manifest_t *m, crow_bencode_writer_t *e)
{
    if (!m->sha1 || !m->sha256 || m->piece_count == 0)
        return CROW_EMANIFEST;
    crow_bencode_open_dict(e);
    if (m->announce) {
        crow_bencode_put_key(e, "announce");
        crow_bencode_put_cstr(e, m->announce);
    }
    if (m->tracker_count) {
        crow_bencode_put_key(e, "announce-list");
        crow_bencode_open_list(e);
        for (uint32_t i = 0; i < m->tracker_count; i++) {
            if (i == 0 || m->trackers[i].tier != m->trackers[i - 1].tier) {
                if (i)
                    crow_bencode_close(e);
                crow_bencode_open_list(e);
            }
            crow_bencode_put_cstr(e, m->trackers[i].url);
        }
        crow_bencode_close(e);
        crow_bencode_close(e);
    }
    if (m->signature_count) {
        crow_bencode_put_key(e, "crowcast signatures");
        crow_bencode_open_list(e);
        for (uint32_t i = 0; i < m->signature_count && i < CROW_MANIFEST_MAX_SIGNATURES; i++) {
            crow_bencode_open_dict(e);
            crow_bencode_put_key(e, "public key");
            crow_bencode_put_str(e, m->signatures[i].public_key, CROW_ED25519_PUBLIC_LEN);
            crow_bencode_put_key(e, "signature");
            crow_bencode_put_str(e, m->signatures[i].signature, CROW_ED25519_SIGNATURE_LEN);
            crow_bencode_close(e);
        }
        crow_bencode_close(e);
    }
    crow_bencode_put_key(e, "info");
    crow_bencode_open_dict(e);
    if (m->single_file)
        encode_attr(e, m->files[0].attr);
    crow_bencode_put_key(e, "crowcast");
    crow_bencode_open_dict(e);
    crow_bencode_put_key(e, "chunk size");
    crow_bencode_put_int(e, m->chunk_size);
    if (m->dir_count) {
        crow_bencode_put_key(e, "empty directories");
        crow_bencode_open_list(e);
        for (uint32_t i = 0; i < m->dir_count; i++)
            encode_path(e, m->dirs[i]);
        crow_bencode_close(e);
    }
    crow_bencode_put_key(e, "sha256");
    crow_bencode_put_str(e, m->sha256, (size_t)m->piece_count * CROW_SHA256_LEN);
    crow_bencode_put_key(e, "version");
    crow_bencode_put_int(e, version_of(m));
    crow_bencode_close(e);
    if (m->single_file) {
        crow_bencode_put_key(e, "length");
        crow_bencode_put_int(e, (int64_t)m->total_length);
    } else {
        encode_files(m, e);
    }
    crow_bencode_put_key(e, "name");
    crow_bencode_put_cstr(e, m->name);
    crow_bencode_put_key(e, "piece length");
    crow_bencode_put_int(e, m->piece_length);
    crow_bencode_put_key(e, "pieces");
    crow_bencode_put_str(e, m->sha1, (size_t)m->piece_count * CROW_SHA1_LEN);
    crow_bencode_close(e);
    crow_bencode_close(e);
    return crow_bencode_finish(e);
}

long crow_manifest_encode(const crow_manifest_t *m, uint8_t *buf, size_t cap)
{
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, buf, cap);
    return encode(m, &e);
}

size_t crow_manifest_encoded_size(const crow_manifest_t *m)
{
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, NULL, 0);
    encode(m, &e);
    return e.len;
}

/* ---- piece and chunk arithmetic ---- */

uint32_t crow_manifest_piece_size(const crow_manifest_t *m, uint32_t piece)
{
    if (piece >= m->piece_count)
        return 0;
    uint64_t start = (uint64_t)piece * m->piece_length;
    uint64_t left = m->total_length - start;
    return left < m->piece_length ? (uint32_t)left : m->piece_length;
}

uint32_t crow_manifest_piece_chunks(const crow_manifest_t *m, uint32_t piece)
{
    uint32_t size = crow_manifest_piece_size(m, piece);
    return m->chunk_size ? (uint32_t)(((uint64_t)size + m->chunk_size - 1) / m->chunk_size) : 0;
}

uint64_t crow_manifest_total_chunks(const crow_manifest_t *m)
{
    if (m->piece_count == 0)
        return 0;
    uint64_t full = crow_manifest_piece_chunks(m, 0);
    return full * (m->piece_count - 1) + crow_manifest_piece_chunks(m, m->piece_count - 1);
}
