/* Algorithms, workloads and timing shared by the CPU and GPU benchmarks. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* ---- algorithms ---------------------------------------------------------- */

const char *bench_algo_name(bench_algo a)
{
    static const char *const names[] = {"sgd", "sgd-momentum", "adamw", "adam-amsgrad"};
    return (unsigned)a < BENCH_ALGO_COUNT ? names[a] : "?";
}

int bench_algo_state(bench_algo a)
{
    static const int state[] = {0, 1, 2, 3};
    return state[a];
}

int bench_algo_bytes(bench_algo a)
{
    /* p and g read, p written: 12; each state array is read and written: +8. */
    return 12 + 8 * bench_algo_state(a);
}

fopt_options bench_algo_options(bench_algo a, fopt_backend backend)
{
    fopt_algorithm alg = a == BENCH_ADAMW ? FOPT_ADAMW : a == BENCH_ADAM_AMSGRAD ? FOPT_ADAM : FOPT_SGD;
    fopt_options o = fopt_default_options(alg);
    o.backend = backend;
    o.schedule.kind = FOPT_SCHEDULE_COSINE;
    o.schedule.base_lr = 1e-3;
    o.schedule.eta_min = 1e-5;
    o.schedule.t_max = 1000;
    o.steps_per_epoch = 1;
    if (a == BENCH_SGD_MOMENTUM) {
        o.momentum = 0.9;
    }
    if (a == BENCH_ADAM_AMSGRAD) {
        o.amsgrad = 1;
    }
    return o;
}

int bench_set_groups(fopt_options *o, size_t count, double **storage)
{
    double *lists = malloc(2 * (count ? count : 1) * sizeof *lists);
    *storage = lists;
    if (!lists) {
        return -1;
    }
    for (size_t t = 0; t < count; t++) {
        lists[t] = t % 2 ? 0.0 : o->weight_decay;
        lists[count + t] = t % 2 ? o->schedule.base_lr / 2 : o->schedule.base_lr;
    }
    o->tensor_weight_decay = lists;
    o->tensor_base_lr = lists + count;
    return 0;
}

/* ---- workloads ----------------------------------------------------------- */

static int workload_alloc(bench_workload *w, const char *name, size_t count)
{
    memset(w, 0, sizeof *w);
    strncpy(w->name, name, sizeof w->name - 1);
    w->sizes = calloc(count, sizeof *w->sizes);
    w->count = count;
    return w->sizes ? 0 : -1;
}

static void workload_total(bench_workload *w)
{
    w->total = 0;
    for (size_t i = 0; i < w->count; i++) {
        w->total += w->sizes[i];
    }
}

int bench_workload_flat(bench_workload *w, const char *name, size_t n)
{
    if (workload_alloc(w, name, 1)) {
        return -1;
    }
    w->sizes[0] = n;
    workload_total(w);
    return 0;
}

int bench_workload_many(bench_workload *w, size_t count, size_t each)
{
    if (workload_alloc(w, "2000x4096", count)) {
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        w->sizes[i] = each;
    }
    workload_total(w);
    return 0;
}

/* GPT-2 small (124M), in the order of the Hugging Face state dict:
 * wte 50257x768, wpe 1024x768, 12 blocks of
 *   ln_1.w 768, ln_1.b 768, attn.c_attn.w 768x2304, attn.c_attn.b 2304,
 *   attn.c_proj.w 768x768, attn.c_proj.b 768, ln_2.w 768, ln_2.b 768,
 *   mlp.c_fc.w 768x3072, mlp.c_fc.b 3072, mlp.c_proj.w 3072x768, mlp.c_proj.b 768,
 * then ln_f.w 768, ln_f.b 768: 148 tensors, 124,439,808 parameters. */
int bench_workload_gpt2(bench_workload *w)
{
    static const size_t block[12] = {768, 768, 768 * 2304, 2304, 768 * 768, 768,
                                     768, 768, 768 * 3072, 3072, 3072 * 768, 768};
    if (workload_alloc(w, "gpt2-small", 2 + 12 * 12 + 2)) {
        return -1;
    }
    size_t k = 0;
    w->sizes[k++] = (size_t)50257 * 768;
    w->sizes[k++] = (size_t)1024 * 768;
    for (int layer = 0; layer < 12; layer++) {
        for (int i = 0; i < 12; i++) {
            w->sizes[k++] = block[i];
        }
    }
    w->sizes[k++] = 768;
    w->sizes[k++] = 768;
    workload_total(w);
    return 0;
}

void bench_workload_free(bench_workload *w)
{
    free(w->sizes);
    w->sizes = NULL;
}

size_t bench_sweep_sizes(size_t top, size_t *out, size_t cap)
{
    static const double mantissa[] = {1.0, 2.5, 5.0};
    size_t n = 0;
    for (double decade = 1e4; n < cap; decade *= 10.0) {
        for (int i = 0; i < 3 && n < cap; i++) {
            size_t v = (size_t)(mantissa[i] * decade);
            if (v > top) {
                return n;
            }
            out[n++] = v;
        }
    }
    return n;
}

/* ---- timing -------------------------------------------------------------- */

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, int count)
{
    if (count <= 0) {
        return -1.0;
    }
    qsort(values, (size_t)count, sizeof *values, compare_double);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

double bench_time(const bench_config *cfg, bench_step_fn step, void *ctx, int *steps)
{
    double *times = malloc((size_t)cfg->max_steps * sizeof *times);
    *steps = 0;
    if (!times || step(ctx) < 0.0) { /* warm-up: page faults, caches, lazy init */
        free(times);
        return -1.0;
    }
    double spent = 0.0;
    int n = 0;
    while (n < cfg->max_steps && (n < cfg->min_steps || spent < cfg->min_time)) {
        double t = step(ctx);
        if (t < 0.0) {
            free(times);
            return -1.0;
        }
        times[n++] = t;
        spent += t;
    }
    double median = bench_median(times, n);
    free(times);
    *steps = n;
    return median;
}
