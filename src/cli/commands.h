/* The crowcast subcommands. Each lives in cmd_<name>.c and is listed once in commands.c.
 *
 * A command receives argv with argv[0] set to its own name, parses its options with getopt_long,
 * answers --help with its usage on stdout (exit 0), and returns one of the exit codes below. */
#ifndef CROWCAST_CLI_COMMANDS_H
#define CROWCAST_CLI_COMMANDS_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
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

/* The options commands share (cli_options.c): one spelling, one value check and, where the meaning
 * does not depend on the role, one help line each. A command lists those it takes in its own
 * getopt_long table (CROW_CLI_OPTION_TRACKER ..., or the group CROW_CLI_OPTIONS_TRACKER_CLIENT),
 * hands every code its switch does not know to crow_cli_opt_shared, and takes the values from its
 * struct crow_cli_shared after the loop. Their codes lie above every command's own (256 and up).
 * --tracker, --iface, --trust, --key and --mcast-key say in each command's help what they mean for
 * that role. */
enum crow_cli_shared_code {
    CROW_CLI_O_TRACKER = 1000, /* --tracker URL */
    CROW_CLI_O_NO_TRACKER,     /* --no-tracker */
    CROW_CLI_O_IFACE,          /* --iface ADDR (IPv4) */
    CROW_CLI_O_JSON,           /* --json */
    CROW_CLI_O_METRICS,        /* --metrics FILE */
    CROW_CLI_O_LOG_LEVEL,      /* --log-level LEVEL: sets the process's level at once */
    CROW_CLI_O_TLS_CA,         /* --tls-ca FILE: loaded at once for every https request of the process */
    CROW_CLI_O_TRUST,          /* --trust KEYS: read at once into a keyring */
    CROW_CLI_O_KEY,            /* --key FILE: a control-plane key (crow_cli_opt_auth_key reads it) */
    CROW_CLI_O_MCAST_KEY,      /* --mcast-key FILE|none */
};
/* One entry a line, as the table it is. */
/* clang-format off */
#define CROW_CLI_OPTION_TRACKER    {"tracker", required_argument, 0, CROW_CLI_O_TRACKER}
#define CROW_CLI_OPTION_NO_TRACKER {"no-tracker", no_argument, 0, CROW_CLI_O_NO_TRACKER}
#define CROW_CLI_OPTION_IFACE      {"iface", required_argument, 0, CROW_CLI_O_IFACE}
#define CROW_CLI_OPTION_JSON       {"json", no_argument, 0, CROW_CLI_O_JSON}
#define CROW_CLI_OPTION_METRICS    {"metrics", required_argument, 0, CROW_CLI_O_METRICS}
#define CROW_CLI_OPTION_LOG_LEVEL  {"log-level", required_argument, 0, CROW_CLI_O_LOG_LEVEL}
#define CROW_CLI_OPTION_TLS_CA     {"tls-ca", required_argument, 0, CROW_CLI_O_TLS_CA}
#define CROW_CLI_OPTION_TRUST      {"trust", required_argument, 0, CROW_CLI_O_TRUST}
#define CROW_CLI_OPTION_KEY        {"key", required_argument, 0, CROW_CLI_O_KEY}
#define CROW_CLI_OPTION_MCAST_KEY  {"mcast-key", required_argument, 0, CROW_CLI_O_MCAST_KEY}
/* The entries of every command that is a tracker's client on a host (get, seed, agent, probe). */
#define CROW_CLI_OPTIONS_TRACKER_CLIENT \
    CROW_CLI_OPTION_TRACKER, CROW_CLI_OPTION_IFACE, CROW_CLI_OPTION_JSON, CROW_CLI_OPTION_LOG_LEVEL, \
    CROW_CLI_OPTION_TLS_CA
/* clang-format on */

/* The help lines of the shared options whose meaning is the same in every command. */
#define CROW_CLI_USAGE_JSON_EVENTS                                                                           \
    "  --json                 machine-readable events on stdout, one JSON object a line\n"
#define CROW_CLI_USAGE_METRICS                                                                               \
    "  --metrics FILE         Prometheus text metrics in FILE (node_exporter's textfile\n"                   \
    "                         collector), rewritten atomically every 5 s and at exit\n"
#define CROW_CLI_USAGE_TLS_CA                                                                                \
    "  --tls-ca FILE          the CAs (PEM) an https:// tracker's certificate must chain to (default:\n"     \
    "                         the system's store)\n"
#define CROW_CLI_USAGE_LOG_LEVEL "  --log-level LEVEL      error, warn, info (default) or debug\n"

struct crow_cli_shared {
    const char *tracker, *metrics, *key, *mcast_key, *log_level; /* as given (NULL: not given) */
    bool no_tracker, json;
    struct in_addr iface;       /* default 127.0.0.1 */
    struct crow_keyring *trust; /* the keys of --trust (NULL: not given) */
    char trust_path[PATH_MAX];  /* its absolute path, for children ("" without) */
    char tls_ca[PATH_MAX];      /* --tls-ca's absolute path, for children ("" without) */
};
/* Empty values and the defaults above. */
void crow_cli_shared_init(struct crow_cli_shared *s);
/* Takes option CODE with value ARG (optarg) of command CMD into *s and returns 0; on a bad value, or
 * a code that is not a shared option (getopt's '?' included), prints the usage error and returns
 * its exit code. */
int crow_cli_opt_shared(const char *cmd, int code, const char *arg, struct crow_cli_shared *s);

/* An argv built for a child crowcast command (cli_options.c), with each option checked against that
 * command's getopt table, so a renamed option fails at once (CROW_EUSAGE) rather than in the child.
 * crow_cli_argv_opt adds "--NAME VALUE" (VALUE NULL: left out; an option without an argument is added
 * alone when VALUE is not NULL); crow_cli_argv_end NULL-terminates and returns 0, CROW_ESPACE (more
 * than cap entries) or CROW_EUSAGE. */
struct option;
struct crow_cli_argv {
    char **argv;
    size_t cap, n;
    const struct option *table;
    int err;
};
void crow_cli_argv_word(struct crow_cli_argv *b, const char *word);
void crow_cli_argv_opt(struct crow_cli_argv *b, const char *dashed_name, const char *value);
int crow_cli_argv_end(struct crow_cli_argv *b);

struct crow_agent_get_args;
struct crow_agent_verify_args;
/* The agent's children (crowcast/agent.h), spelt next to their option tables: cmd_get.c, cmd_verify.c. */
int crow_cli_get_argv(char **argv, size_t cap, const struct crow_agent_get_args *g);
int crow_cli_verify_argv(char **argv, size_t cap, const struct crow_agent_verify_args *v);

/* Small files (cli_files.c; reads: crowcast/small_file.h). crow_cli_write_atomically writes buf next to
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
struct crow_control_auth_key;
/* Reads --key PATH, a file of one control-plane key line, into *key; prints why and returns the
 * usage exit code when it cannot. */
int crow_cli_opt_auth_key(const char *cmd, const char *path, struct crow_control_auth_key *key);

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
