/* Loading the multicast fleet secret: a small file read once before the loop starts (like the
 * manifest), checked for size and permissions, then only the derived session key is kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "mcast_key.h"

int crow_mcast_key_open(crow_dgram_key_t *k, const char *path, const uint8_t release_id[CROW_SHA256_LEN],
                        const char *cmd, const char **used)
{
    k->mac = NULL;
    if (path && strcmp(path, "none") == 0)
        return 0;
    bool given = path != NULL;
    if (!given)
        path = CROW_MCAST_KEY_DEFAULT;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (!given && errno == ENOENT)
            return 0;
        int err = -errno;
        fprintf(stderr, "crowcast %s: --mcast-key %s: %s\n", cmd, path, crow_strerror(err));
        return err;
    }
    uint8_t secret[CROW_MCAST_SECRET_MAX + 1];
    struct stat st;
    int ret = fstat(fd, &st) ? -errno : 0;
    if (ret == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "crowcast %s: --mcast-key %s: not a regular file\n", cmd, path);
        ret = CROW_EUSAGE;
    } else if (ret == 0 && (st.st_mode & (S_IROTH | S_IWOTH))) {
        fprintf(stderr, "crowcast %s: --mcast-key %s: other users may read or change it (chmod 600 it)\n",
                cmd, path);
        ret = CROW_EUSAGE;
    }
    ssize_t n = ret == 0 ? read(fd, secret, sizeof secret) : 0;
    if (ret == 0 && n < 0)
        ret = -errno;
    close(fd);
    if (ret == 0 && (n < (ssize_t)CROW_MCAST_SECRET_MIN || n > (ssize_t)CROW_MCAST_SECRET_MAX)) {
        fprintf(stderr,
                "crowcast %s: --mcast-key %s: wants %u to %u bytes of secret, the file has %s%zd "
                "(make one with: head -c 32 /dev/urandom > FILE)\n",
                cmd, path, CROW_MCAST_SECRET_MIN, CROW_MCAST_SECRET_MAX,
                n > CROW_MCAST_SECRET_MAX ? "more than " : "",
                n > CROW_MCAST_SECRET_MAX ? (ssize_t)CROW_MCAST_SECRET_MAX : n);
        ret = CROW_EUSAGE;
    } else if (ret < 0 && ret != CROW_EUSAGE) {
        fprintf(stderr, "crowcast %s: --mcast-key %s: %s\n", cmd, path, crow_strerror(ret));
    }
    if (ret == 0)
        ret = crow_dgram_key_init(k, secret, (size_t)n, release_id);
    memset(secret, 0, sizeof secret);
    if (ret)
        return ret;
    *used = path;
    return 1;
}
