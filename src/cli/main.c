/* The `fusedopt` command-line tool: dispatches to a subcommand (entry.c holds
 * main, so tests and fuzzers can call fopt_cli_main). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "fusedopt.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"schedule", fopt_cmd_schedule, "print a learning-rate schedule (table, csv or plot)"},
    {"selftest", fopt_cmd_selftest, "check every optimizer configuration against the CPU reference"},
    {"bench", fopt_cmd_bench, "time fused vs unfused steps against the memory bandwidth"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: fusedopt <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\n'fusedopt <command> --help' describes a command's options.\n");
}

int fopt_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("fusedopt %d.%d.%d\n", FOPT_VERSION_MAJOR, FOPT_VERSION_MINOR, FOPT_VERSION_PATCH);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (!strcmp(argv[1], commands[i].name)) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "fusedopt: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
