/* `crowcast get`: option parsing for the getter role. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "crowcast/agent.h"
#include "crowcast/getter.h"
#include "crowcast/log.h"
#include "crowcast/release_sig.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"

static const char usage[] =
    "usage: crowcast get X.torrent -o DIR [options]\n"
    "\n"
    "Receives the release from multicast, repairs gaps over TCP from neighbours, verifies every\n"
    "piece (SHA-256) and publishes DIR/<name> atomically. A restarted get resumes from what it has.\n"
    "\n"
    "  -o, --output DIR       where the release is published (staging in DIR/.crowcast-staging)\n"
    "  --tracker URL          announce to this tracker only: it assigns the multicast group and\n"
    "                         the neighbours. Default: the manifest's trackers (its announce-list\n"
    "                         tiers in order, failing over to the next, else its announce URL;\n"
    "                         http[s]://A.B.C.D:PORT/ URLs only, others are skipped with a warning)\n"
    "  --no-tracker           announce to no tracker (then --mcast or --peer names the source)\n"
    "  --mcast GROUP:PORT     join this multicast group (instead of the tracker's)\n"
    "  --no-mcast             TCP only\n"
    "  --iface ADDR           interface address to join on and connect from (default 127.0.0.1)\n"
    "  --peer ADDR:PORT       a static TCP peer (repeatable; as well as the tracker's)\n"
    "  --listen ADDR:PORT     where neighbours connect to us (default: --iface, any port)\n"
    "  --mcast-key FILE       the fleet's multicast secret (16-64 random bytes, mode 600): take only\n"
    "                         datagrams it authenticates (default: /etc/crowcast/mcast.key if it\n"
    "                         exists; 'none': take unauthenticated datagrams)\n"
    "  --mcast-timeout S      once a source is known, seconds without a datagram before fetching\n"
    "                         over TCP until the stream comes back (default 3; at most 1 s for a\n"
    "                         stream that has shown no datagram at all; 0: wait for ever)\n"
    "  --relay-rate RATE      bits/s of the stream into the rack when the tracker names this peer\n"
    "                         its relayed rack's relay (racks file: relayed; default 1G, as seed)\n"
    "  --seed-time S          keep seeding S seconds after completion (default 0), or until the\n"
    "                         tracker reports the whole rack complete\n"
    "  --trust KEYS           fetch the release only when a key of KEYS signed it (crowcast make\n"
    "                         --sign): a public key file (crowcast-ed25519 lines, as keygen's\n"
    "                         OUT.pub) or a directory of *.pub files. An unsigned release, one signed\n"
    "                         by other keys only, or whose signature does not verify is refused\n"
    "                         before anything is announced, joined, connected to or written (exit 5)\n"
    "  --previous OLD.torrent with --previous-path PATH: before fetching, take every piece that\n"
    "                         the previous release OLD, on disk at PATH (its file or top\n"
    "                         directory), already has (same SHA-256 and size), checking each\n"
    "                         (crowcast make --previous keeps unchanged files' pieces)\n"
    "  --previous-path PATH   where the previous release lies\n"
    "  --on-complete CMD      run CMD (sh -c) after publishing; CROWCAST_RELEASE_PATH and\n"
    "                         CROWCAST_RELEASE_ID are in its environment\n"
    "  --progress             live view on the terminal (default when stderr is a "
    "terminal)\n" CROW_CLI_USAGE_JSON_EVENTS CROW_CLI_USAGE_METRICS CROW_CLI_USAGE_TLS_CA
        CROW_CLI_USAGE_LOG_LEVEL "\n"
    "Test-only (loss handling without a special network):\n"
    "  --test-loss PPM        drop PPM of every million DATA datagrams, deterministically\n"
    "  --test-loss-seed N     seed of that choice (default 1)\n"
    "  --test-exit-after S    exit abruptly after S seconds (resume tests)\n"
    "\n"
    "Exit status: 0 verified and published; 1 the sources ended with pieces missing (they are\n"
    "listed); 2 bad usage or manifest; 3 disk or network error (nothing published); 4 published but\n"
    "the --on-complete command failed; 5 --trust refused the release; 130 interrupted.\n";

enum {
    O_MCAST = 256,
    O_NO_MCAST,
    O_PEER,
    O_LISTEN,
    O_MTIMEOUT,
    O_SEED_TIME,
    O_ON_COMPLETE,
    O_PROGRESS,
    O_LOSS,
    O_LOSS_SEED,
    O_EXIT_AFTER,
    O_PREVIOUS,
    O_PREVIOUS_PATH,
    O_RELAY_RATE
};
static const struct option get_options[] = {
    CROW_CLI_OPTIONS_TRACKER_CLIENT,
    {"output", required_argument, 0, 'o'},
    CROW_CLI_OPTION_NO_TRACKER,
    {"mcast", required_argument, 0, O_MCAST},
    {"no-mcast", no_argument, 0, O_NO_MCAST},
    {"peer", required_argument, 0, O_PEER},
    {"listen", required_argument, 0, O_LISTEN},
    {"mcast-timeout", required_argument, 0, O_MTIMEOUT},
    CROW_CLI_OPTION_MCAST_KEY,
    {"seed-time", required_argument, 0, O_SEED_TIME},
    {"relay-rate", required_argument, 0, O_RELAY_RATE},
    {"on-complete", required_argument, 0, O_ON_COMPLETE},
    CROW_CLI_OPTION_TRUST,
    {"progress", no_argument, 0, O_PROGRESS},
    CROW_CLI_OPTION_METRICS,
    {"test-loss", required_argument, 0, O_LOSS},
    {"test-loss-seed", required_argument, 0, O_LOSS_SEED},
    {"test-exit-after", required_argument, 0, O_EXIT_AFTER},
    {"previous", required_argument, 0, O_PREVIOUS},
    {"previous-path", required_argument, 0, O_PREVIOUS_PATH},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

int crow_cli_get_argv(char **argv, size_t cap, const struct crow_agent_get_args *g)
{
    struct crow_cli_argv b = {.argv = argv, .cap = cap, .table = get_options};
    crow_cli_argv_word(&b, g->exe);
    crow_cli_argv_word(&b, "get");
    crow_cli_argv_word(&b, g->torrent);
    crow_cli_argv_opt(&b, "--output", g->out);
    crow_cli_argv_opt(&b, "--tracker", g->tracker);
    crow_cli_argv_opt(&b, "--iface", g->iface);
    crow_cli_argv_opt(&b, "--json", "");
    crow_cli_argv_opt(&b, "--seed-time", g->seed_time);
    crow_cli_argv_opt(&b, "--previous", g->previous);
    crow_cli_argv_opt(&b, "--previous-path", g->previous_path);
    crow_cli_argv_opt(&b, "--log-level", g->log_level);
    crow_cli_argv_opt(&b, "--trust", g->trust);
    crow_cli_argv_opt(&b, "--tls-ca", g->tls_ca);
    crow_cli_argv_opt(&b, "--mcast-key", g->mcast_key);
    return crow_cli_argv_end(&b);
}

int crow_cmd_get(int argc, char **argv)
{
    struct crow_getter_config cfg = {.mcast_timeout = 3, .test_loss_seed = 1, .relay_rate = 1000000000ull};
    struct crow_cli_shared sh;
    crow_cli_shared_init(&sh);
    bool listen_given = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", get_options, NULL)) != -1) {
        uint64_t v;
        double s;
        int err;
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return CROW_EXIT_OK;
        case 'o':
            cfg.outdir = optarg;
            break;
        case O_MCAST:
            if ((err = crow_cli_opt_group("get", "--mcast", optarg, &cfg.group)))
                return err;
            break;
        case O_NO_MCAST:
            cfg.no_mcast = true;
            break;
        case O_PREVIOUS:
            cfg.previous = optarg;
            break;
        case O_PREVIOUS_PATH:
            cfg.previous_path = optarg;
            break;
        case O_PEER:
            if (cfg.peer_count == CROW_MAX_STATIC_PEERS)
                return crow_cli_usage_error("get", "at most %d --peer", CROW_MAX_STATIC_PEERS);
            if ((err = crow_cli_opt_endpoint("get", "--peer", optarg, &cfg.peers[cfg.peer_count])))
                return err;
            cfg.peer_count++;
            break;
        case O_LISTEN:
            if ((err = crow_cli_opt_endpoint("get", "--listen", optarg, &cfg.listen)))
                return err;
            listen_given = true;
            break;
        case O_MTIMEOUT:
        case O_SEED_TIME:
        case O_EXIT_AFTER:
            if ((err = crow_cli_opt_seconds("get", optarg, &s)))
                return err;
            *(c == O_MTIMEOUT    ? &cfg.mcast_timeout
              : c == O_SEED_TIME ? &cfg.seed_time
                                 : &cfg.test_exit_after) = s;
            break;
        case O_RELAY_RATE:
            if (crow_parse_rate(optarg, &cfg.relay_rate) || cfg.relay_rate < 1000)
                return crow_cli_usage_error("get", "--relay-rate wants bits/s like 900M or 1G, not '%s'",
                                            optarg);
            break;
        case O_ON_COMPLETE:
            cfg.on_complete = optarg;
            break;
        case O_PROGRESS:
            cfg.progress = true;
            break;
        case O_LOSS:
        case O_LOSS_SEED:
            if (crow_parse_size(optarg, &v) || (c == O_LOSS && v > 1000000))
                return crow_cli_usage_error("get", "'%s' is not a valid number here", optarg);
            if (c == O_LOSS)
                cfg.test_loss_ppm = (uint32_t)v;
            else
                cfg.test_loss_seed = v;
            break;
        default:
            if ((err = crow_cli_opt_shared("get", c, optarg, &sh)))
                return err;
        }
    }
    cfg.tracker = sh.tracker;
    cfg.no_tracker = sh.no_tracker;
    cfg.iface = sh.iface;
    cfg.trust = sh.trust;
    cfg.metrics = sh.metrics;
    cfg.mcast_key = sh.mcast_key;
    cfg.json = sh.json;
    if (argc - optind != 1)
        return crow_cli_usage_error("get", "wants one X.torrent");
    if (!cfg.outdir)
        return crow_cli_usage_error("get", "-o DIR is required");
    cfg.torrent = argv[optind];
    if (cfg.tracker && cfg.no_tracker)
        return crow_cli_usage_error("get", "--tracker and --no-tracker contradict each other");
    if (!cfg.previous != !cfg.previous_path)
        return crow_cli_usage_error("get", "--previous and --previous-path go together");
    /* Without a tracker only --mcast or --peer can name a source. Whether the manifest names a
     * tracker is known once it is read (crow_getter_run says so when it names none). */
    bool mcast = cfg.group.sin_port && !cfg.no_mcast;
    if (cfg.no_tracker && !mcast && cfg.peer_count == 0)
        return crow_cli_usage_error("get", "no source: give --tracker, --mcast or --peer");
    if (!listen_given) {
        cfg.listen.sin_family = AF_INET;
        cfg.listen.sin_addr = cfg.iface;
    }
    if (!cfg.json && isatty(STDERR_FILENO))
        cfg.progress = true;
    char role[64];
    snprintf(role, sizeof role, "get %s", inet_ntoa(cfg.iface));
    crow_log_set_role(role);
    return crow_getter_run(&cfg);
}
