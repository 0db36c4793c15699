/* Reading a .torrent file whole (crow_small_file_read), then crow_manifest_parse (see manifest_file.h). */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/manifest_file.h"
#include "crowcast/small_file.h"

int crow_manifest_file_load(const char *path, crow_manifest_t *m, char *why, size_t why_cap)
{
    memset(m, 0, sizeof *m);
    char *buf;
    size_t len;
    int ret = crow_small_file_read(AT_FDCWD, path, 0, CROW_MANIFEST_MAX_BYTES, &buf, &len, NULL);
    if (ret == CROW_EPATH)
        return crow_why(why, why_cap, CROW_EMANIFEST, "%s is not a regular file", path);
    if (ret == CROW_ELIMIT)
        return crow_why(why, why_cap, CROW_ELIMIT, "%s is larger than %u bytes", path,
                        CROW_MANIFEST_MAX_BYTES);
    if (ret)
        return crow_why(why, why_cap, ret, "cannot read %s: %s", path, crow_strerror(ret));
    ret = crow_manifest_parse((const uint8_t *)buf, len, m, why, why_cap);
    free(buf);
    return ret;
}
