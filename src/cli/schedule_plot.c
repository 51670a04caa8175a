/* Plots a schedule with gnuplot (see schedule_plot.h). */
#define _POSIX_C_SOURCE 200809L

#include "schedule_plot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"

/* Whether an executable `name` is in one of the PATH directories. */
static int in_path(const char *name)
{
    const char *dirs = getenv("PATH");
    char file[4096];
    if (!dirs) {
        dirs = "/usr/bin:/bin";
    }
    while (1) {
        size_t len = strcspn(dirs, ":");
        int n = len ? snprintf(file, sizeof file, "%.*s/%s", (int)len, dirs, name)
                    : snprintf(file, sizeof file, "./%s", name);
        if (n > 0 && (size_t)n < sizeof file && access(file, X_OK) == 0) {
            return 1;
        }
        if (dirs[len] == '\0') {
            return 0;
        }
        dirs += len + 1;
    }
}

static void write_title(FILE *gp, const char *kind_name, const fopt_schedule *s)
{
    fprintf(gp, "set title \"fusedopt schedule: %s, lr %g", kind_name, s->base_lr);
    switch (s->kind) {
    case FOPT_SCHEDULE_COSINE:
        fprintf(gp, ", eta_min %g, T_max %lld", s->eta_min, (long long)s->t_max);
        break;
    case FOPT_SCHEDULE_COSINE_RESTARTS:
        fprintf(gp, ", eta_min %g, T_0 %lld, T_mult %lld, decay %g", s->eta_min, (long long)s->t_0,
                (long long)s->t_mult, s->restart_decay);
        break;
    case FOPT_SCHEDULE_WARMUP_COSINE:
        fprintf(gp, ", eta_min %g, T_max %lld, warmup %lld from %gx", s->eta_min, (long long)s->t_max,
                (long long)s->warmup_steps, s->warmup_start_factor);
        break;
    default:
        break;
    }
    fprintf(gp, "\" noenhanced\n");
}

/* The gnuplot script, with the data inline. Returns -1 if a write failed. */
static int write_script(FILE *gp, const char *path, const char *kind_name, const fopt_schedule *s,
                        int64_t steps)
{
    fprintf(gp, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                "  set terminal pngcairo size 960,540 font ',11'\n"
                "} else {\n"
                "  set terminal png size 960,540\n"
                "}\n");
    fputs("set output '", gp);
    for (const char *c = path; *c; c++) {
        if (*c == '\'') {
            fputc('\'', gp); /* '' is a quote inside gnuplot's '...' */
        }
        fputc(*c, gp);
    }
    fputs("'\n", gp);
    write_title(gp, kind_name, s);
    fprintf(gp, "set xlabel 'epoch (scheduler steps)'\n"
                "set ylabel 'learning rate'\n"
                "set grid\nset key off\nset autoscale xfix\nset yrange [0:*]\n"
                "plot '-' using 1:2 with %s lw 2 lc rgb '#1f6fb4'\n",
            steps <= 60 ? "linespoints pt 7 ps 0.8" : "lines");
    for (int64_t epoch = 0; epoch <= steps; epoch++) {
        double lr = 0.0;
        fopt_schedule_lr(s, epoch, &lr); /* s was checked: cannot fail */
        fprintf(gp, "%lld %.17g\n", (long long)epoch, lr);
    }
    fputs("e\nset output\n", gp);
    return ferror(gp) ? -1 : 0;
}

int fopt_plot_schedule(const char *prog, const char *path, const char *kind_name,
                       const fopt_schedule *s, int64_t steps)
{
    FILE *gp;
    int written, status;
    void (*old_pipe)(int);

    if (strchr(path, '\n')) {
        fopt_args_error(prog, "--plot", "the file name must not contain a newline");
        return -1;
    }
    if (!in_path("gnuplot")) {
        fopt_args_error(prog, "--plot", "gnuplot not found in PATH; install it (e.g. apt-get install "
                                        "gnuplot-nox) or leave out --plot");
        return -1;
    }
    fflush(NULL);
    /* gnuplot writes the PNG to stdout after a failed "set output": discard it. */
    if (!(gp = popen("gnuplot >/dev/null", "w"))) {
        fopt_args_error(prog, "--plot", "could not start gnuplot");
        return -1;
    }
    old_pipe = signal(SIGPIPE, SIG_IGN); /* gnuplot exiting early must not kill us */
    written = write_script(gp, path, kind_name, s, steps);
    status = pclose(gp);
    signal(SIGPIPE, old_pipe);
    if (written != 0 || status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fopt_args_error(prog, "--plot", "gnuplot failed (exit status %d); '%s' not written",
                        status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1, path);
        remove(path);
        return -1;
    }
    return 0;
}
