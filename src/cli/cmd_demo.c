/* `crowcast demo`: option parsing for the loopback demonstration. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "commands.h"
#include "crowcast/demo.h"
#include "crowcast/manifest.h"
#include "crowcast/units.h"

static const char usage[] =
    "usage: crowcast demo [options]\n"
    "\n"
    "Runs a whole distribution on this machine, on loopback only: a rack-aware tracker, a seeder and\n"
    "peers in racks (peer H of rack R is 127.0.R.H; one multicast group per rack), a generated\n"
    "release, a live view and a final report (per peer: completion time, bytes via multicast and via\n"
    "TCP, lost datagrams, verified; the last completion against the ideal S/B; cross-rack bytes).\n"
    "The view names the phase from its first frame: generating the release, hashing it, starting\n"
    "the tracker and peers, waiting for the peers to join, the multicast pass (its share sent),\n"
    "repair over TCP, publishing, done. Without a terminal it prints a line per phase and per second.\n"
    "\n"
    "  --size SIZE            release size (default 256M)\n"
    "  --racks N              racks, 1 to 9 (default 2)\n"
    "  --peers-per-rack N     peers in each rack, 1 to 50 (default 3)\n"
    "  --rate RATE            multicast bits/s per rack group (default 1G)\n"
    "  --loss PERCENT         datagrams each peer drops on purpose, so repair shows (default 1)\n"
    "  --chunk-size N         datagram payload bytes (default 8192: jumbo frames; loopback has a\n"
    "                         64 KiB MTU, and a 1408-byte chunk costs six times the CPU per byte)\n"
    "  --workdir DIR          work in DIR (default: a new directory under /tmp)\n"
    "  --keep                 keep the work directory (logs, release, the peers' copies)\n"
    "  --timeout S            give up after S seconds (default 300)\n"
    "\n"
    "Exit status: 0 every peer verified; 1 some did not; 2 bad usage; 3 setup error; 130 interrupted.\n";

int crow_cmd_demo(int argc, char **argv)
{
    enum { O_SIZE = 256, O_RACKS, O_PEERS, O_RATE, O_LOSS, O_CHUNK, O_WORKDIR, O_KEEP, O_TIMEOUT };
    static const struct option opts[] = {
        {"size", required_argument, 0, O_SIZE},
        {"racks", required_argument, 0, O_RACKS},
        {"peers-per-rack", required_argument, 0, O_PEERS},
        {"rate", required_argument, 0, O_RATE},
        {"loss", required_argument, 0, O_LOSS},
        {"chunk-size", required_argument, 0, O_CHUNK},
        {"workdir", required_argument, 0, O_WORKDIR},
        {"keep", no_argument, 0, O_KEEP},
        {"timeout", required_argument, 0, O_TIMEOUT},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct crow_demo_config cfg = {.size = 256ull << 20,
                                   .racks = 2,
                                   .peers_per_rack = 3,
                                   .rate = 1000000000ull,
                                   .loss_ppm = 10000,
                                   .chunk_size = 8192,
                                   .timeout = 300};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        uint64_t v = 0;
        double s = 0;
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return CROW_EXIT_OK;
        case O_SIZE:
            if (crow_parse_size(optarg, &cfg.size) || cfg.size == 0 || cfg.size > (64ull << 30))
                return crow_cli_usage_error("demo", "--size wants 1 byte to 64G, like 256M");
            break;
        case O_RACKS:
        case O_PEERS:
            if (crow_parse_size(optarg, &v) || v < 1 || v > (c == O_RACKS ? 9u : 50u))
                return crow_cli_usage_error("demo", "--%s is out of range",
                                            c == O_RACKS ? "racks" : "peers-per-rack");
            *(c == O_RACKS ? &cfg.racks : &cfg.peers_per_rack) = (unsigned)v;
            break;
        case O_RATE:
            if (crow_parse_rate(optarg, &cfg.rate) || cfg.rate < 1000000)
                return crow_cli_usage_error("demo", "--rate wants bits/s like 500M or 1G (at least 1M)");
            break;
        case O_LOSS:
            if (crow_parse_seconds(optarg, &s) || s > 50)
                return crow_cli_usage_error("demo", "--loss wants a percentage from 0 to 50");
            cfg.loss_ppm = (uint32_t)(s * 10000 + 0.5);
            break;
        case O_CHUNK:
            if (crow_parse_size(optarg, &v) || v < CROW_MIN_CHUNK_SIZE || v > CROW_MAX_CHUNK_SIZE)
                return crow_cli_usage_error("demo", "--chunk-size wants %u to %u bytes", CROW_MIN_CHUNK_SIZE,
                                            CROW_MAX_CHUNK_SIZE);
            cfg.chunk_size = (uint32_t)v;
            break;
        case O_WORKDIR:
            cfg.workdir = optarg;
            break;
        case O_KEEP:
            cfg.keep = true;
            break;
        case O_TIMEOUT:
            if (crow_parse_seconds(optarg, &cfg.timeout) || cfg.timeout < 1)
                return crow_cli_usage_error("demo", "--timeout wants seconds");
            break;
        default:
            return crow_cli_usage_error("demo", "unknown option");
        }
    }
    if (optind != argc)
        return crow_cli_usage_error("demo", "takes no arguments");
    cfg.live = isatty(STDERR_FILENO);
    return crow_demo_run(&cfg);
}
