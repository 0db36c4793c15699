/* The crowcast subcommands. Each lives in cmd_<name>.c and is listed once in commands.c.
 *
 * A command receives argv with argv[0] set to its own name, parses its options with getopt_long,
 * answers --help with its usage on stdout (exit 0), and returns one of the exit codes below. */
#ifndef CROWCAST_CLI_COMMANDS_H
#define CROWCAST_CLI_COMMANDS_H

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

enum crow_exit {
    CROW_EXIT_OK = 0,
    CROW_EXIT_FAIL = 1,  /* the job ran and failed (e.g. verify found bad pieces) */
    CROW_EXIT_USAGE = 2, /* bad arguments, or input in a bad format */
    CROW_EXIT_IO = 3,    /* a system error: file, disk, network */
    /* with --trust: the manifest is unsigned, signed by no trusted key, or its signature is bad */
    CROW_EXIT_UNTRUSTED = 5,
};

struct crow_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

extern const struct crow_command crow_commands[];

/* Prints "crowcast: <message>" on stderr and returns CROW_EXIT_USAGE, with a pointer to --help. */
int crow_cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option values several commands share (cli_options.c). Each parses ARG, the value of option OPT
 * (spelled as on the command line, e.g. "--iface") of command CMD, into *out and returns 0; on a
 * bad value it prints the usage error through crow_cli_usage_error and returns its exit code. */
int crow_cli_opt_ipv4(const char *cmd, const char *opt, const char *arg, struct in_addr *out);
int crow_cli_opt_endpoint(const char *cmd, const char *opt, const char *arg, struct sockaddr_in *out);
/* As crow_cli_opt_endpoint, but the address must be a multicast group. */
int crow_cli_opt_group(const char *cmd, const char *opt, const char *arg, struct sockaddr_in *out);
/* Any number of seconds crow_parse_seconds takes; the message names ARG, not the option. */
int crow_cli_opt_seconds(const char *cmd, const char *arg, double *out);
/* Parses --log-level ARG and sets the process's log level (crow_log_set_level). */
int crow_cli_opt_log_level(const char *cmd, const char *arg);

/* --tls-ca FILE, one spelling for every command that talks to a tracker (get, seed, agent, rollout,
 * probe): the PEM CAs an https:// tracker's certificate must chain to (default: the system's store).
 * crow_cli_opt_tls_ca loads FILE for every https request of this process and, with abs, writes its
 * absolute path there (for children); on a bad file it prints the usage error and returns its code. */
#define CROW_CLI_O_TLS_CA 1000 /* getopt_long's value: above every command's own options */
#define CROW_CLI_TLS_CA_OPTION                                                                               \
    {                                                                                                        \
        "tls-ca", required_argument, 0, CROW_CLI_O_TLS_CA                                                    \
    }
#define CROW_CLI_TLS_CA_USAGE                                                                                \
    "  --tls-ca FILE          the CAs (PEM) an https:// tracker's certificate must chain to (default:\n"     \
    "                         the system's store)\n"
int crow_cli_opt_tls_ca(const char *cmd, const char *arg, char *abs, size_t abs_cap);

/* Small files (cli_files.c; reads: app/small_file.h). crow_cli_write_atomically writes buf next to
 * PATH and renames it into place (mode 0644 before the umask), so a reader never sees half a file.
 * Returns 0 or -errno. */
int crow_cli_write_atomically(const char *path, const void *buf, size_t len);

struct crow_keyring;
/* Key files (cli_keys.c). Both print their error and return an exit code (0 when loaded).
 * crow_cli_load_secret reads an Ed25519 private key in PEM, refusing a file that group or others
 * may read; crow_cli_opt_trust fills *kr from --trust PATH: a key file (one or more
 * crowcast-ed25519 lines), or a directory whose *.pub files are read. PATH must name a key. */
int crow_cli_load_secret(const char *cmd, const char *path, uint8_t secret[32]);
int crow_cli_opt_trust(const char *cmd, const char *path, struct crow_keyring *kr);

int crow_cmd_help(int argc, char **argv);
int crow_cmd_demo(int argc, char **argv);
int crow_cmd_seed(int argc, char **argv);
int crow_cmd_get(int argc, char **argv);
int crow_cmd_version(int argc, char **argv);
int crow_cmd_make(int argc, char **argv);
int crow_cmd_inspect(int argc, char **argv);
int crow_cmd_keygen(int argc, char **argv);
int crow_cmd_sign(int argc, char **argv);
int crow_cmd_verify(int argc, char **argv);
int crow_cmd_diff(int argc, char **argv);
int crow_cmd_tracker(int argc, char **argv);
int crow_cmd_rollout(int argc, char **argv);
int crow_cmd_agent(int argc, char **argv);
int crow_cmd_token(int argc, char **argv);
int crow_cmd_probe(int argc, char **argv);
int crow_cmd_sim(int argc, char **argv);

#endif
