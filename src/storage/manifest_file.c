/* Reading a .torrent file whole, then crow_manifest_parse (see manifest_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "crowcast/error.h"
#include "crowcast/manifest_file.h"

int crow_manifest_file_load(const char *path, crow_manifest_t *m, char *why, size_t why_cap)
{
    memset(m, 0, sizeof *m);
    uint8_t *buf = NULL;
    int ret;
    /* O_NONBLOCK: opening a FIFO would wait for a writer; it is refused below as not a regular file
     * (on a regular file the flag changes nothing). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return crow_why(why, why_cap, -errno, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        ret = crow_why(why, why_cap, -errno, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = crow_why(why, why_cap, CROW_EMANIFEST, "%s is not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > CROW_MANIFEST_MAX_BYTES) {
        ret =
            crow_why(why, why_cap, CROW_ELIMIT, "%s is larger than %u bytes", path, CROW_MANIFEST_MAX_BYTES);
        goto out;
    }
    size_t size = (size_t)st.st_size, got = 0;
    if (!(buf = malloc(size ? size : 1))) {
        ret = crow_why(why, why_cap, -ENOMEM, "out of memory");
        goto out;
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = crow_why(why, why_cap, n < 0 ? -errno : CROW_EPARSE, "cannot read %s: %s", path,
                           n < 0 ? strerror(errno) : "file shrank while reading");
            goto out;
        }
        got += (size_t)n;
    }
    ret = crow_manifest_parse(buf, size, m, why, why_cap);
out:
    free(buf);
    close(fd);
    return ret;
}
