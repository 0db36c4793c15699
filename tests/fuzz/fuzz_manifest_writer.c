/* The manifest writer (`crowcast make`, from a tree of files whose names anyone may have chosen):
 * whatever release crow_manifest_layout accepts encodes to a manifest that the parser accepts, with
 * the same files, attributes, symlinks and empty directories in the same order. The input: a byte
 * for the piece length, chunk size and form (single file or a tree), a record with the name, then
 * per entry a record with its path, a kind byte (a file, executable or padding, a symlink whose
 * target is the next record, an empty directory) and, for a file, three bytes of length. */
#include "crowcast/error.h"
#include "crowcast/manifest.h"
#include "fuzz.h"

#define FILES_MAX 16u

static char *text_of(fuzz_input_t *in)
{
    size_t len;
    uint8_t *rec = fuzz_record(in, &len);
    if (!rec)
        return NULL;
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, rec, len);
    s[len] = '\0';
    free(rec);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = fuzz_input(data, size);
    uint8_t form = fuzz_byte(&in);
    crow_manifest_t m, back;
    memset(&m, 0, sizeof m);
    m.piece_length = CROW_MIN_PIECE_LENGTH << (form & 7u);
    m.chunk_size = form & 8u ? CROW_DEFAULT_CHUNK_SIZE : CROW_MIN_CHUNK_SIZE + (form >> 4) * 1000u;
    m.single_file = form & 0x80u;
    m.name = text_of(&in);
    m.files = calloc(FILES_MAX, sizeof *m.files);
    m.links = calloc(FILES_MAX, sizeof *m.links);
    m.dirs = calloc(FILES_MAX, sizeof *m.dirs);
    if (!m.name || !m.files || !m.links || !m.dirs)
        goto out;
    while (m.file_count < (m.single_file ? 1u : FILES_MAX) && m.link_count < FILES_MAX &&
           m.dir_count < FILES_MAX) {
        char *path = m.single_file ? strdup(m.name) : text_of(&in);
        if (!path)
            break;
        uint8_t kind = fuzz_byte(&in) % 5;
        if (kind == 3 && !m.single_file) {
            char *target = text_of(&in);
            m.links[m.link_count++] = (crow_manifest_link_t){path, target ? target : strdup("t")};
            continue;
        }
        if (kind == 4 && !m.single_file) {
            m.dirs[m.dir_count++] = path;
            continue;
        }
        uint64_t len = fuzz_byte(&in);
        len |= (uint64_t)fuzz_byte(&in) << 8;
        len |= (uint64_t)fuzz_byte(&in) << 16;
        m.files[m.file_count].path = path;
        m.files[m.file_count].attr = kind == 1 ? CROW_ATTR_EXEC : kind == 2 ? CROW_ATTR_PAD : 0;
        m.files[m.file_count++].length = len;
    }
    char why[256];
    if (m.file_count == 0 || crow_manifest_layout(&m, why, sizeof why) != 0)
        goto out;
    m.sha1 = calloc(m.piece_count, CROW_SHA1_LEN);
    m.sha256 = calloc(m.piece_count, CROW_SHA256_LEN);
    if (!m.sha1 || !m.sha256)
        abort();
    size_t cap = crow_manifest_encoded_size(&m);
    uint8_t *buf = malloc(cap);
    if (!buf)
        abort();
    long len = crow_manifest_encode(&m, buf, cap);
    FUZZ_ASSERT(len > 0);
    int ret = crow_manifest_parse(buf, (size_t)len, &back, why, sizeof why);
    if (ret != 0)
        fprintf(stderr, "the parser refuses what the writer wrote: %s\n", why);
    FUZZ_ASSERT(ret == 0 && back.file_count == m.file_count && back.total_length == m.total_length);
    for (uint32_t i = 0; i < m.file_count; i++)
        FUZZ_ASSERT(strcmp(back.files[i].path, m.files[i].path) == 0 &&
                    back.files[i].length == m.files[i].length && back.files[i].attr == m.files[i].attr);
    FUZZ_ASSERT(back.link_count == m.link_count && back.dir_count == m.dir_count);
    for (uint32_t i = 0; i < m.link_count; i++)
        FUZZ_ASSERT(strcmp(back.links[i].path, m.links[i].path) == 0 &&
                    strcmp(back.links[i].target, m.links[i].target) == 0);
    for (uint32_t i = 0; i < m.dir_count; i++)
        FUZZ_ASSERT(strcmp(back.dirs[i], m.dirs[i]) == 0);
    crow_manifest_dispose(&back);
    free(buf);
out:
    crow_manifest_dispose(&m);
    return 0;
}
