/* Entry point of the `crowcast` command: dispatches to a subcommand from commands.c. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct crow_command *find_command(const char *name)
{
    for (const struct crow_command *c = crow_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void list_commands(FILE *out)
{
    fprintf(out, "usage: crowcast COMMAND [OPTIONS]\n\n"
                 "Pushes a release to many hosts: multicast to each rack, BitTorrent-style repair\n"
                 "among rack neighbours, steered by a rack-aware tracker.\n\ncommands:\n");
    for (const struct crow_command *c = crow_commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nRun 'crowcast COMMAND --help' for a command's options.\n");
}

int crow_cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "crowcast %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'crowcast %s --help'.\n", command);
    va_end(ap);
    return CROW_EXIT_USAGE;
}

int crow_cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        list_commands(stdout);
        return CROW_EXIT_OK;
    }
    const struct crow_command *c = find_command(argv[1]);
    if (!c || c->run == crow_cmd_help) {
        fprintf(stderr, "crowcast: no command '%s'\n", argv[1]);
        return CROW_EXIT_USAGE;
    }
    char *sub_argv[] = {argv[1], "--help", NULL};
    return c->run(2, sub_argv);
}

int crow_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("crowcast %s\n", CROW_VERSION);
    return CROW_EXIT_OK;
}

int main(int argc, char **argv)
{
    /* A peer that closes a TCP connection must not kill us: writes report EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        list_commands(stderr);
        return CROW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return crow_cmd_help(1, argv);
    if (strcmp(argv[1], "--version") == 0)
        return crow_cmd_version(1, argv);
    const struct crow_command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "crowcast: unknown command '%s'\n\n", argv[1]);
        list_commands(stderr);
        return CROW_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
