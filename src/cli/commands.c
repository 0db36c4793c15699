/* The table of subcommands, in the order `crowcast help` lists them. */
#include <stddef.h>

#include "commands.h"

const struct crow_command crow_commands[] = {
    {"help", "show this list, or a command's help (crowcast help CMD)", crow_cmd_help},
    {"make", "hash a file or directory into a manifest (.torrent)", crow_cmd_make},
    {"inspect", "show what a manifest describes (text or --json)", crow_cmd_inspect},
    {"verify", "check data on disk against a manifest, piece by piece", crow_cmd_verify},
    {"version", "print the version", crow_cmd_version},
    {NULL, NULL, NULL},
};
