/* `crowcast sign`: adds a release signature to an existing manifest, for release engineers who
 * sign after the build (crowcast make --sign does it in one go). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "crowcast/ed25519.h"
#include "crowcast/error.h"
#include "crowcast/release_sig.h"
#include "crowcast/small_file.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: crowcast sign X.torrent --key KEY [-o OUT.torrent]\n\n"
                 "Signs the release a manifest describes with the Ed25519 private key KEY (crowcast\n"
                 "keygen): the signature covers the release id (SHA-256 of the bencoded info, hence every\n"
                 "name, length and piece hash) and goes into the top-level \"crowcast signatures\" list,\n"
                 "outside info, so the release id and info hash stay the same and stock clients still\n"
                 "read the manifest. A signature by the same key is replaced; other keys' signatures are\n"
                 "kept (sign with the old and the new key while rotating).\n\n"
                 "  --key KEY            the private key (PEM; group and others must not read it)\n"
                 "  -o, --output FILE    write the signed manifest there (default: replace X.torrent,\n"
                 "                       atomically)\n"
                 "  -h, --help           this text\n\n"
                 "Only a manifest in crowcast make's canonical form can be signed (re-encoding it must\n"
                 "give the same release id); anything else is refused.\n\n"
                 "Exit status: 0 signed, 2 bad usage, an invalid manifest or key, 3 a file cannot be\n"
                 "read or written.\n");
}

int crow_cmd_sign(int argc, char **argv)
{
    static const struct option options[] = {
        {"key", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key = NULL, *output = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        if (c == 'k') {
            key = optarg;
        } else if (c == 'o') {
            output = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return CROW_EXIT_OK;
        } else {
            return crow_cli_usage_error("sign", "unknown option");
        }
    }
    if (optind != argc - 1)
        return crow_cli_usage_error("sign", "expects exactly one X.torrent");
    if (!key)
        return crow_cli_usage_error("sign", "--key KEY is required");
    const char *path = argv[optind];
    if (!output)
        output = path;
    uint8_t secret[CROW_ED25519_SECRET_LEN], *signed_buf = NULL;
    char *in = NULL, why[256];
    size_t in_len, out_len;
    int exit_code = crow_cli_load_secret("sign", key, secret);
    if (exit_code)
        goto out;
    int ret = crow_small_file_read(AT_FDCWD, path, 0, CROW_MANIFEST_MAX_BYTES, &in, &in_len, NULL);
    if (ret) {
        fprintf(stderr, "crowcast sign: %s: %s\n", path, crow_strerror(ret));
        exit_code = ret > -4096 ? CROW_EXIT_IO : CROW_EXIT_USAGE;
        goto out;
    }
    if ((ret = crow_release_sign_encoded((const uint8_t *)in, in_len, secret, &signed_buf, &out_len, why,
                                         sizeof why))) {
        fprintf(stderr, "crowcast sign: %s: %s\n", path, why);
        exit_code = ret == -ENOMEM ? CROW_EXIT_IO : CROW_EXIT_USAGE;
        goto out;
    }
    if ((ret = crow_cli_write_atomically(output, signed_buf, out_len))) {
        fprintf(stderr, "crowcast sign: cannot write %s: %s\n", output, crow_strerror(ret));
        exit_code = CROW_EXIT_IO;
        goto out;
    }
    uint8_t public_key[CROW_ED25519_PUBLIC_LEN];
    char id[CROW_KEY_ID_HEX + 1];
    crow_ed25519_public(secret, public_key);
    crow_key_id(public_key, id);
    printf("signed %s with key %s\n", output, id);
    exit_code = CROW_EXIT_OK;
out:
    crow_ed25519_wipe(secret, sizeof secret);
    free(signed_buf);
    free(in);
    return exit_code;
}
