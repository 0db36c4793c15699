/* `crowcast token new`: a fresh control-plane identity (control_auth.h): its key line written to a
 * file only its owner reads (the client's --key), and the same line printed for the tracker's --auth. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "crowcast/control_auth.h"
#include "crowcast/error.h"

static const char usage[] =
    "usage: crowcast token new operator|agent NAME -o FILE\n"
    "\n"
    "Creates a control-plane identity: a random 32-byte secret for NAME (an operator's name, or the\n"
    "host name an agent polls for; 1-63 of [A-Za-z0-9._-]). Writes its key line to FILE (mode 0600,\n"
    "never overwritten) for `crowcast rollout --key FILE` or `crowcast agent --key FILE`, and prints the\n"
    "same line on stdout: append it to the tracker's --auth file and send the tracker SIGHUP (the\n"
    "packaged service: systemctl restart crowcast-tracker). Rotate: a new token for the same NAME\n"
    "replaces its line; revoke: delete the line; then SIGHUP (or restart) again.\n"
    "The line is 'KIND NAME SECRET' with SECRET 64 hex digits; `openssl rand -hex 32` makes one too.\n"
    "\n"
    "Exit status: 0 done, 2 bad usage, 3 FILE cannot be written (it exists already, or a system error).\n";

int crow_cmd_token(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return CROW_EXIT_OK;
    }
    if (argc != 6 || strcmp(argv[1], "new") || strcmp(argv[4], "-o")) {
        fputs(usage, stderr);
        return CROW_EXIT_USAGE;
    }
    const char *kind = argv[2], *name = argv[3], *path = argv[5], *why;
    char line[CROW_AUTH_LINE_MAX + 16];
    crow_control_auth_key_t key;
    /* The parser is the one judge of a kind and a name: it gets the line with a placeholder secret. */
    int n = snprintf(line, sizeof line, "%s %s %064d", kind, name, 0);
    if (n < 0 || (size_t)n >= sizeof line || crow_control_auth_key_parse(line, (size_t)n, &key, &why))
        return crow_cli_usage_error("token", "'%s %s': %s", kind, name,
                                    n > 0 && (size_t)n < sizeof line ? why : "too long");
    if (crow_random_bytes(key.secret, sizeof key.secret)) {
        fprintf(stderr, "crowcast token: no random bytes from the system\n");
        return CROW_EXIT_IO;
    }
    long len = crow_control_auth_key_format(&key, line, sizeof line);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ret = fd < 0 ? -errno : 0;
    if (!ret && (write(fd, line, (size_t)len) != len || fsync(fd)))
        ret = -errno ? -errno : -EIO;
    if (fd >= 0 && close(fd) && !ret)
        ret = -errno;
    if (ret) {
        fprintf(stderr, "crowcast token: %s: %s\n", path, crow_strerror(ret));
        if (fd >= 0)
            unlink(path);
        explicit_bzero(&key, sizeof key);
        explicit_bzero(line, sizeof line);
        return CROW_EXIT_IO;
    }
    fputs(line, stdout);
    explicit_bzero(&key, sizeof key);
    explicit_bzero(line, sizeof line);
    return CROW_EXIT_OK;
}
