/* `crowcast make`: turns a file or a directory tree into a manifest (.torrent). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../app/common/http_client.h"
#include "commands.h"
#include "crowcast/clock.h"
#include "crowcast/datagram.h"
#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/manifest_file.h"
#include "crowcast/release_layout.h"
#include "crowcast/release_sig.h"
#include "crowcast/storage.h"
#include "crowcast/tree_scan.h"
#include "crowcast/units.h"

#define DEFAULT_MIN_PIECE    (256u * 1024)
#define DEFAULT_PIECE_TARGET 2048u  /* pieces a default piece length aims to stay under */
#define MIN_MTU              576u   /* the least an IPv4 link must carry */
#define MAX_MTU              65535u /* the largest IPv4 packet */
#define DEFAULT_MTU          1500u  /* --chunk-size auto without --mtu */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: crowcast make PATH -o OUT.torrent [--piece-size N] [--chunk-size N|auto] [--mtu N]\n"
            "                     [--tracker URL[,URL...]]... [--name NAME] [--threads N]\n"
            "                     [--sign KEY]... [--skip-special] [--align | --previous OLD.torrent]\n\n"
            "Hashes a file or a directory tree (SHA-1 per piece for BitTorrent clients, SHA-256 per\n"
            "piece for crowcast) and writes its manifest. The same input always gives the same bytes\n"
            "(no dates, files in a fixed order), hence the same release_id and info_hash.\n\n"
            "  -o, --output FILE    where to write the manifest (required; replaced atomically)\n"
            "  --piece-size N       bytes per piece, a power of two from 16K to 64M. Default: the\n"
            "                       smallest power of two from 256K up that keeps the release within\n"
            "                       %u pieces (64M pieces past 128 GiB); with --previous, OLD's\n"
            "  --chunk-size N       bytes per multicast datagram payload, %u..%u (default %u;\n"
            "                       with --previous, OLD's); auto: the largest that --mtu allows\n"
            "  --mtu N              the links' MTU, %u..%u (default %u; implies --chunk-size auto):\n"
            "                       the chunk size is the largest multiple of 8 whose datagram (IPv4\n"
            "                       20 + UDP 8 + header 32 + chunk + tag 16, so --mcast-key fits too)\n"
            "                       fits N bytes: 1424 at 1500, 8920 at 9000 (jumbo frames). seed\n"
            "                       refuses to send datagrams over its interface's MTU\n"
            "  --tracker URL[,URL...]\n"
            "                       tracker URL(s) stored in the manifest (default: none); repeat it\n"
            "                       for backup tiers (BEP 12, as mktorrent -a): each --tracker is a\n"
            "                       tier, tried in order, its comma-separated URLs in order. The first\n"
            "                       URL is `announce`; with more than one, all go into `announce-list`.\n"
            "                       seed and get announce to them unless given --tracker or --no-tracker\n"
            "  --name NAME          release name (default: the last component of PATH after\n"
            "                       resolving symlinks); a single safe path component\n"
            "  --threads N          hashing threads (default: one per online CPU)\n"
            "  --sign KEY           sign the release with this Ed25519 private key (crowcast keygen;\n"
            "                       group and others must not read it): the signature covers the\n"
            "                       release id and sits outside info, in \"crowcast signatures\"; hosts\n"
            "                       with get/agent --trust fetch only signed releases. Repeat it (up\n"
            "                       to %u keys) to sign with an old and a new key while rotating.\n"
            "                       crowcast sign signs an existing manifest\n"
            "  --align              piece-aligned layout: every file of at least one piece starts a\n"
            "                       piece (BEP 47 padding files, zeros that never reach the disk), so\n"
            "                       the next build made with --previous keeps its pieces\n"
            "  --previous OLD.torrent\n"
            "                       lay files out so that a file OLD holds under the same path and\n"
            "                       length keeps its pieces' hashes (same place within its pieces,\n"
            "                       OLD's piece length and chunk size); other files are packed.\n"
            "                       OLD need not have been made with --align\n"
            "                       crowcast diff OLD NEW shows what is left to move\n"
            "  --skip-special       leave out, each with a warning, what a release cannot carry\n"
            "                       (below) instead of refusing the tree\n"
            "  -h, --help           this text\n\n"
            "A directory becomes a multi-file release, as built: every regular file under it, empty\n"
            "ones included, sorted byte-wise by relative path, with its executable bit (the owner's;\n"
            "published as mode 0755, others 0644); symlinks whose target lies inside the tree (BEP 47,\n"
            "the target kept relative to the release root; dangling ones too); empty directories.\n"
            "FIFOs, sockets, devices, files with several hard links, entries it may not read and\n"
            "symlinks pointing outside the tree are refused, naming the entry (exit 2; 3 for an\n"
            "unreadable one), or left out with a warning under --skip-special. PATH itself may be a\n"
            "symlink. A single file keeps its executable bit.\n\n"
            "Exit status: 0 ok, 2 bad usage or input that cannot form a release (nothing to hash,\n"
            "unsafe name, limits), 3 a file cannot be read or written.\n",
            DEFAULT_PIECE_TARGET, CROW_MIN_CHUNK_SIZE, CROW_MAX_CHUNK_SIZE, CROW_DEFAULT_CHUNK_SIZE, MIN_MTU,
            MAX_MTU, DEFAULT_MTU, CROW_MANIFEST_MAX_SIGNATURES);
}

#define MAX_TIERS CROW_MANIFEST_MAX_TRACKERS

struct make_opts {
    const char *input, *output, *name;
    const char *sign_keys[CROW_MANIFEST_MAX_SIGNATURES]; /* --sign arguments */
    uint32_t sign_count;
    const char *tiers[MAX_TIERS]; /* --tracker arguments, one tier each */
    uint32_t tier_count;
    uint64_t piece_size, chunk_size, mtu; /* mtu: nonzero with --mtu or --chunk-size auto */
    bool chunk_given;                     /* --chunk-size N (a number) */
    unsigned threads;
    bool skip_special, align;
    const char *previous; /* --previous OLD.torrent */
};

static int parse_args(int argc, char **argv, struct make_opts *o)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"piece-size", required_argument, NULL, 'p'},
        {"chunk-size", required_argument, NULL, 'c'},
        {"mtu", required_argument, NULL, 'M'},
        {"tracker", required_argument, NULL, 't'},
        {"name", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, 'j'},
        {"sign", required_argument, NULL, 's'},
        {"skip-special", no_argument, NULL, 'S'},
        {"align", no_argument, NULL, 'A'},
        {"previous", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct make_opts){0};
    uint64_t threads = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->output = optarg;
            break;
        case 'p':
            if (crow_parse_size(optarg, &o->piece_size) || o->piece_size < CROW_MIN_PIECE_LENGTH ||
                o->piece_size > CROW_MAX_PIECE_LENGTH || (o->piece_size & (o->piece_size - 1)))
                return crow_cli_usage_error("make", "--piece-size must be a power of two from 16K to 64M");
            break;
        case 'c':
            if (strcmp(optarg, "auto") == 0) {
                o->mtu = o->mtu ? o->mtu : DEFAULT_MTU;
                break;
            }
            o->chunk_given = true;
            if (crow_parse_size(optarg, &o->chunk_size) || o->chunk_size < CROW_MIN_CHUNK_SIZE ||
                o->chunk_size > CROW_MAX_CHUNK_SIZE)
                return crow_cli_usage_error("make", "--chunk-size must be within %u..%u", CROW_MIN_CHUNK_SIZE,
                                            CROW_MAX_CHUNK_SIZE);
            break;
        case 'M':
            if (crow_parse_size(optarg, &o->mtu) || o->mtu < MIN_MTU || o->mtu > MAX_MTU)
                return crow_cli_usage_error("make", "--mtu must be within %u..%u", MIN_MTU, MAX_MTU);
            break;
        case 't':
            if (o->tier_count == MAX_TIERS)
                return crow_cli_usage_error("make", "at most %u --tracker", MAX_TIERS);
            o->tiers[o->tier_count++] = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'j':
            if (crow_parse_size(optarg, &threads) || threads == 0 || threads > 256)
                return crow_cli_usage_error("make", "--threads must be within 1..256");
            o->threads = (unsigned)threads;
            break;
        case 's':
            if (o->sign_count == CROW_MANIFEST_MAX_SIGNATURES)
                return crow_cli_usage_error("make", "at most %u --sign", CROW_MANIFEST_MAX_SIGNATURES);
            o->sign_keys[o->sign_count++] = optarg;
            break;
        case 'S':
            o->skip_special = true;
            break;
        case 'A':
            o->align = true;
            break;
        case 'P':
            o->previous = optarg;
            o->align = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return crow_cli_usage_error("make", "unknown option");
        }
    }
    if (optind != argc - 1)
        return crow_cli_usage_error("make", "expects exactly one PATH (a file or a directory)");
    o->input = argv[optind];
    if (!o->output)
        return crow_cli_usage_error("make", "-o OUT.torrent is required");
    if (o->chunk_given && o->mtu)
        return crow_cli_usage_error("make", "--chunk-size N and --mtu (or --chunk-size auto): give one");
    return 0;
}

/* The smallest power of two from 256 KiB up that keeps the piece count within the target. */
static uint32_t default_piece_length(uint64_t total)
{
    uint32_t pl = DEFAULT_MIN_PIECE;
    while (pl < CROW_MAX_PIECE_LENGTH && (total + pl - 1) / pl > DEFAULT_PIECE_TARGET)
        pl *= 2;
    return pl;
}

static void warn_skip(void *ctx, const char *path, const char *why)
{
    (void)ctx;
    fprintf(stderr, "crowcast make: warning: skipping %s (%s)\n", path, why);
}

/* crowcast's own announce client speaks http[s]://A.B.C.D:PORT/ only; stock clients may read more
 * (udp://, names), so such a URL is kept, but the user hears that seed and get will skip it. */
static void warn_unsupported_trackers(const crow_manifest_t *m)
{
    uint32_t n = m->tracker_count ? m->tracker_count : (m->announce ? 1 : 0);
    for (uint32_t i = 0; i < n; i++) {
        const char *url = m->tracker_count ? m->trackers[i].url : m->announce;
        struct crow_http_client_server server;
        if (crow_http_client_parse_server(url, &server))
            fprintf(stderr,
                    "crowcast make: warning: %s: crowcast seed and get announce to http[s]://A.B.C.D:PORT/ "
                    "URLs only and will skip this one (stock clients may use it)\n",
                    url);
    }
}

/* Moves the scanned tree into m: files (with their executable bit), symlinks, empty directories. */
static int tree_to_manifest(crow_tree_t *tree, crow_manifest_t *m)
{
    uint32_t links = tree->count - tree->files;
    m->files = calloc(tree->files, sizeof *m->files);
    m->links = calloc(links ? links : 1, sizeof *m->links);
    m->dirs = calloc(links ? links : 1, sizeof *m->dirs);
    if (!m->files || !m->links || !m->dirs)
        return CROW_EXIT_IO;
    for (uint32_t i = 0; i < tree->count; i++) {
        crow_tree_entry_t *e = &tree->entries[i];
        if (e->kind == CROW_TREE_FILE)
            m->files[m->file_count++] = (crow_manifest_file_t){
                .path = e->path, .length = e->length, .attr = e->executable ? CROW_ATTR_EXEC : 0};
        else if (e->kind == CROW_TREE_LINK)
            m->links[m->link_count++] = (crow_manifest_link_t){.path = e->path, .target = e->target};
        else
            m->dirs[m->dir_count++] = e->path;
        e->path = e->target = NULL;
    }
    return CROW_EXIT_OK;
}

/* Fills m's name and file list from the input: one file, or the tree under a directory. */
static int collect_files(const struct make_opts *o, crow_manifest_t *m)
{
    char resolved[PATH_MAX];
    struct stat st;
    if (stat(o->input, &st) < 0 || !realpath(o->input, resolved)) {
        fprintf(stderr, "crowcast make: %s: %s\n", o->input, strerror(errno));
        return CROW_EXIT_IO;
    }
    m->name = strdup(o->name ? o->name : basename(resolved));
    if (!m->name)
        return CROW_EXIT_IO;
    if (S_ISREG(st.st_mode)) {
        m->single_file = true;
        m->file_count = 1;
        if (!(m->files = calloc(1, sizeof *m->files)) || !(m->files[0].path = strdup(m->name)))
            return CROW_EXIT_IO;
        m->files[0].length = (uint64_t)st.st_size;
        m->files[0].attr = st.st_mode & S_IXUSR ? CROW_ATTR_EXEC : 0;
        return CROW_EXIT_OK;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "crowcast make: %s is neither a regular file nor a directory\n", o->input);
        return CROW_EXIT_USAGE;
    }
    crow_tree_t tree;
    char why[CROW_MAX_PATH + 256];
    int ret = crow_tree_scan(o->input, o->skip_special ? CROW_TREE_SKIP_SPECIAL : 0, &tree, warn_skip, NULL,
                             why, sizeof why);
    if (ret) {
        bool special = ret == CROW_EUNSUPPORTED || ret == CROW_EPATH || ret == -EACCES || ret == -EPERM;
        fprintf(stderr, "crowcast make: %s: %s%s\n", o->input, why,
                special ? "; a release cannot carry it (--skip-special leaves such entries out)" : "");
        crow_tree_scan_dispose(&tree);
        return ret > -4096 ? CROW_EXIT_IO : CROW_EXIT_USAGE;
    }
    if (tree.files == 0) {
        fprintf(stderr, "crowcast make: %s holds no regular file\n", o->input);
        crow_tree_scan_dispose(&tree);
        return CROW_EXIT_USAGE;
    }
    ret = tree_to_manifest(&tree, m);
    crow_tree_scan_dispose(&tree);
    return ret;
}

/* Piece length, chunk size and, with --align or --previous, the padding that lets unchanged files
 * keep their pieces (release_layout.h). */
static int choose_layout(const struct make_opts *o, crow_manifest_t *m, uint64_t total)
{
    crow_manifest_t prev = {0};
    char why[256];
    int ret;
    if (o->previous && (ret = crow_manifest_file_load(o->previous, &prev, why, sizeof why))) {
        fprintf(stderr, "crowcast make: --previous %s: %s\n", o->previous, why);
        return ret > -4096 ? CROW_EXIT_IO : CROW_EXIT_USAGE;
    }
    int code = CROW_EXIT_OK;
    if (o->previous && o->piece_size && o->piece_size != prev.piece_length) {
        fprintf(stderr, "crowcast make: --piece-size differs from %s's %u: no piece could be kept\n",
                o->previous, prev.piece_length);
        code = CROW_EXIT_USAGE;
        goto out;
    }
    m->piece_length = o->piece_size ? (uint32_t)o->piece_size
                      : o->previous ? prev.piece_length
                                    : default_piece_length(total);
    m->chunk_size = o->chunk_size ? (uint32_t)o->chunk_size
                    : o->previous ? prev.chunk_size
                                  : CROW_DEFAULT_CHUNK_SIZE;
    if (o->mtu) /* MIN_MTU leaves room for more than CROW_MIN_CHUNK_SIZE */
        m->chunk_size = crow_dgram_chunk_for_mtu((uint32_t)o->mtu, m->piece_length);
    if (o->align && !m->single_file &&
        (ret = crow_release_layout_align(m, o->previous ? &prev : NULL, why, sizeof why)) < 0) {
        fprintf(stderr, "crowcast make: %s\n", why);
        code = ret == -ENOMEM ? CROW_EXIT_IO : CROW_EXIT_USAGE;
    }
out:
    crow_manifest_dispose(&prev);
    return code;
}

static void store_hashes(void *ctx, uint32_t piece, const uint8_t sha1[20], const uint8_t sha256[32])
{
    crow_manifest_t *m = ctx;
    memcpy(m->sha1 + (size_t)piece * CROW_SHA1_LEN, sha1, CROW_SHA1_LEN);
    memcpy(m->sha256 + (size_t)piece * CROW_SHA256_LEN, sha256, CROW_SHA256_LEN);
}

static double seconds_since(uint64_t t0_ns)
{
    return (double)(crow_clock_mono_ns() - t0_ns) / 1e9;
}

/* Encodes m, signs it with each of the o->sign_count secrets, parses the result back (the same
 * checks any reader applies, and the ids), writes it. */
static int write_manifest(const struct make_opts *o, const crow_manifest_t *m,
                          const uint8_t (*secrets)[CROW_ED25519_SECRET_LEN], double hash_seconds)
{
    size_t cap = crow_manifest_encoded_size(m), signed_len;
    uint8_t *buf = malloc(cap), *signed_buf = NULL;
    crow_manifest_t check;
    char why[256];
    int exit_code = CROW_EXIT_IO;
    long len = buf ? crow_manifest_encode(m, buf, cap) : -ENOMEM;
    if (len < 0) {
        fprintf(stderr, "crowcast make: cannot encode the manifest: %s\n", crow_strerror((int)len));
        goto out;
    }
    int ret;
    for (uint32_t i = 0; i < o->sign_count; i++) {
        if ((ret = crow_release_sign_encoded(buf, (size_t)len, secrets[i], &signed_buf, &signed_len, why,
                                             sizeof why))) {
            fprintf(stderr, "crowcast make: cannot sign the manifest with %s: %s\n", o->sign_keys[i], why);
            goto out;
        }
        free(buf);
        buf = signed_buf;
        len = (long)signed_len;
    }
    ret = crow_manifest_parse(buf, (size_t)len, &check, why, sizeof why);
    if (ret) {
        fprintf(stderr, "crowcast make: the encoded manifest does not parse back: %s\n", why);
        goto out;
    }
    char id[2 * CROW_SHA256_LEN + 1], ih[2 * CROW_SHA1_LEN + 1], size[32], piece[32];
    char signers[CROW_MANIFEST_MAX_SIGNATURES * (CROW_KEY_ID_HEX + 6) + 1] = "";
    crow_hex(check.release_id, CROW_SHA256_LEN, id);
    crow_hex(check.info_hash, CROW_SHA1_LEN, ih);
    for (uint32_t i = 0; i < check.signature_count; i++) {
        char key_id[CROW_KEY_ID_HEX + 1];
        crow_key_id(check.signatures[i].public_key, key_id);
        snprintf(signers + strlen(signers), sizeof signers - strlen(signers), "%skey %s", i ? ", " : "",
                 key_id);
    }
    crow_manifest_dispose(&check);
    if ((ret = crow_cli_write_atomically(o->output, buf, (size_t)len))) {
        fprintf(stderr, "crowcast make: cannot write %s: %s\n", o->output, crow_strerror(ret));
        goto out;
    }
    uint32_t pads = 0;
    for (uint32_t i = 0; i < m->file_count; i++)
        pads += (m->files[i].attr & CROW_ATTR_PAD) != 0;
    uint32_t files = m->file_count - pads;
    printf("wrote %s: %s, %u file%s", o->output, m->name, files, files == 1 ? "" : "s");
    if (pads)
        printf(" (+%u padding)", pads);
    if (m->link_count)
        printf(", %u symlink%s", m->link_count, m->link_count == 1 ? "" : "s");
    if (m->dir_count)
        printf(", %u empty director%s", m->dir_count, m->dir_count == 1 ? "y" : "ies");
    printf(", %s in %u pieces of %s\n", crow_format_size(m->total_length, size, sizeof size), m->piece_count,
           crow_format_size(m->piece_length, piece, sizeof piece));
    printf("release_id: %s\ninfo_hash:  %s\n", id, ih);
    if (signers[0])
        printf("signed by:  %s\n", signers);
    printf("hashed (SHA-1 + SHA-256) in %.2f s: %.1f MB/s\n", hash_seconds,
           hash_seconds > 0 ? (double)m->total_length / hash_seconds / 1e6 : 0.0);
    exit_code = CROW_EXIT_OK;
out:
    free(buf);
    return exit_code;
}

int crow_cmd_make(int argc, char **argv)
{
    struct make_opts o;
    int ret = parse_args(argc, argv, &o);
    if (ret)
        return ret < 0 ? CROW_EXIT_OK : ret;
    crow_manifest_t m = {0};
    uint8_t secrets[CROW_MANIFEST_MAX_SIGNATURES][CROW_ED25519_SECRET_LEN];
    int exit_code = CROW_EXIT_OK;
    /* The keys are read first: a bad one is found before minutes of hashing, not after. */
    for (uint32_t i = 0; i < o.sign_count && exit_code == CROW_EXIT_OK; i++)
        exit_code = crow_cli_load_secret("make", o.sign_keys[i], secrets[i]);
    if (exit_code != CROW_EXIT_OK)
        goto out;
    exit_code = collect_files(&o, &m);
    if (exit_code != CROW_EXIT_OK)
        goto out;
    exit_code = CROW_EXIT_USAGE;
    char why[256];
    if ((ret = crow_manifest_set_trackers(&m, o.tiers, o.tier_count, why, sizeof why))) {
        fprintf(stderr, "crowcast make: --tracker: %s\n", why);
        goto out;
    }
    warn_unsupported_trackers(&m);
    uint64_t total = 0;
    for (uint32_t i = 0; i < m.file_count; i++)
        total += m.files[i].length; /* layout rejects a sum past 2^63; this only picks a size */
    if ((exit_code = choose_layout(&o, &m, total)) != CROW_EXIT_OK)
        goto out;
    exit_code = CROW_EXIT_USAGE;
    if ((ret = crow_manifest_layout(&m, why, sizeof why))) {
        fprintf(stderr, "crowcast make: %s: %s\n", o.input, why);
        exit_code = ret > -4096 ? CROW_EXIT_IO : CROW_EXIT_USAGE;
        goto out;
    }
    /* A manifest too large for crow_manifest_file_load would be useless: stop before hashing. */
    if ((uint64_t)m.piece_count * (CROW_SHA1_LEN + CROW_SHA256_LEN) > CROW_MANIFEST_MAX_BYTES - 65536) {
        fprintf(stderr, "crowcast make: %u pieces make the manifest too large; use a larger --piece-size\n",
                m.piece_count);
        goto out;
    }
    exit_code = CROW_EXIT_IO;
    m.sha1 = malloc((size_t)m.piece_count * CROW_SHA1_LEN);
    m.sha256 = malloc((size_t)m.piece_count * CROW_SHA256_LEN);
    if (!m.sha1 || !m.sha256)
        goto out;
    uint64_t t0 = crow_clock_mono_ns();
    if ((ret = crow_piece_hash_run(&m, o.input, o.threads, store_hashes, &m))) {
        fprintf(stderr, "crowcast make: hashing %s failed: %s\n", o.input, crow_strerror(ret));
        goto out;
    }
    exit_code = write_manifest(&o, &m, (const uint8_t(*)[CROW_ED25519_SECRET_LEN])secrets, seconds_since(t0));
out:
    crow_ed25519_wipe(secrets, sizeof secrets);
    crow_manifest_dispose(&m);
    return exit_code;
}
