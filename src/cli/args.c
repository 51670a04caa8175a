/* Strict option parsing for the `fusedopt` subcommands (see args.h). */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fopt_args_error(const char *prog, const char *option, const char *format, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    if (option) {
        fprintf(stderr, "%s: ", option);
    }
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputc('\n', stderr);
}

fopt_arg *fopt_args_find(fopt_arg *args, size_t nargs, const char *name)
{
    for (size_t i = 0; i < nargs; i++) {
        if (!strcmp(args[i].name, name)) {
            return &args[i];
        }
    }
    return NULL;
}

/* What the option accepts, for messages: "a number in (0, 1]". */
static void describe(const fopt_arg *a, char *out, size_t size)
{
    size_t used;
    switch (a->type) {
    case FOPT_ARG_DOUBLE:
        if (isinf(a->max)) {
            snprintf(out, size, "a number %s %g", a->min_open ? ">" : ">=", a->min);
        } else {
            snprintf(out, size, "a number in %c%g, %g]", a->min_open ? '(' : '[', a->min, a->max);
        }
        return;
    case FOPT_ARG_INT64:
        if (a->imax == INT64_MAX) {
            snprintf(out, size, "an integer >= %lld", (long long)a->imin);
        } else {
            snprintf(out, size, "an integer in [%lld, %lld]", (long long)a->imin, (long long)a->imax);
        }
        return;
    case FOPT_ARG_CHOICE:
        used = (size_t)snprintf(out, size, "one of");
        for (size_t i = 0; a->choices[i] && used < size; i++) {
            used += (size_t)snprintf(out + used, size - used, "%s %s", i ? "," : "", a->choices[i]);
        }
        return;
    default:
        snprintf(out, size, "a non-empty value");
        return;
    }
}

/* strtod/strtoll accept leading blanks; a strict parse does not. */
static int starts_clean(const char *s)
{
    return s[0] != '\0' && !isspace((unsigned char)s[0]);
}

static int parse_double(const fopt_arg *a, const char *s)
{
    char *end;
    double x;
    if (!starts_clean(s)) {
        return -1;
    }
    errno = 0;
    x = strtod(s, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(x)) {
        return -1;
    }
    if ((a->min_open ? x <= a->min : x < a->min) || x > a->max) {
        return -1;
    }
    *(double *)a->dest = x;
    return 0;
}

static int parse_int64(const fopt_arg *a, const char *s)
{
    char *end;
    long long x;
    if (!starts_clean(s)) {
        return -1;
    }
    errno = 0;
    x = strtoll(s, &end, 10);
    if (*end != '\0' || errno == ERANGE || x < a->imin || x > a->imax) {
        return -1;
    }
    *(int64_t *)a->dest = (int64_t)x;
    return 0;
}

static int parse_value(const fopt_arg *a, const char *s)
{
    switch (a->type) {
    case FOPT_ARG_DOUBLE:
        return parse_double(a, s);
    case FOPT_ARG_INT64:
        return parse_int64(a, s);
    case FOPT_ARG_CHOICE:
        for (int i = 0; a->choices[i]; i++) {
            if (!strcmp(a->choices[i], s)) {
                *(int *)a->dest = i;
                return 0;
            }
        }
        return -1;
    case FOPT_ARG_STRING:
        if (s[0] == '\0') {
            return -1;
        }
        *(const char **)a->dest = s;
        return 0;
    default:
        return -1;
    }
}

/* Parses one option starting at argv[*i]; advances *i past its value. */
static int parse_one(const char *prog, int argc, char **argv, int *i, fopt_arg *args, size_t nargs)
{
    char name[64];
    char expected[160];
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    const char *value = eq ? eq + 1 : NULL;
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    fopt_arg *a;

    if (arg[0] != '-') {
        fopt_args_error(prog, NULL, "'%s': unexpected argument (options start with --)", arg);
        return -1;
    }
    if (len >= sizeof name) {
        len = sizeof name - 1;
    }
    memcpy(name, arg, len);
    name[len] = '\0';
    if (!(a = fopt_args_find(args, nargs, name))) {
        fopt_args_error(prog, name, "unknown option");
        return -1;
    }
    a->seen++;
    if (a->type == FOPT_ARG_FLAG) {
        if (value) {
            fopt_args_error(prog, name, "takes no value, got '%s'", value);
            return -1;
        }
        *(int *)a->dest = 1;
        return 0;
    }
    describe(a, expected, sizeof expected);
    if (!value) {
        if (*i + 1 >= argc || !strncmp(argv[*i + 1], "--", 2)) {
            fopt_args_error(prog, name, "missing value (expected %s)", expected);
            return -1;
        }
        value = argv[++*i];
    }
    if (parse_value(a, value) != 0) {
        fopt_args_error(prog, name, "expected %s, got '%s'", expected, value);
        return -1;
    }
    return 0;
}

int fopt_args_parse(const char *prog, int argc, char **argv, fopt_arg *args, size_t nargs)
{
    for (int i = 1; i < argc; i++) {
        if (parse_one(prog, argc, argv, &i, args, nargs) != 0) {
            return -1;
        }
    }
    return 0;
}
