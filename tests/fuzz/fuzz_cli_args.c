/*
 * libFuzzer target: the `fusedopt schedule` command line. The input is split
 * at NUL bytes into arguments for fopt_cli_main("fusedopt", "schedule", ...).
 * Arguments mentioning "plot" are dropped (no gnuplot runs, no files are
 * written) and "--steps 40" is appended (the last value of an option wins),
 * so no run prints more than 41 rows. stdout goes to /dev/null; run with
 * -close_fd_mask=2 to silence the tool's stderr (sanitizer reports survive).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

#define MAX_ARGS 24

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!freopen("/dev/null", "w", stdout)) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *argv[MAX_ARGS + 5];
    int argc = 0;
    argv[argc++] = "fusedopt";
    argv[argc++] = "schedule";
    for (size_t start = 0; start <= size && argc < MAX_ARGS + 2;) {
        char *arg = copy + start;
        const size_t len = strlen(arg);
        if (!strstr(arg, "plot") && (len > 0 || start < size)) {
            argv[argc++] = arg;
        }
        start += len + 1;
    }
    argv[argc++] = "--steps";
    argv[argc++] = "40";
    argv[argc] = NULL;
    const int status = fopt_cli_main(argc, argv);
    fflush(stdout);
    if (status != 0 && status != 1 && status != 2) {
        abort();
    }
    free(copy);
    return 0;
}
