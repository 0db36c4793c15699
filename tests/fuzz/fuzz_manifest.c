/* Manifest (.torrent) parser: any bytes are refused with a reason or give a manifest whose own
 * encoding parses back to the same release (same geometry, files and hashes) and encodes the same,
 * and whose every piece maps onto file segments (storage's layout) that stay inside their files and
 * add up to the piece. */
#include <errno.h>

#include "crowcast/error.h"
#include "crowcast/layout.h"
#include "crowcast/manifest.h"
#include "fuzz.h"

static void same_release(const crow_manifest_t *a, const crow_manifest_t *b)
{
    FUZZ_ASSERT(strcmp(a->name, b->name) == 0 && a->single_file == b->single_file);
    FUZZ_ASSERT(a->total_length == b->total_length && a->piece_length == b->piece_length);
    FUZZ_ASSERT(a->piece_count == b->piece_count && a->chunk_size == b->chunk_size);
    FUZZ_ASSERT(a->file_count == b->file_count && a->tracker_count == b->tracker_count);
    for (uint32_t i = 0; i < a->file_count; i++) {
        FUZZ_ASSERT(strcmp(a->files[i].path, b->files[i].path) == 0);
        FUZZ_ASSERT(a->files[i].length == b->files[i].length && a->files[i].offset == b->files[i].offset);
        FUZZ_ASSERT(a->files[i].attr == b->files[i].attr);
    }
    FUZZ_ASSERT(a->link_count == b->link_count && a->dir_count == b->dir_count);
    for (uint32_t i = 0; i < a->link_count; i++)
        FUZZ_ASSERT(strcmp(a->links[i].path, b->links[i].path) == 0 &&
                    strcmp(a->links[i].target, b->links[i].target) == 0);
    for (uint32_t i = 0; i < a->dir_count; i++)
        FUZZ_ASSERT(strcmp(a->dirs[i], b->dirs[i]) == 0);
    FUZZ_ASSERT(memcmp(a->sha1, b->sha1, (size_t)a->piece_count * CROW_SHA1_LEN) == 0);
    FUZZ_ASSERT(memcmp(a->sha256, b->sha256, (size_t)a->piece_count * CROW_SHA256_LEN) == 0);
}

static void check_layout(const crow_manifest_t *m)
{
    for (uint32_t p = 0; p < m->piece_count; p++) {
        crow_layout_iter_t it;
        FUZZ_ASSERT(crow_layout_iter_piece(&it, m, p, 0, crow_manifest_piece_size(m, p)) == 0);
        uint64_t sum = 0;
        crow_segment_t seg;
        while (crow_layout_next(&it, &seg)) {
            FUZZ_ASSERT(seg.file < m->file_count && seg.length > 0);
            FUZZ_ASSERT(seg.offset + seg.length <= m->files[seg.file].length);
            sum += seg.length;
        }
        FUZZ_ASSERT(sum == crow_manifest_piece_size(m, p));
        uint32_t first, last;
        FUZZ_ASSERT(crow_layout_piece_files(m, p, &first, &last) == 0 && first <= last &&
                    last < m->file_count);
    }
    FUZZ_ASSERT(crow_layout_file_at(m, m->total_length) == m->file_count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    crow_manifest_t m, again;
    char why[256];
    int ret = crow_manifest_parse(data, size, &m, why, sizeof why);
    if (ret != 0) {
        FUZZ_ASSERT(ret == CROW_EPARSE || ret == CROW_EMANIFEST || ret == CROW_EPATH || ret == CROW_ELIMIT ||
                    ret == -ENOMEM);
        FUZZ_ASSERT(why[0] != '\0');
        return 0;
    }
    FUZZ_ASSERT(m.piece_count > 0 && m.total_length > 0 && m.file_count > 0);
    FUZZ_ASSERT(crow_manifest_total_chunks(&m) >= m.piece_count);
    for (uint32_t i = 0; i < m.file_count; i++)
        FUZZ_ASSERT(crow_manifest_check_path(m.files[i].path, strlen(m.files[i].path)) == 0);
    check_layout(&m);

    size_t cap = crow_manifest_encoded_size(&m);
    uint8_t *buf = malloc(cap), *buf2 = malloc(cap);
    if (!buf || !buf2)
        abort();
    long len = crow_manifest_encode(&m, buf, cap);
    FUZZ_ASSERT(len > 0 && (size_t)len <= cap);
    FUZZ_ASSERT(crow_manifest_parse(buf, (size_t)len, &again, why, sizeof why) == 0);
    same_release(&m, &again);
    FUZZ_ASSERT(crow_manifest_encode(&again, buf2, cap) == len && memcmp(buf, buf2, (size_t)len) == 0);
    crow_manifest_dispose(&again);
    crow_manifest_dispose(&m);
    free(buf);
    free(buf2);
    return 0;
}
