/* Atomic writes for the commands that write small files themselves (signed manifests, key files):
 * synchronous, as a command's setup is, before any loop runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "crowcast/error.h"

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
