/*
 * CPU benchmark. Per workload and algorithm, over the same host arrays:
 *   bandwidth   the same-pattern loop (bench_stream_loop), 1 thread and N threads
 *   fused       fopt_step over all tensors (schedule evaluated in the step), 1 and N threads
 *   unfused     lr from fopt_schedule_lr on the host, then one pass per operation
 *               per tensor (bench_unfused_step), 1 thread like a plain C loop
 *   per-tensor  one optimizer handle per tensor, fopt_step on each
 *   fused-bf16  fopt_step over bf16 copies of the params and grads (fp32 master
 *               weights and state), 1 and N threads; AdamW and SGD with momentum
 *   fused-groups  fused with parameter groups (bench_set_groups): AdamW, several tensors
 * N is --threads, or the backend's heuristic for the workload (cpu_backend.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_cpu_loops.h"
#include "cpu_backend.h"
#include "dtype.h"

/* The CPU sweep stops at 5e7 parameters (the GPU one at 2.5e8) so that the
 * full CPU run stays within a few minutes on a small machine. */
#define CPU_SWEEP_TOP ((size_t)50000000)

/* Host arrays of one workload: params, grads, and the state the bandwidth and
 * unfused loops use (the library keeps its own). */
typedef struct cpu_arrays {
    const bench_workload *w;
    bench_algo algo;
    float **p, **g, **state[3];
    float *tmp;
} cpu_arrays;

static float *alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

static void free_arrays(cpu_arrays *a)
{
    for (size_t t = 0; t < a->w->count; t++) {
        free(a->p ? a->p[t] : NULL);
        free(a->g ? a->g[t] : NULL);
        for (int s = 0; s < 3; s++) {
            free(a->state[s] ? a->state[s][t] : NULL);
        }
    }
    free(a->p);
    free(a->g);
    for (int s = 0; s < 3; s++) {
        free(a->state[s]);
    }
    free(a->tmp);
}

static int make_arrays(cpu_arrays *a, const bench_workload *w, bench_algo algo)
{
    memset(a, 0, sizeof *a);
    a->w = w;
    a->algo = algo;
    const int nstate = bench_algo_state(algo);
    a->p = calloc(w->count, sizeof *a->p);
    a->g = calloc(w->count, sizeof *a->g);
    for (int s = 0; s < nstate; s++) {
        a->state[s] = calloc(w->count, sizeof *a->state[s]);
    }
    size_t largest = 0;
    for (size_t t = 0; t < w->count; t++) {
        largest = w->sizes[t] > largest ? w->sizes[t] : largest;
    }
    a->tmp = alloc_floats(largest);
    if (!a->p || !a->g || !a->tmp || (nstate > 0 && !a->state[nstate - 1])) {
        return -1;
    }
    uint32_t x = 12345u;
    for (size_t t = 0; t < w->count; t++) {
        size_t n = w->sizes[t];
        a->p[t] = alloc_floats(n);
        a->g[t] = alloc_floats(n);
        if (!a->p[t] || !a->g[t]) {
            return -1;
        }
        for (size_t i = 0; i < n; i++) { /* touch every page; values in [-0.5, 0.5) */
            x = x * 1664525u + 1013904223u;
            a->p[t][i] = (float)(x >> 8) / 16777216.0f - 0.5f;
            a->g[t][i] = 0.01f * ((float)(x & 0xffffu) / 65536.0f - 0.5f);
        }
        for (int s = 0; s < nstate; s++) {
            if (!(a->state[s][t] = alloc_floats(n))) {
                return -1;
            }
            memset(a->state[s][t], 0, n * sizeof(float));
        }
    }
    memset(a->tmp, 0, largest * sizeof(float));
    return 0;
}

static float *state_of(const cpu_arrays *a, int s, size_t t)
{
    return a->state[s] ? a->state[s][t] : NULL;
}

/* ---- bandwidth loop, split over threads like the backend ------------------- */

typedef struct stream_part {
    const cpu_arrays *a;
    size_t begin, end; /* of the concatenated tensors */
} stream_part;

static void *stream_range(void *arg)
{
    const stream_part *part = arg;
    const cpu_arrays *a = part->a;
    const int nstate = bench_algo_state(a->algo);
    size_t offset = 0;
    for (size_t t = 0; t < a->w->count; offset += a->w->sizes[t], t++) {
        size_t lo = part->begin > offset ? part->begin : offset;
        size_t hi = part->end < offset + a->w->sizes[t] ? part->end : offset + a->w->sizes[t];
        if (lo >= hi) {
            continue;
        }
        size_t k = lo - offset;
        float *state[3] = {NULL, NULL, NULL};
        for (int s = 0; s < nstate; s++) {
            state[s] = state_of(a, s, t) + k;
        }
        bench_stream_loop(hi - lo, a->p[t] + k, a->g[t] + k, state, nstate);
    }
    return NULL;
}

typedef struct stream_ctx {
    const cpu_arrays *a;
    int threads;
} stream_ctx;

static double stream_step(void *arg)
{
    const stream_ctx *c = arg;
    stream_part parts[FOPT_CPU_MAX_THREADS];
    pthread_t ids[FOPT_CPU_MAX_THREADS];
    const size_t total = c->a->w->total;
    double start = bench_now();
    for (int i = 0; i < c->threads; i++) {
        parts[i] = (stream_part){c->a, (size_t)((double)total * i / c->threads) & ~(size_t)15,
                                 i + 1 == c->threads ? total
                                                     : (size_t)((double)total * (i + 1) / c->threads) & ~(size_t)15};
    }
    for (int i = 1; i < c->threads; i++) {
        if (pthread_create(&ids[i], NULL, stream_range, &parts[i]) != 0) {
            return -1.0;
        }
    }
    stream_range(&parts[0]);
    for (int i = 1; i < c->threads; i++) {
        pthread_join(ids[i], NULL);
    }
    return bench_now() - start;
}

/* ---- fused and per-tensor: the library ------------------------------------- */

typedef struct fused_ctx {
    fopt_optimizer **opts;
    size_t count;
} fused_ctx;

static double fused_step(void *arg)
{
    const fused_ctx *c = arg;
    double start = bench_now();
    for (size_t i = 0; i < c->count; i++) {
        if (fopt_step(c->opts[i]) != FOPT_SUCCESS) {
            return -1.0;
        }
    }
    return bench_now() - start;
}

static fopt_tensor *tensors_of(const cpu_arrays *a)
{
    fopt_tensor *ts = calloc(a->w->count, sizeof *ts);
    for (size_t t = 0; ts && t < a->w->count; t++) {
        ts[t] = (fopt_tensor){a->p[t], a->g[t], a->w->sizes[t]};
    }
    return ts;
}

/* bf16 copies of the params and grads, as fopt_tensors (NULL when out of memory). */
static fopt_tensor *bf16_tensors_of(const cpu_arrays *a)
{
    fopt_tensor *ts = calloc(a->w->count, sizeof *ts);
    for (size_t t = 0; ts && t < a->w->count; t++) {
        const size_t n = a->w->sizes[t];
        uint16_t *p = malloc(n ? n * sizeof *p : 1);
        uint16_t *g = malloc(n ? n * sizeof *g : 1);
        ts[t] = (fopt_tensor){p, g, n};
        if (!p || !g) {
            return ts; /* the caller frees what was allocated */
        }
        for (size_t i = 0; i < n; i++) {
            p[i] = fopt_float_to_bf16(a->p[t][i]);
            g[i] = fopt_float_to_bf16(a->g[t][i]);
        }
    }
    return ts;
}

static void free_bf16_tensors(fopt_tensor *ts, size_t count)
{
    for (size_t t = 0; ts && t < count; t++) {
        free(ts[t].param);
        free((void *)ts[t].grad);
    }
    free(ts);
}

/* Creates `count` optimizers: one over all tensors, or one per tensor, over
 * `ts` (the workload's fp32 arrays when NULL). Returns the largest thread
 * count any of them uses, or -1 (the row's note says why). */
static int create_optimizers(const cpu_arrays *a, const fopt_tensor *given, fopt_dtype dtype, int per_tensor,
                             int groups, int threads, fused_ctx *c, bench_row *r)
{
    fopt_options o = bench_algo_options(a->algo, FOPT_BACKEND_CPU);
    o.param_dtype = dtype;
    o.grad_dtype = dtype;
    double *lists = NULL;
    if (groups && bench_set_groups(&o, a->w->count, &lists) != 0) {
        snprintf(r->note, sizeof r->note, "out of memory");
        return -1;
    }
    fopt_tensor *ts = tensors_of(a);
    if (ts && given) {
        memcpy(ts, given, a->w->count * sizeof *ts);
    }
    c->count = per_tensor ? a->w->count : 1;
    c->opts = calloc(c->count, sizeof *c->opts);
    int used = 0;
    for (size_t i = 0; ts && c->opts && i < c->count; i++) {
        fopt_status st = fopt_create(&c->opts[i], &o, per_tensor ? &ts[i] : ts, per_tensor ? 1 : a->w->count);
        if (st != FOPT_SUCCESS || fopt_cpu_set_threads(c->opts[i], threads) != FOPT_SUCCESS) {
            snprintf(r->note, sizeof r->note, "fopt_create: %s", fopt_last_error(NULL));
            free(ts);
            free(lists);
            return -1;
        }
        int n = fopt_cpu_get_threads(c->opts[i]);
        used = n > used ? n : used;
    }
    free(ts);
    free(lists);
    if (!c->opts) {
        snprintf(r->note, sizeof r->note, "out of memory");
        return -1;
    }
    return used;
}

static void destroy_optimizers(fused_ctx *c)
{
    for (size_t i = 0; c->opts && i < c->count; i++) {
        fopt_destroy(c->opts[i]);
    }
    free(c->opts);
    c->opts = NULL;
}

/* ---- unfused ---------------------------------------------------------------- */

typedef struct unfused_ctx {
    const cpu_arrays *a;
    fopt_options o;
    int64_t step, epoch;
} unfused_ctx;

static double unfused_step(void *arg)
{
    unfused_ctx *c = arg;
    const cpu_arrays *a = c->a;
    double start = bench_now();
    double lr = 0.0;
    if (fopt_schedule_lr(&c->o.schedule, c->epoch, &lr) != FOPT_SUCCESS) {
        return -1.0;
    }
    c->step += 1;
    for (size_t t = 0; t < a->w->count; t++) {
        float *state[3] = {state_of(a, 0, t), state_of(a, 1, t), state_of(a, 2, t)};
        bench_unfused_step(a->algo, &c->o, lr, c->step, a->w->sizes[t], a->p[t], a->g[t], state, a->tmp);
    }
    c->epoch += 1; /* the scheduler steps once per optimizer step */
    return bench_now() - start;
}

/* ---- one workload ------------------------------------------------------------ */

static void timed(const bench_config *cfg, bench_row *r, bench_step_fn fn, void *ctx)
{
    int steps = 0;
    double s = bench_time(cfg, fn, ctx, &steps);
    bench_set_time(r, s, steps);
    if (s <= 0.0 && !r->note[0]) {
        snprintf(r->note, sizeof r->note, "step failed");
    }
}

static bench_row *row(bench_table *t, const cpu_arrays *a, const char *variant, int threads, int bytes)
{
    return bench_add(t, "cpu", a->w->name, bench_algo_name(a->algo), variant, threads, a->w->total, a->w->count,
                     bytes);
}

static int run_fused(const bench_config *cfg, bench_table *t, const cpu_arrays *a, const char *variant,
                     int per_tensor, int threads)
{
    fused_ctx c = {NULL, 0};
    bench_row *r = row(t, a, variant, threads, bench_algo_bytes(a->algo));
    if (!r) {
        return -1;
    }
    int used = create_optimizers(a, NULL, FOPT_FLOAT32, per_tensor, !strcmp(variant, "fused-groups"), threads, &c, r);
    if (used > 0) {
        r->threads = used;
        timed(cfg, r, fused_step, &c);
    }
    destroy_optimizers(&c);
    return 0;
}

/* bf16 params and grads with fp32 master weights: the same bytes/param as
 * fp32 (bench/README.md). */
static int run_fused_bf16(const bench_config *cfg, bench_table *t, const cpu_arrays *a, int threads)
{
    fused_ctx c = {NULL, 0};
    bench_row *r = row(t, a, "fused-bf16", threads, bench_algo_bytes(a->algo));
    if (!r) {
        return -1;
    }
    fopt_tensor *ts = bf16_tensors_of(a);
    int ok = ts != NULL;
    for (size_t i = 0; ok && i < a->w->count; i++) {
        ok = ts[i].param && ts[i].grad;
    }
    if (!ok) {
        snprintf(r->note, sizeof r->note, "out of memory");
    } else if (create_optimizers(a, ts, FOPT_BFLOAT16, 0, 0, threads, &c, r) > 0) {
        r->threads = fopt_cpu_get_threads(c.opts[0]);
        timed(cfg, r, fused_step, &c);
    }
    destroy_optimizers(&c);
    free_bf16_tensors(ts, a->w->count);
    return 0;
}

static int run_workload(const bench_config *cfg, bench_table *t, const bench_workload *w, bench_algo algo)
{
    cpu_arrays a;
    if (make_arrays(&a, w, algo)) {
        free_arrays(&a);
        fprintf(stderr, "fopt_bench: out of memory for %s\n", w->name);
        return -1;
    }
    const int bytes = bench_algo_bytes(algo);
    const int many = cfg->threads > 0 ? cfg->threads : fopt_cpu_default_threads(w->total);
    for (int threads = 1; threads <= many; threads += many > 1 ? many - 1 : 1) {
        stream_ctx sc = {&a, threads};
        bench_row *r = row(t, &a, "bandwidth", threads, bytes);
        if (r) {
            timed(cfg, r, stream_step, &sc);
        }
        run_fused(cfg, t, &a, "fused", 0, threads);
        if (algo == BENCH_ADAMW || algo == BENCH_SGD_MOMENTUM) {
            run_fused_bf16(cfg, t, &a, threads);
        }
        if (algo == BENCH_ADAMW && w->count > 1) {
            run_fused(cfg, t, &a, "fused-groups", 0, threads);
        }
    }
    unfused_ctx uc = {&a, bench_algo_options(algo, FOPT_BACKEND_CPU), 0, 0};
    bench_row *r = row(t, &a, "unfused", 1, bytes);
    if (r) {
        timed(cfg, r, unfused_step, &uc);
    }
    if (w->count > 1) {
        run_fused(cfg, t, &a, "per-tensor", 1, cfg->threads);
    }
    free_arrays(&a);
    return 0;
}

int bench_run_cpu(const bench_config *cfg, bench_table *t)
{
    bench_workload w;
    const bench_algo quick_algos[] = {BENCH_ADAMW};
    const bench_algo all_algos[] = {BENCH_ADAMW, BENCH_ADAM_AMSGRAD, BENCH_SGD_MOMENTUM, BENCH_SGD};
    const bench_algo *algos = cfg->quick ? quick_algos : all_algos;
    const size_t nalgos = cfg->quick ? 1 : 4;
    for (int which = 0; which < 3; which++) {
        int rc = which == 0 ? bench_workload_flat(&w, "flat-64M", (size_t)64 << 20)
                 : which == 1 ? bench_workload_gpt2(&w)
                              : bench_workload_many(&w, 2000, 4096);
        for (size_t i = 0; rc == 0 && i < nalgos; i++) {
            fprintf(stderr, "fopt_bench: cpu %s %s\n", w.name, bench_algo_name(algos[i]));
            run_workload(cfg, t, &w, algos[i]);
        }
        bench_workload_free(&w);
    }
    if (!cfg->quick) {
        size_t sizes[32];
        size_t n = bench_sweep_sizes(CPU_SWEEP_TOP, sizes, 32);
        for (size_t i = 0; i < n; i++) {
            fprintf(stderr, "fopt_bench: cpu sweep %zu\n", sizes[i]);
            if (bench_workload_flat(&w, "sweep", sizes[i]) == 0) {
                run_workload(cfg, t, &w, BENCH_ADAMW);
            }
            bench_workload_free(&w);
        }
    }
    return 0;
}
