/* `crowcast diff`: what changed from one release to the next, from their manifests alone. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "crowcast/hash.h"
#include "crowcast/json.h"
#include "crowcast/manifest.h"
#include "crowcast/release_diff.h"
#include "crowcast/units.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: crowcast diff OLD.torrent NEW.torrent [--json]\n\n"
                 "Compares two releases by their manifests (no data is read): files, symlinks and empty\n"
                 "directories added (+), removed (-) and changed (~), executable bits flipped (x), and the\n"
                 "bytes a host holding OLD would still receive to have NEW: the pieces of NEW whose\n"
                 "SHA-256 no piece of OLD has.\n\n"
                 "A file in both with the same length is judged by its pieces. Where it sits at the same\n"
                 "place in its pieces in both releases, equal hashes mean equal bytes and a differing\n"
                 "piece of its own means changed. A file whose differing pieces it shares with a\n"
                 "neighbour, or that moved within its pieces (an earlier file changed size, or the piece\n"
                 "length differs), cannot be told from the hashes: it is listed as undetermined (?).\n\n"
                 "  --json      one JSON object: old and new (name, release_id, files, length), entries\n"
                 "              (each kind file|symlink|directory, change added|removed|changed|\n"
                 "              undetermined|same, mode_changed, path, and the lengths, executable bits\n"
                 "              or targets of both sides), files_unchanged, pieces, pieces_new,\n"
                 "              bytes_total, bytes_to_move\n"
                 "  -h, --help  this text\n\n"
                 "Exit status (as diff(1)): 0 the releases hold the same tree, 1 they differ, 2 bad usage\n"
                 "or an invalid manifest, 3 a manifest cannot be read.\n");
}

static int load(const char *path, crow_manifest_t *m)
{
    char why[256];
    int ret = crow_manifest_load(path, m, why, sizeof why);
    if (ret == 0)
        return 0;
    bool system = ret > -4096; /* error.h: CROW_E* codes sit below -4096 */
    fprintf(stderr, "crowcast diff: %s: %s%s\n", path, system ? "" : "invalid manifest: ", why);
    return system ? CROW_EXIT_IO : CROW_EXIT_USAGE;
}

static const char *const change_names[] = {"same", "added", "removed", "changed", "undetermined"};
static const char change_marks[] = {' ', '+', '-', '~', '?'};
static const char *const what_names[] = {"file", "symlink", "directory"};

static void print_side_json(const char *key, const crow_manifest_t *m)
{
    char id[2 * CROW_SHA256_LEN + 1];
    crow_hex(m->release_id, CROW_SHA256_LEN, id);
    printf("\"%s\":{\"name\":", key);
    crow_json_fput(stdout, m->name);
    printf(",\"release_id\":\"%s\",\"files\":%u,\"length\":%llu}", id, m->file_count,
           (unsigned long long)m->total_length);
}

/* One side of an entry: a file's length and bit, a link's target; nothing for a directory. */
static void print_entry_side_json(const char *side, const crow_diff_entry_t *e, const crow_manifest_t *m,
                                  uint32_t index)
{
    if (index == UINT32_MAX || e->what == CROW_DIFF_DIR)
        return;
    if (e->what == CROW_DIFF_FILE) {
        printf(",\"%s_length\":%llu,\"%s_executable\":%s", side, (unsigned long long)m->files[index].length,
               side, m->files[index].attr & CROW_ATTR_EXEC ? "true" : "false");
    } else {
        printf(",\"%s_target\":", side);
        crow_json_fput(stdout, m->links[index].target);
    }
}

static void print_json(const crow_manifest_t *a, const crow_manifest_t *b, const crow_release_diff_t *d)
{
    printf("{");
    print_side_json("old", a);
    printf(",");
    print_side_json("new", b);
    printf(",\"entries\":[");
    for (uint32_t i = 0; i < d->count; i++) {
        const crow_diff_entry_t *e = &d->entries[i];
        printf("%s{\"kind\":\"%s\",\"change\":\"%s\",\"mode_changed\":%s,\"path\":", i ? "," : "",
               what_names[e->what], change_names[e->change], e->mode_changed ? "true" : "false");
        crow_json_fput(stdout, e->path);
        print_entry_side_json("old", e, a, e->old_index);
        print_entry_side_json("new", e, b, e->new_index);
        printf("}");
    }
    printf("],\"files_unchanged\":%u,\"pieces\":%u,\"pieces_new\":%u,\"bytes_total\":%llu,"
           "\"bytes_to_move\":%llu}\n",
           d->files_same, d->pieces_total, d->pieces_new, (unsigned long long)d->bytes_total,
           (unsigned long long)d->bytes_to_move);
}

static void print_entry(const crow_diff_entry_t *e, const crow_manifest_t *a, const crow_manifest_t *b)
{
    char x[32], y[32];
    printf("%c%c %s%s", change_marks[e->change], e->mode_changed ? 'x' : ' ', e->path,
           e->what == CROW_DIFF_DIR ? "/" : "");
    if (e->what == CROW_DIFF_LINK) {
        if (e->change == CROW_DIFF_CHANGED)
            printf(" -> %s (was %s)", b->links[e->new_index].target, a->links[e->old_index].target);
        else
            printf(" -> %s", (e->change == CROW_DIFF_ADDED ? b : a)
                                 ->links[e->change == CROW_DIFF_ADDED ? e->new_index : e->old_index]
                                 .target);
    } else if (e->what == CROW_DIFF_FILE) {
        const crow_manifest_file_t *f = e->new_index != UINT32_MAX ? &b->files[e->new_index] : NULL;
        const crow_manifest_file_t *o = e->old_index != UINT32_MAX ? &a->files[e->old_index] : NULL;
        if (o && f && o->length != f->length)
            printf("  (%s -> %s)", crow_format_size(o->length, x, sizeof x),
                   crow_format_size(f->length, y, sizeof y));
        else
            printf("  (%s)", crow_format_size((f ? f : o)->length, x, sizeof x));
        if (e->mode_changed)
            printf("  mode %s -> %s", o->attr & CROW_ATTR_EXEC ? "0755" : "0644",
                   f->attr & CROW_ATTR_EXEC ? "0755" : "0644");
    }
    printf("\n");
}

static void print_text(const crow_manifest_t *a, const crow_manifest_t *b, const crow_release_diff_t *d)
{
    uint32_t counts[3][5] = {{0}}, modes = 0;
    for (uint32_t i = 0; i < d->count; i++) {
        counts[d->entries[i].what][d->entries[i].change]++;
        modes += d->entries[i].mode_changed;
    }
    char size[32], total[32];
    printf("old: %s, %u files\nnew: %s, %u files\n", a->name, a->file_count, b->name, b->file_count);
    for (uint32_t i = 0; i < d->count; i++)
        print_entry(&d->entries[i], a, b);
    const uint32_t *f = counts[CROW_DIFF_FILE], *l = counts[CROW_DIFF_LINK], *r = counts[CROW_DIFF_DIR];
    printf("files: %u added, %u removed, %u changed, %u undetermined, %u unchanged; %u mode change%s\n",
           f[CROW_DIFF_ADDED], f[CROW_DIFF_REMOVED], f[CROW_DIFF_CHANGED], f[CROW_DIFF_UNDETERMINED],
           d->files_same, modes, modes == 1 ? "" : "s");
    if (a->link_count || b->link_count || a->dir_count || b->dir_count)
        printf("symlinks: %u added, %u removed, %u changed; empty directories: %u added, %u removed\n",
               l[CROW_DIFF_ADDED], l[CROW_DIFF_REMOVED], l[CROW_DIFF_CHANGED], r[CROW_DIFF_ADDED],
               r[CROW_DIFF_REMOVED]);
    printf("bytes to move: %s of %s (%.1f%%), %u of %u pieces are new\n",
           crow_format_size(d->bytes_to_move, size, sizeof size),
           crow_format_size(d->bytes_total, total, sizeof total),
           d->bytes_total ? 100.0 * (double)d->bytes_to_move / (double)d->bytes_total : 0.0, d->pieces_new,
           d->pieces_total);
}

int crow_cmd_diff(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return CROW_EXIT_OK;
        default:
            return crow_cli_usage_error("diff", "unknown option");
        }
    }
    if (argc - optind != 2)
        return crow_cli_usage_error("diff", "wants two manifests (OLD.torrent NEW.torrent)");
    crow_manifest_t a, b;
    int code = load(argv[optind], &a);
    if (code)
        return code;
    if ((code = load(argv[optind + 1], &b))) {
        crow_manifest_dispose(&a);
        return code;
    }
    crow_release_diff_t d;
    if (crow_release_diff(&a, &b, &d)) {
        fprintf(stderr, "crowcast diff: out of memory\n");
        code = CROW_EXIT_IO;
        goto out;
    }
    if (json)
        print_json(&a, &b, &d);
    else
        print_text(&a, &b, &d);
    code = d.count ? CROW_EXIT_FAIL : CROW_EXIT_OK;
    crow_release_diff_dispose(&d);
out:
    crow_manifest_dispose(&a);
    crow_manifest_dispose(&b);
    return code;
}
