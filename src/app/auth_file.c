/* Reading control-plane key files (see auth_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_file.h"
#include "crowcast/error.h"
#include "crowcast/log.h"

int crow_auth_file_read(const char *path, crow_auth_key_t *keys, size_t max, size_t *count, char *why,
                        size_t cap)
{
    int ret = 0, fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    char *text = NULL;
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        ret = -errno;
        snprintf(why, cap, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CROW_AUTH_FILE_MAX) {
        ret = CROW_EPARSE;
        snprintf(why, cap, "%s: not a regular file of at most %u bytes", path, CROW_AUTH_FILE_MAX);
        goto out;
    }
    if (st.st_mode & 077)
        crow_log_warn("%s: readable by others than its owner (mode %03o): chmod 600 it", path,
                      (unsigned)(st.st_mode & 0777));
    if (!(text = malloc((size_t)st.st_size + 1))) {
        ret = -ENOMEM;
        snprintf(why, cap, "%s: out of memory", path);
        goto out;
    }
    size_t len = 0;
    for (ssize_t n; len < (size_t)st.st_size; len += (size_t)n)
        if ((n = read(fd, text + len, (size_t)st.st_size - len)) <= 0) {
            ret = n < 0 ? -errno : CROW_EPARSE;
            snprintf(why, cap, "%s: %s", path, n < 0 ? strerror(errno) : "shorter than it said");
            goto out;
        }
    unsigned line;
    const char *reason;
    if ((ret = crow_auth_keys_parse(text, len, keys, max, count, &line, &reason)))
        snprintf(why, cap, "%s: line %u: %s", path, line, reason);
out:
    if (text)
        explicit_bzero(text, (size_t)st.st_size); /* secrets do not linger in freed memory */
    free(text);
    if (fd >= 0)
        close(fd);
    return ret;
}

int crow_auth_file_read_one(const char *path, crow_auth_key_t *key, char *why, size_t cap)
{
    crow_auth_key_t keys[2];
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
