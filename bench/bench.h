/*
 * fusedopt benchmarks: fused vs unfused optimizer steps on the CPU and the
 * GPU, against the memory bandwidth measured in the same run. See README.md
 * for the method. Entry point: fopt_bench_main (the `fopt_bench` program and
 * `fusedopt bench`).
 */
#ifndef FOPT_BENCH_H
#define FOPT_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "fusedopt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration ---------------------------------------------------- */

typedef struct bench_config {
    int quick;          /* fewer workloads and steps, no sweep */
    int cpu, gpu;       /* devices to run */
    const char *out;    /* directory for CSV, plot data and PNGs; NULL: table only */
    double min_time;    /* seconds of timed steps per measurement (after warm-up) */
    int min_steps;      /* at least this many timed steps */
    int max_steps;
    int threads;        /* CPU threads for the multi-threaded rows; 0: the backend's heuristic */
} bench_config;

/* ---- algorithms --------------------------------------------------------- */

typedef enum bench_algo { BENCH_SGD, BENCH_SGD_MOMENTUM, BENCH_ADAMW, BENCH_ADAM_AMSGRAD, BENCH_ALGO_COUNT } bench_algo;

const char *bench_algo_name(bench_algo a);
/* fp32 bytes moved per parameter: reads of p, g and state, writes of p and state. */
int bench_algo_bytes(bench_algo a);
/* State arrays besides p and g (0 SGD, 1 momentum, 2 Adam, 3 amsgrad). */
int bench_algo_state(bench_algo a);
/* Options with a cosine schedule (base lr 1e-3, t_max 1000, one epoch per step). */
fopt_options bench_algo_options(bench_algo a, fopt_backend backend);
/* Parameter groups for `count` tensors (the fused-groups rows): every other
 * tensor without weight decay and at half the base lr. Sets
 * o->tensor_weight_decay and o->tensor_base_lr to a malloc'ed block
 * returned in *storage (free it after fopt_create, which copies the lists);
 * -1 when out of memory. */
int bench_set_groups(fopt_options *o, size_t count, double **storage);

/* ---- workloads ---------------------------------------------------------- */

typedef struct bench_workload {
    char name[32];
    size_t count;   /* tensors */
    size_t *sizes;  /* numel of each */
    size_t total;
} bench_workload;

/* "flat" (one tensor of n), "gpt2" (GPT-2 small, 148 tensors, 124.4M), "many" (2000 x 4096). */
int bench_workload_flat(bench_workload *w, const char *name, size_t n);
int bench_workload_gpt2(bench_workload *w);
int bench_workload_many(bench_workload *w, size_t count, size_t each);
void bench_workload_free(bench_workload *w);
/* Sizes of the sweep: 1e4 .. top, about three points per decade. */
size_t bench_sweep_sizes(size_t top, size_t *out, size_t cap);

/* ---- results ------------------------------------------------------------ */

typedef struct bench_row {
    char device[8];      /* cpu, gpu */
    char workload[32];
    char algo[16];
    char variant[24];    /* bandwidth, fused, unfused, per-tensor, ... */
    int threads;         /* CPU threads (0 on the GPU) */
    size_t numel, tensors;
    int bytes;           /* per parameter, bench_algo_bytes (copy: 8) */
    int steps;           /* timed steps */
    double seconds;      /* median step time */
    double gbps;         /* bytes * numel / seconds / 1e9 */
    double bw_gbps;      /* the bandwidth this row is compared with */
    char note[80];       /* why a row has no number, or a detail */
} bench_row;

typedef struct bench_table {
    bench_row *rows;
    size_t count, cap;
} bench_table;

/* Appends a row (numbers filled later by the caller); NULL when out of memory. */
bench_row *bench_add(bench_table *t, const char *device, const char *workload, const char *algo,
                     const char *variant, int threads, size_t numel, size_t tensors, int bytes);
/* Sets seconds, gbps; seconds <= 0 marks the row failed with `note`. */
void bench_set_time(bench_row *r, double seconds, int steps);
/* Fills bw_gbps of every row of one (device, workload, algo) group from the
 * bandwidth rows of that group (see README.md: same thread count on the CPU,
 * the best of copy and same-pattern on the GPU). */
void bench_fill_bandwidth(bench_table *t);
void bench_print_table(const bench_table *t, FILE *out);
int bench_write_csv(const bench_table *t, const char *path);
/* Writes DIR/<device>_sweep.dat and .gp and runs gnuplot when installed. */
int bench_plot(const bench_table *t, const char *dir, const char *device);
void bench_table_free(bench_table *t);

/* ---- timing -------------------------------------------------------------- */

double bench_now(void); /* monotonic seconds */
double bench_median(double *values, int count);
/* One timed repetition; returns its duration in seconds, or < 0 on failure. */
typedef double (*bench_step_fn)(void *ctx);
/* Runs one warm-up step, then steps until min_time and min_steps are reached
 * (at most max_steps); returns the median or < 0 on failure. */
double bench_time(const bench_config *cfg, bench_step_fn step, void *ctx, int *steps);

/* ---- devices ------------------------------------------------------------- */

int bench_run_cpu(const bench_config *cfg, bench_table *t);
/* GPU rows; prints why and returns -1 when no GPU bench is built or no device is present. */
int bench_run_gpu(const bench_config *cfg, bench_table *t);

/* Parses the options (argv[0] is the program or subcommand) and runs. */
int fopt_bench_main(const char *prog, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* FOPT_BENCH_H */
