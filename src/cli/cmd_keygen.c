/* `crowcast keygen`: makes an Ed25519 key pair for signing releases: OUT, the private key (PEM,
 * mode 0600), and OUT.pub, its public key line for the hosts' --trust. Never overwrites a file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "crowcast/ed25519.h"
#include "crowcast/error.h"
#include "crowcast/release_sig.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: crowcast keygen OUT [--comment TEXT]\n\n"
            "Makes an Ed25519 key pair for signing releases (crowcast make --sign, crowcast sign):\n"
            "  OUT      the private key, PKCS#8 PEM (as `openssl genpkey -algorithm ed25519` writes),\n"
            "           mode 0600. Whoever holds it can sign releases your hosts will run: keep it\n"
            "           on the build or release machine, or offline, never on the hosts.\n"
            "  OUT.pub  the public key, one line: `%s <64 hex digits> <comment>`. Copy it to\n"
            "           the hosts and give it (or a directory of such files) to get/agent --trust.\n"
            "Neither file may exist yet: keygen never replaces a key.\n\n"
            "  --comment TEXT  the public key's comment (default: OUT's file name); printable, at\n"
            "                  most %u bytes\n"
            "  -h, --help      this text\n\n"
            "It prints the key id (the first 8 bytes of the SHA-256 of the public key, in hex), the\n"
            "name other commands show for the key.\n\n"
            "Exit status: 0 written, 2 bad usage, 3 a file exists or cannot be written.\n",
            CROW_PUBKEY_TAG, CROW_PUBKEY_COMMENT_MAX);
}

static int write_all(int fd, const char *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno != EINTR)
            return -errno;
        if (w > 0)
            done += (size_t)w;
    }
    return fsync(fd) < 0 ? -errno : 0;
}

/* Creates path (O_EXCL: never an existing file) with `mode` and writes text into it. */
static int create_file(const char *path, unsigned mode, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int ret = write_all(fd, text, len);
    if (close(fd) < 0 && !ret)
        ret = -errno;
    if (ret)
        unlink(path);
    return ret;
}

int crow_cmd_keygen(int argc, char **argv)
{
    static const struct option options[] = {
        {"comment", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *comment = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'c') {
            comment = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return CROW_EXIT_OK;
        } else {
            return crow_cli_usage_error("keygen", "unknown option");
        }
    }
    if (optind != argc - 1)
        return crow_cli_usage_error("keygen", "expects exactly one OUT (the private key's path)");
    const char *out = argv[optind];
    char pub_path[4096], name[4096];
    if (snprintf(pub_path, sizeof pub_path, "%s.pub", out) >= (int)sizeof pub_path)
        return crow_cli_usage_error("keygen", "OUT is too long");
    snprintf(name, sizeof name, "%s", out);
    if (!comment)
        comment = basename(name);

    uint8_t secret[CROW_ED25519_SECRET_LEN], public_key[CROW_ED25519_PUBLIC_LEN];
    char pem[CROW_ED25519_PEM_MAX], line[CROW_PUBKEY_LINE_MAX + 2], id[CROW_KEY_ID_HEX + 1];
    int exit_code = CROW_EXIT_IO;
    long line_len = 0, pem_len = 0;
    if (crow_ed25519_generate(secret, public_key) ||
        (pem_len = crow_ed25519_secret_to_pem(secret, pem, sizeof pem)) < 0) {
        fprintf(stderr, "crowcast keygen: OpenSSL cannot make an Ed25519 key\n");
        goto out;
    }
    if ((line_len = crow_pubkey_format(public_key, comment, line, sizeof line)) < 0) {
        exit_code = crow_cli_usage_error("keygen", "--comment must be printable and at most %u bytes",
                                         CROW_PUBKEY_COMMENT_MAX);
        goto out;
    }
    /* The public file first: if either exists, nothing is written (the secret is never left alone
     * without its public half, nor is an existing pair half replaced). */
    int ret = create_file(pub_path, 0644, line, (size_t)line_len);
    if (ret) {
        fprintf(stderr, "crowcast keygen: %s: %s%s\n", pub_path, crow_strerror(ret),
                ret == -EEXIST ? " (keygen never replaces a key)" : "");
        goto out;
    }
    if ((ret = create_file(out, 0600, pem, (size_t)pem_len))) {
        fprintf(stderr, "crowcast keygen: %s: %s%s\n", out, crow_strerror(ret),
                ret == -EEXIST ? " (keygen never replaces a key)" : "");
        unlink(pub_path);
        goto out;
    }
    crow_key_id(public_key, id);
    printf("wrote %s (private key: keep it secret) and %s (public key, for --trust)\nkey id: %s\n", out,
           pub_path, id);
    exit_code = CROW_EXIT_OK;
out:
    crow_ed25519_wipe(secret, sizeof secret);
    crow_ed25519_wipe(pem, sizeof pem);
    return exit_code;
}
