/*
 * CPU backend: parameters, gradients and fp32 state in host memory, updated
 * in place. fp32 parameters and gradients take the vectorized loops directly;
 * 16-bit ones go through them in blocks of FOPT_CPU_CONVERT_BLOCK elements:
 * gradients converted into a buffer on the stack, the fp32 master weights
 * updated, then the parameters written as the master rounded. Per-step scalars (learning rate, bias corrections) are computed
 * once in double and rounded to fp32; the element loops (cpu_kernels.c) run
 * in fp32 like the CUDA kernels, vectorized, on one or more threads
 * (cpu_backend.h describes the thread heuristic).
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_backend.h"
#include "cpu_kernels.h"
#include "grad_scaler.h"
#include "internal.h"
#include "schedule_eval.h"
#include "stochastic_round.h"

typedef struct cpu_state {
    float *arrays[4]; /* state arrays of total_numel floats, see fopt_state_arrays */
    int64_t step;
    int64_t epoch;
    double last_lr;
    fopt_grad_scaler scaler; /* gradient scaling / clipping (grad_scaler.h) */
    int threads;      /* set by fopt_cpu_set_threads; 0: the heuristic's choice */
    int auto_threads; /* the heuristic's choice for total_numel, fixed at create */
} cpu_state;

/* One thread's share of a step: elements [begin, end) of the concatenated tensors. */
/* Elements per block of the 16-bit path (4 KiB of converted gradients). */
#define FOPT_CPU_CONVERT_BLOCK 1024

typedef struct cpu_work {
    const fopt_optimizer *opt;
    const fopt_cpu_scalars *scalars;
    fopt_lr_terms terms;     /* the schedule at the step's epoch, for per-tensor lrs */
    double lr_divisor;       /* step_size = lr / lr_divisor (step_divisor of the step) */
    size_t begin, end;
} cpu_work;

static int usable_cpus(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
        return CPU_COUNT(&set);
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int fopt_cpu_default_threads(size_t total)
{
    const int cpus = usable_cpus();
    size_t by_size = total / FOPT_CPU_ELEMS_PER_THREAD;
    size_t threads = by_size < (size_t)cpus ? by_size : (size_t)cpus;
    if (threads > FOPT_CPU_MAX_THREADS) {
        threads = FOPT_CPU_MAX_THREADS;
    }
    return threads < 1 ? 1 : (int)threads;
}

/* What step k divides the lr by for the step size: Adam's bias correction
 * 1 - beta1^k, Adagrad's 1 + (k - 1) * lr_decay (SGD, RMSprop: 1, unused). */
static double step_divisor(const fopt_options *o, int64_t k)
{
    if (o->algorithm == FOPT_ADAGRAD) {
        return 1.0 + (double)(k - 1) * o->lr_decay;
    }
    return o->algorithm == FOPT_ADAM || o->algorithm == FOPT_ADAMW ? 1.0 - pow(o->beta1, (double)k) : 1.0;
}

/* The scalars that depend on a tensor's lr and weight decay: the lr, the
 * step size lr / step_divisor, the L2 factor and AdamW's 1 - lr * wd. */
static void set_tensor_scalars(fopt_cpu_scalars *c, double lr, double weight_decay, double lr_divisor)
{
    c->lr = (float)lr;
    c->step_size = (float)(lr / lr_divisor);
    c->weight_decay = (float)weight_decay;
    c->decoupled_decay = (float)(1.0 - lr * weight_decay);
}

static fopt_cpu_scalars make_scalars(const fopt_options *o, double lr, int64_t k, double lr_divisor)
{
    fopt_cpu_scalars c;
    c.sign = o->maximize ? -1.0f : 1.0f;
    c.inv_scale = 1.0f;
    c.clip = 1.0f;
    c.momentum = (float)o->momentum;
    c.dampening_complement = (float)(1.0 - o->dampening);
    c.nesterov = o->nesterov != 0;
    c.first_step = k == 1;
    c.adamw = o->algorithm == FOPT_ADAMW;
    c.amsgrad = o->amsgrad != 0;
    c.beta1 = (float)o->beta1;
    c.beta2 = (float)o->beta2;
    c.one_minus_beta1 = (float)(1.0 - o->beta1);
    c.one_minus_beta2 = (float)(1.0 - o->beta2);
    c.inv_bias_correction2_sqrt = (float)(1.0 / sqrt(1.0 - pow(o->beta2, (double)k)));
    c.eps = (float)o->eps;
    c.alpha = (float)o->alpha;
    c.one_minus_alpha = (float)(1.0 - o->alpha);
    set_tensor_scalars(&c, lr, o->weight_decay, lr_divisor);
    c.rounding_base = fopt_sr_base(o->stochastic_rounding_seed, k);
    return c;
}

/* Algorithm state array `array` at `offset`; NULL for an array the
 * algorithm does not keep (the master weights are not one of its arrays). */
static float *state_at(const fopt_optimizer *opt, int array, size_t offset)
{
    const cpu_state *s = opt->backend_state;
    return array < fopt_algorithm_state_arrays(&opt->options) ? s->arrays[array] + offset : NULL;
}

/* The tensor holding global element `index`: the last t with offsets[t] <= index. */
static size_t tensor_of(const fopt_optimizer *opt, size_t index)
{
    size_t lo = 0, hi = opt->num_tensors;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (opt->offsets[mid] <= index) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The update of elements [first, first + n) of the concatenation, whose
 * parameters are p and gradients g (fp32). */
static void update_range(const fopt_optimizer *opt, const fopt_cpu_scalars *c, size_t first, size_t n, float *p,
                         const float *g)
{
    if (opt->options.algorithm == FOPT_SGD) {
        fopt_cpu_sgd(c, n, p, g, state_at(opt, 0, first));
    } else if (opt->options.algorithm == FOPT_ADAGRAD) {
        fopt_cpu_adagrad(c, n, p, g, state_at(opt, 0, first));
    } else if (opt->options.algorithm == FOPT_RMSPROP) {
        /* State arrays: square_avg, then the momentum buffer, then grad_avg (centered). */
        const int momentum = opt->options.momentum != 0.0;
        fopt_cpu_rmsprop(c, n, p, g, state_at(opt, 0, first), momentum ? state_at(opt, 1, first) : NULL,
                         opt->options.centered ? state_at(opt, 1 + momentum, first) : NULL);
    } else {
        fopt_cpu_adam(c, n, p, g, state_at(opt, 0, first), state_at(opt, 1, first), state_at(opt, 2, first));
    }
}

/* 16-bit parameters and/or gradients: block by block, gradients converted
 * to fp32, the master weights (or fp32 parameters) updated, then the 16-bit
 * parameters written from the master. With stochastic rounding the bf16
 * parameters are converted into a second buffer, updated there and written
 * back rounded stochastically. `local` indexes the tensor. */
static void update_converted(const fopt_optimizer *opt, const fopt_cpu_scalars *c, const fopt_tensor *x,
                             size_t first, size_t local, size_t n)
{
    const cpu_state *s = opt->backend_state;
    const fopt_options *o = &opt->options;
    float *master = fopt_has_master(o) ? s->arrays[fopt_algorithm_state_arrays(o)] : NULL;
    float converted[FOPT_CPU_CONVERT_BLOCK];
    float params[FOPT_CPU_CONVERT_BLOCK];
    for (size_t done = 0; done < n; done += FOPT_CPU_CONVERT_BLOCK) {
        const size_t len = n - done < FOPT_CPU_CONVERT_BLOCK ? n - done : FOPT_CPU_CONVERT_BLOCK;
        const size_t at = local + done;
        const float *g = (const float *)x->grad + at;
        if (o->grad_dtype != FOPT_FLOAT32) {
            fopt_cpu_to_float(o->grad_dtype, len, (const uint16_t *)x->grad + at, converted);
            g = converted;
        }
        uint16_t *p16 = (uint16_t *)x->param + at;
        if (o->stochastic_rounding) {
            fopt_cpu_to_float(o->param_dtype, len, p16, params);
            update_range(opt, c, first + done, len, params, g);
            fopt_cpu_to_bf16_stochastic(len, params, p16, c->rounding_base, first + done);
            continue;
        }
        float *p = master ? master + first + done : (float *)x->param + at;
        update_range(opt, c, first + done, len, p, g);
        if (master) {
            fopt_cpu_from_float(o->param_dtype, len, p, p16);
        }
    }
}

static void *run_work(void *arg)
{
    const cpu_work *w = arg;
    const fopt_optimizer *opt = w->opt;
    const int fp32 = opt->options.param_dtype == FOPT_FLOAT32 && opt->options.grad_dtype == FOPT_FLOAT32;
    for (size_t t = tensor_of(opt, w->begin); t < opt->num_tensors && opt->offsets[t] < w->end; t++) {
        const fopt_tensor *x = &opt->tensors[t];
        const size_t first = w->begin > opt->offsets[t] ? w->begin : opt->offsets[t];
        const size_t tensor_end = opt->offsets[t] + x->numel;
        const size_t last = w->end < tensor_end ? w->end : tensor_end;
        if (first >= last) {
            continue; /* empty tensor */
        }
        const size_t local = first - opt->offsets[t];
        const fopt_options *o = &opt->options;
        fopt_cpu_scalars c = *w->scalars;
        if (o->tensor_weight_decay || o->tensor_base_lr) {
            set_tensor_scalars(&c, fopt_lr_at(w->terms, fopt_tensor_base_lr(o, t)), fopt_tensor_weight_decay(o, t),
                               w->lr_divisor);
        }
        if (fp32) {
            update_range(opt, &c, first, last - first, (float *)x->param + local, (const float *)x->grad + local);
        } else {
            update_converted(opt, &c, x, first, local, last - first);
        }
    }
    return NULL;
}

/* Splits [0, total) into `threads` ranges (boundaries on 64-byte multiples of
 * the concatenation) and runs them; the calling thread takes the first. A
 * thread that cannot be started has its range run by the caller instead. */
static void run_parallel(const fopt_optimizer *opt, const fopt_cpu_scalars *c, fopt_lr_terms terms,
                         double lr_divisor, int threads)
{
    cpu_work work[FOPT_CPU_MAX_THREADS];
    pthread_t ids[FOPT_CPU_MAX_THREADS];
    int started[FOPT_CPU_MAX_THREADS] = {0};
    const size_t total = opt->total_numel;
    for (int i = 0; i < threads; i++) {
        size_t begin = (size_t)((double)total * i / threads) & ~(size_t)15;
        size_t end = i + 1 == threads ? total : (size_t)((double)total * (i + 1) / threads) & ~(size_t)15;
        work[i] = (cpu_work){opt, c, terms, lr_divisor, begin, end};
    }
    for (int i = 1; i < threads; i++) {
        started[i] = pthread_create(&ids[i], NULL, run_work, &work[i]) == 0;
    }
    run_work(&work[0]);
    for (int i = 1; i < threads; i++) {
        if (started[i]) {
            pthread_join(ids[i], NULL);
        } else {
            run_work(&work[i]);
        }
    }
}

static fopt_status cpu_create(fopt_optimizer *opt)
{
    cpu_state *s = calloc(1, sizeof *s);
    if (!s) {
        return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for the CPU backend");
    }
    int count = fopt_state_arrays(&opt->options);
    for (int a = 0; a < count; a++) {
        s->arrays[a] = calloc(opt->total_numel ? opt->total_numel : 1, sizeof(float));
        if (!s->arrays[a]) {
            for (int b = 0; b < a; b++) {
                free(s->arrays[b]);
            }
            free(s);
            return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY,
                             "out of host memory for %zu optimizer state elements", opt->total_numel);
        }
    }
    const float initial = (float)fopt_initial_state_value(&opt->options);
    for (size_t i = 0; initial != 0.0f && i < opt->total_numel; i++) {
        s->arrays[0][i] = initial;
    }
    if (fopt_has_master(&opt->options)) {
        float *master = s->arrays[fopt_algorithm_state_arrays(&opt->options)];
        for (size_t t = 0; t < opt->num_tensors; t++) {
            fopt_cpu_to_float(opt->options.param_dtype, opt->tensors[t].numel, opt->tensors[t].param,
                              master + opt->offsets[t]);
        }
    }
    s->last_lr = fopt_schedule_eval(&opt->options.schedule, 0);
    s->scaler = fopt_scaler_initial(&opt->options);
    if (opt->options.grad_scaling) {
        opt->loss_scale = &s->scaler.scale;
    }
    if (fopt_scaler_needed(&opt->options)) {
        opt->grad_norm = &s->scaler.grad_norm;
    }
    s->auto_threads = fopt_cpu_default_threads(opt->total_numel);
    opt->backend_state = s;
    return FOPT_SUCCESS;
}

static void cpu_destroy(fopt_optimizer *opt)
{
    cpu_state *s = opt->backend_state;
    if (!s) {
        return;
    }
    for (int a = 0; a < 4; a++) {
        free(s->arrays[a]);
    }
    free(s);
}

int fopt_cpu_get_threads(const fopt_optimizer *opt)
{
    const cpu_state *s = opt->backend_state;
    return s->threads > 0 ? s->threads : s->auto_threads;
}

fopt_status fopt_cpu_set_threads(fopt_optimizer *opt, int threads)
{
    if (!opt) {
        return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "opt is NULL");
    }
    if (opt->backend != FOPT_BACKEND_CPU) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_POINTER, "fopt_cpu_set_threads needs a CPU-backend optimizer");
    }
    if (threads < 0 || threads > FOPT_CPU_MAX_THREADS) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_HYPERPARAMETER, "threads must be in [0, %d], got %d",
                         FOPT_CPU_MAX_THREADS, threads);
    }
    ((cpu_state *)opt->backend_state)->threads = threads;
    return FOPT_SUCCESS;
}

/* The sum of squares of tensor t's gradients unscaled by inv_scale (16-bit
 * ones converted by blocks). */
static double grad_sum_squares(const fopt_optimizer *opt, size_t t, float inv_scale)
{
    const fopt_tensor *x = &opt->tensors[t];
    const fopt_dtype dtype = opt->options.grad_dtype;
    if (dtype == FOPT_FLOAT32) {
        return fopt_cpu_sum_squares(x->numel, x->grad, inv_scale);
    }
    float converted[FOPT_CPU_CONVERT_BLOCK];
    double sum = 0.0;
    for (size_t done = 0; done < x->numel; done += FOPT_CPU_CONVERT_BLOCK) {
        const size_t len = x->numel - done < FOPT_CPU_CONVERT_BLOCK ? x->numel - done : FOPT_CPU_CONVERT_BLOCK;
        fopt_cpu_to_float(dtype, len, (const uint16_t *)x->grad + done, converted);
        sum += fopt_cpu_sum_squares(len, converted, inv_scale);
    }
    return sum;
}

/* With scaling or clipping: the gradient pre-pass on the calling thread, a
 * skipped step ends after the scale update; the update then multiplies the
 * gradients by inv_scale, then by clip (grad_scaler.h). */
static fopt_status cpu_step(fopt_optimizer *opt)
{
    cpu_state *s = opt->backend_state;
    const fopt_options *o = &opt->options;
    const int64_t k = fopt_counter_add(s->step, 1);
    const fopt_lr_terms terms = fopt_schedule_terms(&o->schedule, s->epoch);
    const double lr = fopt_lr_at(terms, o->schedule.base_lr);
    const double lr_divisor = step_divisor(o, k);
    fopt_cpu_scalars c = make_scalars(o, lr, k, lr_divisor);
    if (fopt_scaler_needed(o)) {
        const fopt_scaler_args args = fopt_make_scaler_args(o);
        double sum = 0.0;
        for (size_t t = 0; t < opt->num_tensors; t++) {
            sum += grad_sum_squares(opt, t, s->scaler.inv_scale);
        }
        fopt_scaler_combine(&s->scaler, &args, sum);
        const int skipped = s->scaler.skip;
        c.inv_scale = s->scaler.inv_scale;
        c.clip = s->scaler.clip;
        if (!skipped) {
            run_parallel(opt, &c, terms, lr_divisor, fopt_cpu_get_threads(opt));
        }
        fopt_scaler_update(&s->scaler, &args);
        if (skipped) {
            return FOPT_SUCCESS;
        }
    } else {
        run_parallel(opt, &c, terms, lr_divisor, fopt_cpu_get_threads(opt));
    }
    s->step = k;
    s->last_lr = lr;
    if (o->steps_per_epoch > 0 && k % o->steps_per_epoch == 0) {
        s->epoch = fopt_counter_add(s->epoch, 1);
    }
    return FOPT_SUCCESS;
}

static fopt_status cpu_add_epochs(fopt_optimizer *opt, int64_t delta)
{
    cpu_state *s = opt->backend_state;
    s->epoch = fopt_counter_add(s->epoch, delta);
    return FOPT_SUCCESS;
}

static fopt_status cpu_set_epoch(fopt_optimizer *opt, int64_t epoch)
{
    cpu_state *s = opt->backend_state;
    s->epoch = epoch;
    return FOPT_SUCCESS;
}

static fopt_status cpu_read_counters(fopt_optimizer *opt, int64_t *step, int64_t *epoch, double *last_lr)
{
    const cpu_state *s = opt->backend_state;
    *step = s->step;
    *epoch = s->epoch;
    *last_lr = s->last_lr;
    return FOPT_SUCCESS;
}

static fopt_status cpu_copy_state(fopt_optimizer *opt, int array, size_t tensor, float *host, int to_host)
{
    const cpu_state *s = opt->backend_state;
    const size_t n = opt->tensors[tensor].numel;
    if (n == 0) {
        return FOPT_SUCCESS;
    }
    float *slice = s->arrays[array] + opt->offsets[tensor];
    memcpy(to_host ? host : slice, to_host ? slice : host, n * sizeof(float));
    return FOPT_SUCCESS;
}

static fopt_status cpu_set_counters(fopt_optimizer *opt, int64_t step, int64_t epoch, double last_lr)
{
    cpu_state *s = opt->backend_state;
    s->step = step;
    s->epoch = epoch;
    s->last_lr = last_lr;
    return FOPT_SUCCESS;
}

static fopt_status cpu_read_scaler(fopt_optimizer *opt, double *scale, int64_t *growth_tracker)
{
    const cpu_state *s = opt->backend_state;
    *scale = s->scaler.scale;
    *growth_tracker = s->scaler.growth_tracker;
    return FOPT_SUCCESS;
}

static fopt_status cpu_write_scaler(fopt_optimizer *opt, double scale, int64_t growth_tracker)
{
    cpu_state *s = opt->backend_state;
    s->scaler = fopt_scaler_with_scale((float)scale, growth_tracker);
    return FOPT_SUCCESS;
}

static fopt_status cpu_read_grad_norm(fopt_optimizer *opt, double *norm)
{
    const cpu_state *s = opt->backend_state;
    *norm = s->scaler.grad_norm;
    return FOPT_SUCCESS;
}

const fopt_backend_ops fopt_cpu_backend_ops = {
    cpu_create,        cpu_destroy,    cpu_step, cpu_add_epochs, cpu_set_epoch, cpu_read_counters,
    cpu_copy_state,    cpu_set_counters,
    cpu_read_scaler,   cpu_write_scaler, cpu_read_grad_norm,
};
