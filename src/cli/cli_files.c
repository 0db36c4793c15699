/* Whole-file reads and atomic writes for the commands that handle small files themselves
 * (manifests to sign, key files): synchronous, as a command's setup is, before any loop runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "crowcast/error.h"

int crow_cli_read_file(int dirfd, const char *path, int flags, size_t max, char **buf, size_t *len,
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

int crow_cli_write_atomically(const char *path, const void *buf, size_t len)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, n, "%s.part%ld", path, (long)getpid());
    int ret = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    for (size_t done = 0; done < len && !ret;) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno != EINTR)
            ret = -errno;
        else if (w > 0)
            done += (size_t)w;
    }
    if (!ret && fsync(fd) < 0)
        ret = -errno;
    if (close(fd) < 0 && !ret)
        ret = -errno;
    if (!ret && rename(tmp, path) < 0)
        ret = -errno;
    if (ret)
        unlink(tmp);
out:
    free(tmp);
    return ret;
}
