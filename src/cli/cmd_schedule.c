/* `fusedopt schedule`: prints a learning-rate schedule, evaluated by the
 * library (fopt_schedule_lr), as a table or CSV, and can plot it as a PNG
 * through gnuplot. Run `fusedopt schedule --help` for the options. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "fusedopt.h"
#include "schedule_plot.h"

#define PROG "fusedopt schedule"
#define STEPS_MAX 1000000000 /* rows; far beyond any useful listing */
#define PERIOD_MAX ((int64_t)1 << 60) /* the library's limit of t_max and t_0 */

/* Indexes into kind_names (the --schedule choices) and kind_values. */
enum { K_CONSTANT, K_COSINE, K_RESTARTS, K_WARMUP, K_STEP, K_WARMUP_LINEAR };
static const char *const kind_names[] = {"constant", "cosine",        "restarts", "warmup-cosine", "step",
                                         "warmup-linear", NULL};
static const fopt_schedule_kind kind_values[] = {FOPT_SCHEDULE_CONSTANT,        FOPT_SCHEDULE_COSINE,
                                                 FOPT_SCHEDULE_COSINE_RESTARTS, FOPT_SCHEDULE_WARMUP_COSINE,
                                                 FOPT_SCHEDULE_STEP,            FOPT_SCHEDULE_WARMUP_LINEAR};
static const char *const format_names[] = {"table", "csv", NULL};

/* fopt_arg.tag: the schedule kinds an option applies to (0: all). */
#define ONLY(k) (1u << (k))
#define USES_ETA_MIN (ONLY(K_COSINE) | ONLY(K_RESTARTS) | ONLY(K_WARMUP) | ONLY(K_WARMUP_LINEAR))
#define USES_WARMUP (ONLY(K_WARMUP) | ONLY(K_WARMUP_LINEAR))

typedef struct settings {
    int kind;          /* K_* */
    fopt_schedule s;
    int64_t steps;     /* -1: the kind's default */
    int format;        /* 0 table, 1 csv */
    const char *plot;  /* PNG path or NULL */
    int help;
} settings;

static settings default_settings(void)
{
    settings st;
    st.kind = K_COSINE;
    st.s = fopt_default_schedule(); /* warmup_start_factor 1/3, restart_decay 1, t_mult 1 */
    st.s.base_lr = 0.1;
    st.s.eta_min = 0.0;
    st.s.t_max = 10;
    st.s.t_0 = 10;
    st.steps = -1;
    st.format = 0;
    st.plot = NULL;
    st.help = 0;
    return st;
}

static void usage(FILE *out)
{
    fputs("usage: fusedopt schedule [--schedule KIND] [--lr X] [--eta-min X] [--t-max N]\n"
          "         [--t0 N] [--t-mult N] [--restart-decay X] [--warmup-steps N]\n"
          "         [--warmup-start-factor X] [--step-size N] [--gamma X] [--steps N]\n"
          "         [--format table|csv] [--plot FILE.png]\n",
          out);
}

static void help(void)
{
    settings d = default_settings();
    usage(stdout);
    printf("\nPrints the learning rate after each scheduler step. Table row k is the lr at\n"
           "epoch k (after k scheduler.step() calls), as the classic PyTorch loop prints it.\n"
           "\nschedule [default]:\n"
           "  --schedule KIND           constant, cosine, restarts, warmup-cosine, step or\n"
           "                            warmup-linear [%s]\n"
           "      constant              lr at every epoch\n"
           "      cosine                PyTorch CosineAnnealingLR; period 2*t-max: after t-max\n"
           "                            it rises back towards lr, it does NOT restart\n"
           "      restarts              PyTorch CosineAnnealingWarmRestarts, with restart-decay\n"
           "      warmup-cosine         LinearLR warmup, then CosineAnnealingLR; t-max counts\n"
           "                            the whole schedule, warmup included\n"
           "      step                  PyTorch StepLR (ExponentialLR with step-size 1)\n"
           "      warmup-linear         LinearLR warmup, then linear decay to eta-min at t-max\n"
           "                            (warmup included), then eta-min\n"
           "  --lr X                    base learning rate, >= 0 [%g]\n"
           "  --eta-min X               all but constant and step: minimum learning rate,\n"
           "                            >= 0 [%g]\n"
           "  --t-max N                 cosine, warmup-*: integer in [1, 2^60] [%lld]\n"
           "  --t0 N                    restarts: first cycle length, integer in [1, 2^60] [%lld]\n"
           "  --t-mult N                restarts: cycle length factor, integer in [1, 1e6] [%lld]\n"
           "  --restart-decay X         restarts: peak factor per restart, in (0, 1] [%g]\n"
           "  --warmup-steps N          warmup-*: warmup epochs, 0 <= N < t-max [%lld]\n"
           "  --warmup-start-factor X   warmup-*: lr factor at epoch 0, in (0, 1] [%g]\n"
           "  --step-size N             step: epochs between decays, integer in [1, 2^60] [%lld]\n"
           "  --gamma X                 step: decay factor, in (0, 1] [%g]\n"
           "\noutput [default]:\n"
           "  --steps N                 epochs to list, 0 to %d [constant: 10;\n"
           "                            cosine, warmup-cosine: 2*t-max (one period);\n"
           "                            restarts: three cycles, t0*(1 + t-mult + t-mult^2);\n"
           "                            step: 4*step-size; warmup-linear: t-max]\n"
           "  --format table|csv        [table]\n"
           "      table                 'Step | Learning Rate', rows 1..steps, lr with 5\n"
           "                            decimals (more when lr < 0.1: 4 significant digits)\n"
           "      csv                   'epoch,lr', rows 0..steps, lr with %%.17g\n"
           "  --plot FILE.png           also write epochs 0..steps as a PNG (needs gnuplot)\n"
           "  -h, --help                this help\n"
           "\nValues go as '--opt value' or '--opt=value'; an option given twice keeps the\n"
           "last value. An option the chosen schedule does not use is an error (e.g.\n"
           "--t-max with restarts, which uses --t0).\n"
           "Exit status: 0 success, 1 writing or plotting failed, 2 bad usage.\n"
           "\nexample: fusedopt schedule --lr 0.1 --t-max 5 --eta-min 0.01 --steps 10\n",
           kind_names[d.kind], d.s.base_lr, d.s.eta_min, (long long)d.s.t_max, (long long)d.s.t_0,
           (long long)d.s.t_mult, d.s.restart_decay, (long long)d.s.warmup_steps,
           d.s.warmup_start_factor, (long long)d.s.step_size, d.s.gamma, STEPS_MAX);
}

/* The option that sets the schedule field a library message starts with
 * ("schedule.warmup_steps must be ..."), NULL if none does. */
static const char *option_of_message(const char *message)
{
    static const char *const fields[][2] = {
        {"base_lr", "--lr"}, {"eta_min", "--eta-min"}, {"t_max", "--t-max"}, {"t_0", "--t0"},
        {"t_mult", "--t-mult"}, {"restart_decay", "--restart-decay"}, {"warmup_steps", "--warmup-steps"},
        {"warmup_start_factor", "--warmup-start-factor"}, {"step_size", "--step-size"}, {"gamma", "--gamma"},
    };
    const char prefix[] = "schedule.";
    if (strncmp(message, prefix, sizeof prefix - 1) != 0) {
        return NULL;
    }
    const char *field = message + sizeof prefix - 1;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const size_t len = strlen(fields[i][0]);
        if (strncmp(field, fields[i][0], len) == 0 && (field[len] == ' ' || field[len] == '\0')) {
            return fields[i][1];
        }
    }
    return NULL;
}

/* Reports a usage error (already printed as one line) and returns 2. */
static int bad_usage(void)
{
    usage(stderr);
    fputs("'fusedopt schedule --help' describes the options and their defaults.\n", stderr);
    return 2;
}

static int parse(int argc, char **argv, settings *st)
{
    fopt_arg args[] = {
        {.name = "--schedule", .type = FOPT_ARG_CHOICE, .dest = &st->kind, .choices = kind_names},
        {.name = "--lr", .type = FOPT_ARG_DOUBLE, .dest = &st->s.base_lr, .min = 0, .max = INFINITY},
        {.name = "--eta-min", .type = FOPT_ARG_DOUBLE, .dest = &st->s.eta_min, .min = 0, .max = INFINITY,
         .tag = USES_ETA_MIN},
        {.name = "--t-max", .type = FOPT_ARG_INT64, .dest = &st->s.t_max, .imin = 1, .imax = PERIOD_MAX,
         .tag = ONLY(K_COSINE) | USES_WARMUP},
        {.name = "--t0", .type = FOPT_ARG_INT64, .dest = &st->s.t_0, .imin = 1, .imax = PERIOD_MAX,
         .tag = ONLY(K_RESTARTS)},
        {.name = "--t-mult", .type = FOPT_ARG_INT64, .dest = &st->s.t_mult, .imin = 1, .imax = 1000000,
         .tag = ONLY(K_RESTARTS)},
        {.name = "--restart-decay", .type = FOPT_ARG_DOUBLE, .dest = &st->s.restart_decay, .min = 0,
         .min_open = 1, .max = 1, .tag = ONLY(K_RESTARTS)},
        {.name = "--warmup-steps", .type = FOPT_ARG_INT64, .dest = &st->s.warmup_steps, .imin = 0,
         .imax = INT64_MAX, .tag = USES_WARMUP},
        {.name = "--warmup-start-factor", .type = FOPT_ARG_DOUBLE, .dest = &st->s.warmup_start_factor,
         .min = 0, .min_open = 1, .max = 1, .tag = USES_WARMUP},
        {.name = "--step-size", .type = FOPT_ARG_INT64, .dest = &st->s.step_size, .imin = 1, .imax = PERIOD_MAX,
         .tag = ONLY(K_STEP)},
        {.name = "--gamma", .type = FOPT_ARG_DOUBLE, .dest = &st->s.gamma, .min = 0, .min_open = 1, .max = 1,
         .tag = ONLY(K_STEP)},
        {.name = "--steps", .type = FOPT_ARG_INT64, .dest = &st->steps, .imin = 0, .imax = STEPS_MAX},
        {.name = "--format", .type = FOPT_ARG_CHOICE, .dest = &st->format, .choices = format_names},
        {.name = "--plot", .type = FOPT_ARG_STRING, .dest = &st->plot},
        {.name = "--help", .type = FOPT_ARG_FLAG, .dest = &st->help},
        {.name = "-h", .type = FOPT_ARG_FLAG, .dest = &st->help},
    };
    size_t n = sizeof args / sizeof args[0];
    if (fopt_args_parse(PROG, argc, argv, args, n) != 0) {
        return -1;
    }
    if (st->help) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (args[i].seen && args[i].tag && !(args[i].tag & ONLY(st->kind))) {
            fopt_args_error(PROG, args[i].name, "does not apply to --schedule %s", kind_names[st->kind]);
            return -1;
        }
    }
    return 0;
}

/* --steps when not given: one period, three restart cycles, four decays,
 * the whole warmup-linear schedule, or 10. */
static int default_steps(settings *st)
{
    double steps = 10.0;
    const char *rule = "10";
    if (st->kind == K_COSINE || st->kind == K_WARMUP) {
        steps = 2.0 * (double)st->s.t_max;
        rule = "2*t-max";
    } else if (st->kind == K_RESTARTS) {
        double m = (double)st->s.t_mult;
        steps = (double)st->s.t_0 * (1.0 + m + m * m);
        rule = "t0*(1 + t-mult + t-mult^2)";
    } else if (st->kind == K_STEP) {
        steps = 4.0 * (double)st->s.step_size;
        rule = "4*step-size";
    } else if (st->kind == K_WARMUP_LINEAR) {
        steps = (double)st->s.t_max;
        rule = "t-max";
    }
    if (steps > STEPS_MAX) {
        fopt_args_error(PROG, "--steps", "the default %s = %.0f is above %d; give --steps", rule, steps,
                        STEPS_MAX);
        return -1;
    }
    st->steps = (int64_t)steps;
    return 0;
}

/* Table decimals: 5, or 4 significant digits of the peak when it is below 0.1. */
static int table_decimals(const fopt_schedule *s)
{
    double peak = s->base_lr > s->eta_min ? s->base_lr : s->eta_min;
    int decimals = peak > 0.0 ? 3 - (int)floor(log10(peak)) : 5;
    return decimals < 5 ? 5 : decimals > 17 ? 17 : decimals;
}

static int print_schedule(const settings *st)
{
    int decimals = table_decimals(&st->s);
    int width = snprintf(NULL, 0, "%lld", (long long)st->steps);
    width = width < 4 ? 4 : width;
    if (st->format == 0) {
        printf("%*s | Learning Rate\n", width, "Step");
    } else {
        printf("epoch,lr\n");
    }
    for (int64_t epoch = st->format == 0 ? 1 : 0; epoch <= st->steps; epoch++) {
        double lr;
        if (fopt_schedule_lr(&st->s, epoch, &lr) != FOPT_SUCCESS) {
            fopt_args_error(PROG, NULL, "%s", fopt_last_error(NULL));
            return 1;
        }
        if (st->format == 0) {
            printf("%*lld | %.*f\n", width, (long long)epoch, decimals, lr);
        } else {
            printf("%lld,%.17g\n", (long long)epoch, lr);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fopt_args_error(PROG, NULL, "could not write the output");
        return 1;
    }
    return 0;
}

int fopt_cmd_schedule(int argc, char **argv)
{
    settings st = default_settings();
    if (parse(argc, argv, &st) != 0) {
        return bad_usage();
    }
    if (st.help) {
        help();
        return 0;
    }
    st.s.kind = kind_values[st.kind];
    if (fopt_schedule_check(&st.s) != FOPT_SUCCESS) {
        const char *message = fopt_last_error(NULL);
        fopt_args_error(PROG, option_of_message(message), "%s", message);
        return bad_usage();
    }
    if (st.steps < 0 && default_steps(&st) != 0) {
        return bad_usage();
    }
    if (st.plot && fopt_plot_schedule(PROG, st.plot, kind_names[st.kind], &st.s, st.steps) != 0) {
        return 1;
    }
    return print_schedule(&st);
}
