/* Reading control-plane key files (see auth_file.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_file.h"
#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/small_file.h"

int crow_auth_file_read(const char *path, crow_control_auth_key_t *keys, size_t max, size_t *count, char *why,
                        size_t cap)
{
    char *text;
    size_t len;
    unsigned mode;
    int ret = crow_small_file_read(AT_FDCWD, path, O_NOCTTY, CROW_AUTH_FILE_MAX, &text, &len, &mode);
    if (ret == CROW_EPATH || ret == CROW_ELIMIT) {
        snprintf(why, cap, "%s: not a regular file of at most %u bytes", path, CROW_AUTH_FILE_MAX);
        return CROW_EPARSE;
    }
    if (ret) {
        snprintf(why, cap, "%s: %s", path, crow_strerror(ret));
        return ret;
    }
    if (mode & 077)
        crow_log_warn("%s: readable by others than its owner (mode %03o): chmod 600 it", path, mode & 0777);
    unsigned line;
    const char *reason;
    if ((ret = crow_control_auth_keys_parse(text, len, keys, max, count, &line, &reason)))
        snprintf(why, cap, "%s: line %u: %s", path, line, reason);
    explicit_bzero(text, len); /* secrets do not linger in freed memory */
    free(text);
    return ret;
}

int crow_auth_file_read_one(const char *path, crow_control_auth_key_t *key, char *why, size_t cap)
{
    crow_control_auth_key_t keys[2];
    size_t count = 0;
    int ret = crow_auth_file_read(path, keys, 2, &count, why, cap);
    if (ret == CROW_ELIMIT || (!ret && count != 1)) {
        snprintf(why, cap, "%s: wants exactly one key line (KIND NAME SECRET), has %s", path,
                 count ? "more" : "none");
        ret = CROW_EPARSE;
    }
    if (!ret)
        *key = keys[0];
    explicit_bzero(keys, sizeof keys);
    return ret;
}
