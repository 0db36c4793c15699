/* `crowcast verify`: checks data on disk against a manifest, piece by piece, and names the files
 * that hold bad pieces, are missing, or have the wrong size. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "crowcast/agent.h"
#include "crowcast/bitfield.h"
#include "crowcast/clock.h"
#include "crowcast/error.h"
#include "crowcast/layout.h"
#include "crowcast/manifest_file.h"
#include "crowcast/release_sig.h"
#include "crowcast/storage.h"
#include "crowcast/tree_attrs.h"
#include "crowcast/units.h"

#define MAX_LISTED 50 /* files named in a report before "... and N more" */

static void usage(FILE *out)
{
    fprintf(out, "usage: crowcast verify X.torrent PATH [--threads N] [--quiet] [--trust KEYS]\n\n"
                 "Checks the data at PATH against the manifest's SHA-256 piece hashes. PATH is the file\n"
                 "itself for a single-file release, the top directory for a multi-file one. Symlinks\n"
                 "inside PATH are not followed (they count as bad files). Also compares the executable\n"
                 "bit of every file, where each symlink of the release points (relative to PATH,\n"
                 "whatever its text) and that each empty directory exists.\n\n"
                 "  -j, --threads N  hashing threads (default: one per online CPU)\n"
                 "  -q, --quiet      print nothing when every piece matches, and no progress\n"
                 "  --trust KEYS     first check that a key of KEYS signed the release (as get --trust\n"
                 "                   does): otherwise nothing is read and the exit status is 5\n"
                 "  -h, --help       this text\n\n"
                 "Progress goes to stderr when it is a terminal.\n\n"
                 "Exit status: 0 every piece matches, every file has its size and mode, every symlink\n"
                 "and empty directory is there; 1 some do not (how many pieces, which files are\n"
                 "missing, of the wrong size or hold bad pieces, which modes, symlinks or directories\n"
                 "differ and how);\n"
                 "2 bad usage or an invalid manifest (the reason is printed); 3 a system error; 5 --trust\n"
                 "refused the release.\n");
}

struct progress {
    uint64_t piece_length;
    uint64_t start_ns, last_ns; /* crow_clock_mono_ns */
};

static double since(uint64_t a_ns, uint64_t b_ns)
{
    return (double)(b_ns - a_ns) / 1e9;
}

static void show_progress(void *ctx, uint32_t done, uint32_t total, uint32_t good)
{
    struct progress *p = ctx;
    uint64_t now = crow_clock_mono_ns();
    if (done < total && since(p->last_ns, now) < 0.25)
        return;
    p->last_ns = now;
    double secs = since(p->start_ns, now);
    char rate[32] = "";
    if (secs > 0)
        crow_format_size((uint64_t)((double)done * (double)p->piece_length / secs), rate, sizeof rate);
    fprintf(stderr, "\rverify: %3u%% (%u/%u pieces, %u bad, %s/s)\033[K",
            (unsigned)((uint64_t)done * 100 / total), done, total, done - good, rate);
    if (done == total)
        fputs("\r\033[K", stderr);
}

static void print_path(const crow_manifest_t *m, const char *root, uint32_t file)
{
    if (m->single_file)
        printf("  %s", root);
    else
        printf("  %s/%s", root, m->files[file].path);
}

/* Counts (and lists, when `print`) the files that could not be opened or whose size differs. */
static uint32_t report_files(crow_storage_t *s, const crow_manifest_t *m, const char *root, bool print)
{
    uint32_t bad = 0;
    for (uint32_t i = 0; i < m->file_count; i++) {
        uint64_t size;
        int err = crow_storage_file_error(s, i, &size);
        if (err == 0 && size == m->files[i].length)
            continue;
        if (++bad > MAX_LISTED || !print)
            continue;
        print_path(m, root, i);
        if (err == -ENOENT)
            printf(": missing\n");
        else if (err == CROW_EPATH)
            printf(": not a regular file (or a symlink in the way)\n");
        else if (err)
            printf(": cannot open: %s\n", crow_strerror(err));
        else if (size < m->files[i].length)
            printf(": short (%llu of %llu bytes)\n", (unsigned long long)size,
                   (unsigned long long)m->files[i].length);
        else
            printf(": too long (%llu bytes, expected %llu)\n", (unsigned long long)size,
                   (unsigned long long)m->files[i].length);
    }
    if (bad > MAX_LISTED && print)
        printf("  ... and %u more files\n", bad - MAX_LISTED);
    return bad;
}

/* Names the files holding bytes of bad pieces, with how many bad pieces each. */
static int report_pieces(const crow_manifest_t *m, const crow_bitfield_t *good, const char *root)
{
    uint32_t *hits = calloc(m->file_count ? m->file_count : 1, sizeof *hits);
    if (!hits)
        return -ENOMEM;
    for (uint32_t p = crow_bitfield_next_clear(good, 0); p < m->piece_count;
         p = crow_bitfield_next_clear(good, p + 1)) {
        uint32_t first, last;
        if (crow_layout_piece_files(m, p, &first, &last) < 0)
            continue;
        for (uint32_t f = first; f <= last; f++)
            hits[f] += m->files[f].length > 0;
    }
    uint32_t files = 0;
    for (uint32_t f = 0; f < m->file_count; f++) {
        if (!hits[f] || ++files > MAX_LISTED)
            continue;
        print_path(m, root, f);
        printf(": %u bad piece%s\n", hits[f], hits[f] == 1 ? "" : "s");
    }
    if (files > MAX_LISTED)
        printf("  ... and %u more files\n", files - MAX_LISTED);
    free(hits);
    return (int)files;
}

struct tree_report {
    const char *root;
    unsigned listed;
};

static void print_difference(void *ctx, const char *path, const char *what)
{
    struct tree_report *r = ctx;
    if (++r->listed <= MAX_LISTED)
        printf("  %s/%s: %s\n", r->root, path, what);
    else if (r->listed == MAX_LISTED + 1)
        printf("  ... and more\n");
}

static int verify(const char *torrent, const char *root, unsigned threads, bool quiet,
                  const crow_keyring_t *trust)
{
    crow_manifest_t m;
    char why[256];
    int ret = crow_manifest_file_load(torrent, &m, why, sizeof why);
    if (ret) {
        bool system = ret > -4096; /* error.h: CROW_E* codes sit below -4096 */
        fprintf(stderr, "crowcast verify: %s: %s%s\n", torrent, system ? "" : "invalid manifest: ", why);
        return system ? CROW_EXIT_IO : CROW_EXIT_USAGE;
    }
    if (trust && crow_release_verify(&m, trust, NULL, why, sizeof why)) {
        fprintf(stderr, "crowcast verify: %s: refused: %s\n", torrent, why);
        crow_manifest_dispose(&m);
        return CROW_EXIT_UNTRUSTED;
    }
    int code = CROW_EXIT_IO;
    crow_storage_t *s = NULL;
    crow_bitfield_t good = {0};
    ret = crow_storage_open_posix(&s, &m, AT_FDCWD, root, CROW_STORAGE_PARTIAL);
    if (ret < 0) {
        fprintf(stderr, "crowcast verify: %s: %s\n", root, crow_strerror(ret));
        code = ret == CROW_EPATH ? CROW_EXIT_USAGE : CROW_EXIT_IO;
        goto out;
    }
    if ((ret = crow_bitfield_init(&good, m.piece_count)) < 0)
        goto fail;
    struct progress prog = {.piece_length = m.piece_length, .start_ns = crow_clock_mono_ns()};
    bool show = !quiet && isatty(STDERR_FILENO) && m.piece_count > 0;
    if ((ret = crow_storage_verify(s, threads, &good, show ? show_progress : NULL, &prog)) < 0)
        goto fail;

    uint32_t bad_pieces = m.piece_count - good.count;
    uint32_t bad_files = report_files(s, &m, root, false);
    unsigned bad_tree = crow_tree_attrs_check(&m, AT_FDCWD, root, NULL, NULL);
    if (bad_pieces == 0 && bad_files == 0 && bad_tree == 0) {
        char size[32];
        crow_format_size(m.total_length, size, sizeof size);
        if (!quiet) {
            printf("OK: %u pieces, %s in %u file%s", m.piece_count, size, m.file_count,
                   m.file_count == 1 ? "" : "s");
            if (m.link_count || m.dir_count)
                printf(", %u symlink%s, %u empty director%s", m.link_count, m.link_count == 1 ? "" : "s",
                       m.dir_count, m.dir_count == 1 ? "y" : "ies");
            printf(" match %s\n", torrent);
        }
        code = CROW_EXIT_OK;
        goto out;
    }
    printf("FAILED: %u of %u pieces do not match %s; %u file%s missing or of the wrong size; %u mode%s, "
           "symlink%s or empty director%s differ%s\n",
           bad_pieces, m.piece_count, torrent, bad_files, bad_files == 1 ? "" : "s", bad_tree,
           bad_tree == 1 ? "" : "s", bad_tree == 1 ? "" : "s", bad_tree == 1 ? "y" : "ies",
           bad_tree == 1 ? "s" : "");
    if (bad_pieces) {
        printf("files holding bad pieces:\n");
        if ((ret = report_pieces(&m, &good, root)) < 0)
            goto fail;
    }
    if (bad_files) {
        printf("files missing or of the wrong size:\n");
        report_files(s, &m, root, true);
    }
    if (bad_tree) {
        struct tree_report r = {.root = root};
        printf("modes, symlinks and empty directories that differ:\n");
        crow_tree_attrs_check(&m, AT_FDCWD, root, print_difference, &r);
    }
    code = CROW_EXIT_FAIL;
    goto out;
fail:
    fprintf(stderr, "crowcast verify: %s\n", crow_strerror(ret));
    code = CROW_EXIT_IO;
out:
    crow_bitfield_dispose(&good);
    crow_storage_close(s);
    crow_manifest_dispose(&m);
    return code;
}

static const struct option options[] = {
    {"threads", required_argument, NULL, 'j'},
    {"quiet", no_argument, NULL, 'q'},
    {"trust", required_argument, NULL, 't'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int crow_cli_verify_argv(char **argv, size_t cap, const struct crow_agent_verify_args *v)
{
    struct crow_cli_argv b = {.argv = argv, .cap = cap, .table = options};
    crow_cli_argv_word(&b, v->exe);
    crow_cli_argv_word(&b, "verify");
    crow_cli_argv_word(&b, v->torrent);
    crow_cli_argv_word(&b, v->data);
    crow_cli_argv_opt(&b, "--quiet", "");
    crow_cli_argv_opt(&b, "--trust", v->trust);
    return crow_cli_argv_end(&b);
}

int crow_cmd_verify(int argc, char **argv)
{
    unsigned threads = 0;
    bool quiet = false;
    static crow_keyring_t keys;
    const crow_keyring_t *trust = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:qh", options, NULL)) != -1) {
        switch (c) {
        case 'j': {
            char *end;
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-' || n > 1024)
                return crow_cli_usage_error("verify", "--threads wants a number from 0 to 1024, not '%s'",
                                            optarg);
            threads = (unsigned)n;
            break;
        }
        case 'q':
            quiet = true;
            break;
        case 't': {
            int err = crow_cli_opt_trust("verify", optarg, &keys);
            if (err)
                return err;
            trust = &keys;
            break;
        }
        case 'h':
            usage(stdout);
            return CROW_EXIT_OK;
        default:
            return crow_cli_usage_error("verify", "bad option");
        }
    }
    if (argc - optind != 2)
        return crow_cli_usage_error("verify", "wants a manifest and a path (X.torrent PATH)");
    return verify(argv[optind], argv[optind + 1], threads, quiet, trust);
}
