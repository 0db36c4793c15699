/* `crowcast inspect`: prints what a manifest describes, as text or as one JSON object. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/json.h"
#include "crowcast/manifest.h"
#include "crowcast/release_sig.h"
#include "crowcast/units.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: crowcast inspect X.torrent [--json] [--trust KEYS]\n\n"
                 "Prints the release a manifest describes: name, size, piece length and count, chunk\n"
                 "size, files, release_id (SHA-256 of the bencoded info), info_hash (SHA-1 of it,\n"
                 "the BitTorrent v1 id) and its signatures: each signer's key id, and whether the\n"
                 "signature is valid for this release.\n\n"
                 "  --json      one JSON object: name, length, piece_length, pieces, chunk_size,\n"
                 "              files (each path, length, offset, executable, padding), symlinks\n"
                 "              (each path and target, relative to the release root),\n"
                 "              empty_directories (paths), release_id, info_hash, announce\n"
                 "              (null when absent), announce_list (BEP 12 tiers, a list of lists\n"
                 "              of URLs; null when absent), single_file. Bytes of names that are not\n"
                 "              valid UTF-8 appear as U+FFFD. signatures: a list of {key_id, valid,\n"
                 "              trusted (null without --trust)}; trusted: whether get --trust KEYS\n"
                 "              would accept the release (null without --trust).\n"
                 "  --trust KEYS  also say whether each signer is among KEYS (a public key file, or a\n"
                 "              directory of *.pub files, as get and agent take it) and whether the\n"
                 "              release is acceptable to a host that trusts them\n"
                 "  -h, --help  this text\n\n"
                 "Exit status: 0 ok, 2 bad usage or an invalid manifest (the reason is printed),\n"
                 "3 the file cannot be read, 5 with --trust: the release is not signed by a trusted\n"
                 "key (the reason is printed).\n");
}

/* What --trust decided: *verdict says why when the release is not acceptable (empty when it is). */
struct trust_view {
    const crow_keyring_t *trust; /* NULL without --trust */
    bool accepted;
    char verdict[256];
};

/* Signature i of m: who made it, whether it is valid for this release, whether --trust lists its key. */
struct signer {
    char key_id[CROW_KEY_ID_HEX + 1];
    bool valid, trusted;
};

static struct signer signer_view(const crow_manifest_t *m, uint32_t i, const struct trust_view *t)
{
    struct signer v = {.valid = crow_release_signature_valid(m, i),
                       .trusted = t->trust && crow_keyring_has(t->trust, m->signatures[i].public_key)};
    crow_key_id(m->signatures[i].public_key, v.key_id);
    return v;
}

static void print_json(const crow_manifest_t *m, const char *id, const char *ih, const struct trust_view *t)
{
    printf("{\"name\":");
    crow_json_fput(stdout, m->name);
    printf(",\"length\":%llu,\"piece_length\":%u,\"pieces\":%u,\"chunk_size\":%u,\"single_file\":%s,"
           "\"announce\":",
           (unsigned long long)m->total_length, m->piece_length, m->piece_count, m->chunk_size,
           m->single_file ? "true" : "false");
    if (m->announce)
        crow_json_fput(stdout, m->announce);
    else
        printf("null");
    printf(",\"announce_list\":");
    if (!m->tracker_count)
        printf("null");
    for (uint32_t i = 0; i < m->tracker_count; i++) {
        bool first_of_tier = i == 0 || m->trackers[i].tier != m->trackers[i - 1].tier;
        fputs(i == 0 ? "[[" : first_of_tier ? "],[" : ",", stdout);
        crow_json_fput(stdout, m->trackers[i].url);
    }
    if (m->tracker_count)
        printf("]]");
    printf(",\"files\":[");
    for (uint32_t i = 0; i < m->file_count; i++) {
        printf("%s{\"path\":", i ? "," : "");
        crow_json_fput(stdout, m->files[i].path);
        printf(",\"length\":%llu,\"offset\":%llu,\"executable\":%s,\"padding\":%s}",
               (unsigned long long)m->files[i].length, (unsigned long long)m->files[i].offset,
               m->files[i].attr & CROW_ATTR_EXEC ? "true" : "false",
               m->files[i].attr & CROW_ATTR_PAD ? "true" : "false");
    }
    printf("],\"symlinks\":[");
    for (uint32_t i = 0; i < m->link_count; i++) {
        printf("%s{\"path\":", i ? "," : "");
        crow_json_fput(stdout, m->links[i].path);
        printf(",\"target\":");
        crow_json_fput(stdout, m->links[i].target);
        printf("}");
    }
    printf("],\"empty_directories\":[");
    for (uint32_t i = 0; i < m->dir_count; i++) {
        printf("%s", i ? "," : "");
        crow_json_fput(stdout, m->dirs[i]);
    }
    printf("],\"release_id\":\"%s\",\"info_hash\":\"%s\",\"signatures\":[", id, ih);
    for (uint32_t i = 0; i < m->signature_count; i++) {
        struct signer v = signer_view(m, i, t);
        printf("%s{\"key_id\":\"%s\",\"valid\":%s,\"trusted\":%s}", i ? "," : "", v.key_id,
               v.valid ? "true" : "false",
               !t->trust   ? "null"
               : v.trusted ? "true"
                           : "false");
    }
    printf("],\"trusted\":%s}\n", !t->trust ? "null" : t->accepted ? "true" : "false");
}

static void print_text(const crow_manifest_t *m, const char *id, const char *ih, const struct trust_view *t)
{
    char size[32], piece[32];
    printf("name:         %s\n", m->name);
    printf("size:         %s (%llu bytes)\n", crow_format_size(m->total_length, size, sizeof size),
           (unsigned long long)m->total_length);
    printf("piece length: %s (%u bytes)\n", crow_format_size(m->piece_length, piece, sizeof piece),
           m->piece_length);
    printf("pieces:       %u\n", m->piece_count);
    printf("chunk size:   %u bytes (%llu chunks)\n", m->chunk_size,
           (unsigned long long)crow_manifest_total_chunks(m));
    printf("tracker:      %s\n", m->announce ? m->announce : "(none)");
    for (uint32_t i = 0; i < m->tracker_count; i++) {
        bool first_of_tier = i == 0 || m->trackers[i].tier != m->trackers[i - 1].tier;
        if (first_of_tier)
            printf("%s%u:", i == 0 ? "tiers:        " : "\n              ", m->trackers[i].tier + 1);
        printf(" %s", m->trackers[i].url);
    }
    if (m->tracker_count)
        printf("\n");
    printf("release_id:   %s\n", id);
    printf("info_hash:    %s\n", ih);
    if (m->signature_count == 0)
        printf("signed by:    (unsigned)\n");
    for (uint32_t i = 0; i < m->signature_count; i++) {
        struct signer v = signer_view(m, i, t);
        printf("%s key %s, %s%s\n", i ? "             " : "signed by:   ", v.key_id,
               v.valid ? "valid signature" : "INVALID signature",
               !t->trust   ? ""
               : v.trusted ? ", trusted"
                           : ", not trusted");
    }
    if (t->trust)
        printf("trust:        %s%s\n", t->accepted ? "accepted" : "REFUSED: ", t->verdict);
    printf("files:        %u%s\n", m->file_count, m->single_file ? " (single-file release)" : "");
    for (uint32_t i = 0; i < m->file_count; i++)
        printf("  %15llu  %s%s%s\n", (unsigned long long)m->files[i].length, m->files[i].path,
               m->files[i].attr & CROW_ATTR_EXEC ? "  (executable)" : "",
               m->files[i].attr & CROW_ATTR_PAD ? "  (padding)" : "");
    if (m->link_count)
        printf("symlinks:     %u (targets relative to the release root)\n", m->link_count);
    for (uint32_t i = 0; i < m->link_count; i++)
        printf("                   %s -> %s\n", m->links[i].path, m->links[i].target);
    if (m->dir_count)
        printf("empty dirs:   %u\n", m->dir_count);
    for (uint32_t i = 0; i < m->dir_count; i++)
        printf("                   %s/\n", m->dirs[i]);
}

int crow_cmd_inspect(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"trust", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    const char *trust_path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'j') {
            json = true;
        } else if (c == 't') {
            trust_path = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return CROW_EXIT_OK;
        } else {
            return crow_cli_usage_error("inspect", "unknown option");
        }
    }
    if (optind != argc - 1)
        return crow_cli_usage_error("inspect", "expects exactly one .torrent file");
    const char *path = argv[optind];
    static crow_keyring_t trust;
    struct trust_view t = {0};
    int ret;
    if (trust_path) {
        if ((ret = crow_cli_opt_trust("inspect", trust_path, &trust)))
            return ret;
        t.trust = &trust;
    }
    crow_manifest_t m;
    char why[256];
    ret = crow_manifest_load(path, &m, why, sizeof why);
    if (ret) {
        /* A file we could not read is a system error (-errno); anything we read and rejected is a
         * format error (a CROW_E* code). */
        bool system = ret > -4096; /* error.h: CROW_E* codes sit below -4096 */
        fprintf(stderr, "crowcast inspect: %s%s%s\n", system ? "" : path,
                system ? "" : ": invalid manifest: ", why);
        return system ? CROW_EXIT_IO : CROW_EXIT_USAGE;
    }
    char id[2 * CROW_SHA256_LEN + 1], ih[2 * CROW_SHA1_LEN + 1];
    crow_hex(m.release_id, CROW_SHA256_LEN, id);
    crow_hex(m.info_hash, CROW_SHA1_LEN, ih);
    if (t.trust)
        t.accepted = crow_release_verify(&m, t.trust, NULL, t.verdict, sizeof t.verdict) == 0;
    if (json)
        print_json(&m, id, ih, &t);
    else
        print_text(&m, id, ih, &t);
    crow_manifest_dispose(&m);
    if (t.trust && !t.accepted) {
        fprintf(stderr, "crowcast inspect: %s: not trusted: %s\n", path, t.verdict);
        return CROW_EXIT_UNTRUSTED;
    }
    return CROW_EXIT_OK;
}
