/* Plotting a learning-rate schedule as a PNG through gnuplot. */
#ifndef FOPT_CLI_SCHEDULE_PLOT_H
#define FOPT_CLI_SCHEDULE_PLOT_H

#include <stdint.h>

#include "fusedopt.h"

/* Writes lr(epoch) for epochs 0..steps of `s` (already valid) to the PNG
 * `path` by piping data and commands to `gnuplot`. `kind_name` goes in the
 * title. On failure (gnuplot not in PATH, gnuplot failing) prints a line
 * "PROG: ..." on stderr, removes a partly written file and returns -1. */
int fopt_plot_schedule(const char *prog, const char *path, const char *kind_name,
                       const fopt_schedule *s, int64_t steps);

#endif
