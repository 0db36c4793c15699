/* Key files on disk, for the commands that sign (make --sign, sign), those that check (get,
 * agent, verify, inspect with --trust) and those that sign control-plane requests (--key): reading a private
 * key that only its owner may read, and reading --trust, a public key file or a directory of them, into a
 * keyring. Formats and what the keys mean are in crowcast/release_sig.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../app/common/auth_file.h"
#include "commands.h"
#include "crowcast/ed25519.h"
#include "crowcast/error.h"
#include "crowcast/release_sig.h"
#include "crowcast/small_file.h"

#define KEY_FILE_MAX (256u * 1024) /* a trust file of CROW_KEYRING_MAX commented keys is ~20 KiB */

static int file_error(const char *cmd, const char *what, const char *path, int err)
{
    fprintf(stderr, "crowcast %s: %s %s: %s\n", cmd, what, path,
            err == CROW_EPATH    ? "not a regular file"
            : err == CROW_ELIMIT ? "too large for a key file"
                                 : crow_strerror(err));
    return err > -4096 ? CROW_EXIT_IO : CROW_EXIT_USAGE;
}

int crow_cli_load_secret(const char *cmd, const char *path, uint8_t secret[CROW_ED25519_SECRET_LEN])
{
    char *pem;
    size_t len;
    unsigned mode;
    int ret = crow_small_file_read(AT_FDCWD, path, O_NOFOLLOW, KEY_FILE_MAX, &pem, &len, &mode);
    if (ret)
        return file_error(cmd, "private key", path, ret);
    int exit_code = CROW_EXIT_USAGE;
    /* As ssh does: a secret that others can read may already be theirs. */
    if (mode & 077)
        fprintf(stderr, "crowcast %s: private key %s can be read by others (mode %04o): chmod 600 it\n", cmd,
                path, mode);
    else if ((ret = crow_ed25519_secret_from_pem(pem, len, secret)))
        fprintf(stderr, "crowcast %s: %s: %s\n", cmd, path,
                ret == CROW_EUNSUPPORTED ? "not an Ed25519 key"
                                         : "not an unencrypted PEM private key (crowcast keygen writes one)");
    else
        exit_code = 0;
    crow_ed25519_wipe(pem, len);
    free(pem);
    return exit_code;
}

/* Adds the keys of one file to kr. */
static int add_file(const char *cmd, int dirfd, const char *name, const char *shown, crow_keyring_t *kr)
{
    char *text, why[192];
    size_t len;
    int ret = crow_small_file_read(dirfd, name, 0, KEY_FILE_MAX, &text, &len, NULL);
    if (ret)
        return file_error(cmd, "--trust", shown, ret);
    ret = crow_keyring_add_text(kr, text, len, why, sizeof why);
    free(text);
    if (ret) {
        fprintf(stderr, "crowcast %s: --trust %s: %s\n", cmd, shown, why);
        return CROW_EXIT_USAGE;
    }
    return 0;
}

static bool is_pub(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".pub") == 0;
}

int crow_cli_opt_trust(const char *cmd, const char *path, crow_keyring_t *kr)
{
    memset(kr, 0, sizeof *kr);
    struct stat st;
    if (stat(path, &st) < 0)
        return file_error(cmd, "--trust", path, -errno);
    int ret = 0;
    if (!S_ISDIR(st.st_mode)) {
        ret = add_file(cmd, AT_FDCWD, path, path, kr);
    } else {
        DIR *d = opendir(path);
        if (!d)
            return file_error(cmd, "--trust", path, -errno);
        for (struct dirent *e; !ret && (e = readdir(d));) {
            if (!is_pub(e->d_name))
                continue;
            char shown[4096];
            snprintf(shown, sizeof shown, "%s/%s", path, e->d_name);
            ret = add_file(cmd, dirfd(d), e->d_name, shown, kr);
        }
        closedir(d);
    }
    if (!ret && kr->count == 0) {
        fprintf(stderr, "crowcast %s: --trust %s names no key (%s)\n", cmd, path,
                S_ISDIR(st.st_mode) ? "no *.pub file holds a crowcast-ed25519 line"
                                    : "no crowcast-ed25519 line");
        ret = CROW_EXIT_USAGE;
    }
    return ret;
}

int crow_cli_opt_auth_key(const char *cmd, const char *path, crow_control_auth_key_t *key)
{
    char why[PATH_MAX + 128];
    if (crow_auth_file_read_one(path, key, why, sizeof why))
        return crow_cli_usage_error(cmd, "--key %s", why);
    return 0;
}
