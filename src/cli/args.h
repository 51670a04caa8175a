/* Option parsing shared by the subcommands of the `fusedopt` tool.
 *
 * Options are described by a table of fopt_arg. Each option is given as
 * "--name value" or "--name=value" (flags take no value). In the first form a
 * following argument that starts with "--" is not taken as the value: the
 * value is reported missing (use "--name=--x" for such a value). Numbers are
 * parsed strictly: the whole value must be a decimal number (no leading
 * blanks, no trailing junk), finite (no nan/inf), representable, and in the
 * option's range. An option given twice keeps its last value. Positional
 * arguments are rejected.
 */
#ifndef FOPT_CLI_ARGS_H
#define FOPT_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

typedef enum fopt_arg_type {
    FOPT_ARG_FLAG,   /* no value: *(int *)dest = 1 */
    FOPT_ARG_DOUBLE, /* *(double *)dest: finite, in [min, max], or (min, max] with min_open */
    FOPT_ARG_INT64,  /* *(int64_t *)dest: decimal integer in [imin, imax] */
    FOPT_ARG_STRING, /* *(const char **)dest: non-empty, points into argv */
    FOPT_ARG_CHOICE  /* *(int *)dest: index of the value in `choices` */
} fopt_arg_type;

typedef struct fopt_arg {
    const char *name;           /* as typed: "--lr" */
    fopt_arg_type type;
    void *dest;
    double min, max;            /* DOUBLE range; max may be INFINITY */
    int min_open;               /* DOUBLE: min itself is excluded */
    int64_t imin, imax;         /* INT64 range; imax may be INT64_MAX */
    const char *const *choices; /* CHOICE: NULL-terminated list */
    unsigned tag;               /* free for the caller (e.g. the modes the option applies to) */
    int seen;                   /* set by fopt_args_parse: times the option was given */
} fopt_arg;

/* Parses argv[1..argc-1] (argv[0] is the subcommand) into the table. On a bad,
 * missing or unknown option prints one line "PROG: OPTION: what was wrong" on
 * stderr and returns -1 (the caller then prints its usage); 0 on success. */
int fopt_args_parse(const char *prog, int argc, char **argv, fopt_arg *args, size_t nargs);

/* The table entry called `name`, or NULL. */
fopt_arg *fopt_args_find(fopt_arg *args, size_t nargs, const char *name);

/* Prints "PROG: OPTION: message" and a newline on stderr (OPTION may be NULL). */
void fopt_args_error(const char *prog, const char *option, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
