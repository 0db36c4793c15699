/* Whole small files (keys, certificates, manifests to sign) read at once: synchronous, as a command's
 * setup or a reload on SIGHUP is; never blocks on a FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/small_file.h"

int crow_small_file_read(int dirfd, const char *path, int flags, size_t max, char **buf, size_t *len,
                         unsigned *mode)
{
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer; it is refused below instead
     * (on a regular file the flag changes nothing). */
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags);
    if (fd < 0)
        return -errno;
    struct stat st;
    int ret = 0;
    char *data = NULL;
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = CROW_EPATH;
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        ret = CROW_ELIMIT;
        goto out;
    }
    size_t size = (size_t)st.st_size, got = 0;
    if (!(data = malloc(size + 1))) {
        ret = -ENOMEM;
        goto out;
    }
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = n < 0 ? -errno : -EIO; /* the file shrank while we read it */
            goto out;
        }
        got += (size_t)n;
    }
    data[got] = '\0';
    if (mode)
        *mode = (unsigned)st.st_mode & 07777;
    *buf = data;
    *len = got;
    data = NULL;
out:
    free(data);
    close(fd);
    return ret;
}
