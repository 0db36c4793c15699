/* The table of subcommands, in the order `crowcast help` lists them. */
#include <stddef.h>

#include "commands.h"

const struct crow_command crow_commands[] = {
    {"help", "show this list, or a command's help (crowcast help CMD)", crow_cmd_help},
    {"demo", "run a whole distribution on loopback: tracker, seeder, racks of peers, report", crow_cmd_demo},
    {"seed", "multicast a release to racks and serve it over TCP", crow_cmd_seed},
    {"get", "receive a release (multicast + repair from neighbours), verify, publish", crow_cmd_get},
    {"agent", "rollout agent: poll the tracker, download, activate, check health, report", crow_cmd_agent},
    {"tracker", "serve the rack-aware tracker: /announce, /scrape, /status, /metrics", crow_cmd_tracker},
    {"rollout", "stage a release rack by rack: start, status, pause, resume, abort, rollback",
     crow_cmd_rollout},
    {"token", "create a control-plane identity: a key line for the tracker's --auth file", crow_cmd_token},
    {"probe", "measure per rack the multicast rate taken without loss (synthetic sessions)", crow_cmd_probe},
    {"sim", "simulate a rollout over a datacenter on the real engines (deterministic, no sockets)",
     crow_cmd_sim},
    {"make", "hash a file or directory into a manifest (.torrent)", crow_cmd_make},
    {"sign", "sign a manifest's release with an Ed25519 key (crowcast keygen)", crow_cmd_sign},
    {"keygen", "make an Ed25519 key pair for signing releases", crow_cmd_keygen},
    {"inspect", "show what a manifest describes (text or --json), and who signed it", crow_cmd_inspect},
    {"verify", "check data on disk against a manifest, piece by piece", crow_cmd_verify},
    {"diff", "what changed between two releases, and the bytes a host holding the old one receives",
     crow_cmd_diff},
    {"version", "print the version", crow_cmd_version},
    {NULL, NULL, NULL},
};
