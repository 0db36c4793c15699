/* `crowcast agent`: option parsing for the rollout agent. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../app/common/auth_file.h"
#include "commands.h"
#include "crowcast/agent.h"
#include "crowcast/agent_proto.h"
#include "crowcast/log.h"
#include "crowcast/release_sig.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"

static const char usage[] =
    "usage: crowcast agent --tracker URL --dir DIR [options]\n"
    "\n"
    "The rollout agent: runs on every host until SIGINT/SIGTERM, long-polls the tracker for the\n"
    "orders of a staged rollout (crowcast rollout), and reports every step back.\n"
    "  download  fetches the release's manifest from the tracker and runs `crowcast get` (multicast\n"
    "            from the rack's group + TCP neighbours); the verified release appears whole, by one\n"
    "            rename, at DIR/<name>/<release id>/<name>. A release already there is verified,\n"
    "            not fetched again; a restarted agent resumes an interrupted download. Pieces the\n"
    "            release of that name this host runs already has are taken from it (get\n"
    "            --previous), not fetched.\n"
    "  activate  only a release that verified: runs --activate (default: points the symlink\n"
    "            DIR/<name>/current at <release id>, atomically), then --health.\n"
    "  rollback  the same command with CROWCAST_ACTION=rollback and the previous release, then --health.\n"
    "Commands run with /bin/sh -c and get CROWCAST_ACTION (activate|rollback), CROWCAST_RELEASE_ID,\n"
    "CROWCAST_RELEASE_NAME, CROWCAST_RELEASE_DIR (DIR/<name>/<id>), CROWCAST_PREVIOUS_ID and\n"
    "CROWCAST_PREVIOUS_DIR (the release the host ran before; may be empty). DIR/.crowcast-agent keeps\n"
    "the current and previous release per name and the reports the tracker has not acknowledged yet.\n"
    "\n"
    "  --tracker URL          http[s]://ADDR:PORT of the tracker (its /agent/* endpoints and /announce)\n"
    "  --dir DIR              where releases are published (created when missing)\n"
    "  --host NAME            the name the tracker knows this host by (default: the host name)\n"
    "  --key FILE             this host's control-plane key: one 'agent HOST SECRET' line (crowcast\n"
    "                         token new agent HOST); signs every poll and report. HOST is the host\n"
    "                         name (--host, when given, must be the same)\n"
    "  --rack NAME            sent with every poll; believed only by a tracker without --auth (a\n"
    "                         tracker with --auth takes the rack from its racks file)\n"
    "  --iface ADDR           source address of every connection; get joins multicast on it\n"
    "                         (default 127.0.0.1)\n"
    "  --activate CMD         activation command (default: switch DIR/<name>/current)\n"
    "  --health CMD           health command after activation or rollback; exit 0 = healthy\n"
    "                         (default: healthy)\n"
    "  --hook-timeout S       an activate or health command running longer is killed (default 300)\n"
    "  --seed-time S          get keeps serving neighbours S seconds after publishing (default 60)\n"
    "  --mcast-key FILE       passed on to every get: the fleet's multicast secret (default: get's,\n"
    "                         /etc/crowcast/mcast.key if it exists)\n"
    "  --poll-wait S          how long the tracker may hold a poll, 0..30 (default 20)\n"
    "  --trust KEYS           download, verify and activate only releases a key of KEYS signed\n"
    "                         (crowcast make --sign): a public key file (crowcast-ed25519 lines) or\n"
    "                         a directory of *.pub files, read at start. Any other release is\n"
    "                         refused before a byte of it is fetched, and the step is reported\n"
    "                         failed to the tracker with the reason. Default: any "
    "release\n" CROW_CLI_USAGE_JSON_EVENTS CROW_CLI_USAGE_TLS_CA CROW_CLI_USAGE_LOG_LEVEL "\n"
    "As a service: tools/crowcast-agent.service (systemd) reads TRACKER, DIR, HOST, RACK, IFACE,\n"
    "ACTIVATE, HEALTH, TRUST from /etc/crowcast/agent.env; see the README.\n"
    "\n"
    "Exit status: 0 stopped by a signal; 2 bad usage or a state file that does not decode; 3 DIR\n"
    "or io_uring unusable.\n";

int crow_cmd_agent(int argc, char **argv)
{
    enum { O_DIR = 256, O_HOST, O_RACK, O_ACTIVATE, O_HEALTH, O_HOOK_TIMEOUT, O_SEED_TIME, O_POLL_WAIT };
    static const struct option opts[] = {
        CROW_CLI_OPTIONS_TRACKER_CLIENT,
        {"dir", required_argument, 0, O_DIR},
        {"host", required_argument, 0, O_HOST},
        {"rack", required_argument, 0, O_RACK},
        {"activate", required_argument, 0, O_ACTIVATE},
        {"health", required_argument, 0, O_HEALTH},
        {"hook-timeout", required_argument, 0, O_HOOK_TIMEOUT},
        {"seed-time", required_argument, 0, O_SEED_TIME},
        {"poll-wait", required_argument, 0, O_POLL_WAIT},
        CROW_CLI_OPTION_TRUST,
        CROW_CLI_OPTION_MCAST_KEY,
        CROW_CLI_OPTION_KEY,
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct crow_agent_config cfg = {.hook_timeout = 300,
                                    .seed_time = 60,
                                    .poll_wait = 20,
                                    .exe = "/proc/self/exe",
                                    .get_argv = crow_cli_get_argv,
                                    .verify_argv = crow_cli_verify_argv};
    /* Children (get, verify) run this very executable: /proc/self/exe of the child is the one it
     * was forked from, even when the file on disk was replaced by an upgrade meanwhile. */
    static struct crow_cli_shared sh; /* its paths outlive this function: the agent runs on them */
    crow_cli_shared_init(&sh);
    char hostname[256] = "";
    static char mcast_key_path[PATH_MAX];
    static crow_control_auth_key_t key;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        double s;
        int err;
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return CROW_EXIT_OK;
        case O_DIR:
            cfg.dir = optarg;
            break;
        case O_HOST:
            cfg.host = optarg;
            break;
        case O_RACK:
            cfg.rack = optarg;
            break;
        case O_ACTIVATE:
            cfg.activate = optarg;
            break;
        case O_HEALTH:
            cfg.health = optarg;
            break;
        case O_HOOK_TIMEOUT:
        case O_SEED_TIME:
        case O_POLL_WAIT:
            if (crow_parse_seconds(optarg, &s) || (c == O_POLL_WAIT && s > CROW_AGENT_WAIT_MAX) ||
                (c == O_HOOK_TIMEOUT && s <= 0))
                return crow_cli_usage_error("agent", "'%s' is not a valid number of seconds here", optarg);
            if (c == O_HOOK_TIMEOUT)
                cfg.hook_timeout = s;
            else if (c == O_SEED_TIME)
                cfg.seed_time = s;
            else
                cfg.poll_wait = (unsigned)s;
            break;
        default:
            if ((err = crow_cli_opt_shared("agent", c, optarg, &sh)))
                return err;
        }
    }
    /* The get children read the same files whatever directory they start in: absolute paths
     * (--mcast-key none passes as is). */
    if (sh.mcast_key && strcmp(sh.mcast_key, "none") != 0 && !realpath(sh.mcast_key, mcast_key_path))
        return crow_cli_usage_error("agent", "--mcast-key %s: %s", sh.mcast_key, strerror(errno));
    cfg.mcast_key = sh.mcast_key && strcmp(sh.mcast_key, "none") != 0 ? mcast_key_path : sh.mcast_key;
    cfg.tracker = sh.tracker;
    cfg.iface = sh.iface;
    cfg.json = sh.json;
    cfg.log_level = sh.log_level;
    cfg.trust = sh.trust;
    cfg.trust_path = sh.trust ? sh.trust_path : NULL;
    cfg.tls_ca = sh.tls_ca[0] ? sh.tls_ca : NULL;
    const char *key_path = sh.key;
    if (optind != argc)
        return crow_cli_usage_error("agent", "unexpected argument '%s'", argv[optind]);
    if (!cfg.tracker || !cfg.dir)
        return crow_cli_usage_error("agent", "--tracker URL and --dir DIR are required");
    if (key_path) {
        int err = crow_cli_opt_auth_key("agent", key_path, &key);
        if (err)
            return err;
        if (key.kind != CROW_AUTH_AGENT)
            return crow_cli_usage_error("agent", "--key %s holds an operator key, not an agent one",
                                        key_path);
        if (cfg.host && strcmp(cfg.host, key.name))
            return crow_cli_usage_error("agent", "--host %s but --key %s is for host %s", cfg.host, key_path,
                                        key.name);
        cfg.host = key.name;
        cfg.key = &key;
    }
    if (!cfg.host) {
        if (gethostname(hostname, sizeof hostname - 1))
            return crow_cli_usage_error("agent", "no host name: give --host");
        cfg.host = hostname;
    }
    if (!cfg.host[0] || strlen(cfg.host) > 63)
        return crow_cli_usage_error("agent", "--host wants 1 to 63 characters");
    char role[96];
    snprintf(role, sizeof role, "agent %s", cfg.host);
    crow_log_set_role(role);
    if (cfg.trust)
        crow_log_info("trusting %u release signing key%s from %s", cfg.trust->count,
                      cfg.trust->count == 1 ? "" : "s", cfg.trust_path);
    else
        crow_log_info("no --trust: releases are run whether signed or not");
    return crow_agent_run(&cfg);
}
