/* Symlink targets (`crowcast make` reads them from trees anyone may have built): whatever text a link
 * at whatever release path holds, crow_link_path_target either refuses it or gives a safe root-relative
 * target, and the text crow_link_path_text writes back for it resolves to that same target. The input:
 * a record with the link's path, a record with its text, a record with the root's real path. */
#include "crowcast/link_path.h"
#include "crowcast/manifest.h"
#include "fuzz.h"

static char *text_of(fuzz_input_t *in)
{
    size_t len = 0;
    uint8_t *rec = fuzz_record(in, &len);
    char *s = malloc(len + 1);
    if (!s)
        abort();
    if (rec)
        memcpy(s, rec, len);
    s[rec ? len : 0] = '\0';
    free(rec);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = fuzz_input(data, size);
    char *link = text_of(&in), *text = text_of(&in), *root = text_of(&in);
    char target[CROW_MAX_PATH + 1], back[CROW_MAX_PATH + 1], written[2 * CROW_MAX_PATH + 1];
    if (crow_manifest_check_path(link, strlen(link)) == 0 &&
        crow_link_path_target(link, text, root[0] == '/' ? root : NULL, target, sizeof target) == 0) {
        FUZZ_ASSERT(crow_manifest_check_path(target, strlen(target)) == 0);
        FUZZ_ASSERT(crow_link_path_text(link, target, written, sizeof written) > 0);
        FUZZ_ASSERT(written[0] != '/');
        FUZZ_ASSERT(crow_link_path_target(link, written, NULL, back, sizeof back) == 0 &&
                    strcmp(back, target) == 0);
    }
    free(link);
    free(text);
    free(root);
    return 0;
}
