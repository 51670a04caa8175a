/*
 * Closed-form learning-rate schedules, one implementation for host C code,
 * the CUDA kernels and the CPU execution harness.
 *
 * Evaluated from an int64 epoch counter, never recursively: the recursive
 * PyTorch form divides by ~0 near t = 2k * T_max in fp32. Periodic schedules
 * reduce the epoch modulo their period in integer arithmetic first, so any
 * epoch up to 2^62 keeps full double precision in the cosine argument.
 * The caller validates the schedule (fopt_schedule_check) beforehand.
 */
#ifndef FOPT_SCHEDULE_EVAL_H
#define FOPT_SCHEDULE_EVAL_H

#include <math.h>
#include <stdint.h>

#include "fusedopt.h"

#if defined(__CUDACC__) || defined(FOPT_EMU)
#define FOPT_HD __host__ __device__
#else
#define FOPT_HD
#endif

#define FOPT_PI 3.14159265358979323846

/* counter + delta (both >= 0), stopping at FOPT_MAX_COUNTER: a counter never overflows. */
static inline FOPT_HD int64_t fopt_counter_add(int64_t counter, int64_t delta)
{
    return delta > FOPT_MAX_COUNTER - counter ? FOPT_MAX_COUNTER : counter + delta;
}

/*
 * Every schedule is affine in base_lr: lr(t) = offset(t) + slope(t) * base_lr
 * (eta_min is the same for every tensor, as in PyTorch, where a scheduler
 * keeps one base lr per parameter group and one eta_min). So one evaluation
 * per step serves tensors with base lrs of their own
 * (options.tensor_base_lr), and fopt_schedule_eval is the same expression.
 */
typedef struct fopt_lr_terms {
    double offset;
    double slope;
} fopt_lr_terms;

/* The lr of a tensor whose base lr is base_lr. */
static inline FOPT_HD double fopt_lr_at(fopt_lr_terms terms, double base_lr)
{
    return terms.offset + terms.slope * base_lr;
}

/* Cosine from peak_factor * base_lr down to eta_min:
 *   eta_min + (peak - eta_min) * h, h = (1 + cos(pi * t / period)) / 2,
 * written eta_min * (1 - h) + peak_factor * h * base_lr; 0 <= t < 2 * period. */
static inline FOPT_HD fopt_lr_terms fopt_cosine_terms(double peak_factor, double eta_min, int64_t t, int64_t period)
{
#if defined(__CUDA_ARCH__)
    /* cospi reduces its argument exactly; the device cos keeps a local-memory
     * slow path (Payne-Hanek) that ptxas reports as a stack frame. */
    const double c = cospi((double)t / (double)period);
#else
    const double c = cos(FOPT_PI * (double)t / (double)period);
#endif
    const double h = (1.0 + c) / 2.0;
    fopt_lr_terms terms = {eta_min * (1.0 - h), peak_factor * h};
    return terms;
}

/* CosineAnnealingLR: period 2 * t_max, mirrored, no restart. */
static inline FOPT_HD fopt_lr_terms fopt_cosine_annealing(double eta_min, int64_t t, int64_t t_max)
{
    return fopt_cosine_terms(1.0, eta_min, t % (2 * t_max), t_max);
}

/* CosineAnnealingWarmRestarts with integer t_mult and a peak decay per restart.
 * Cycle i has length t_0 * t_mult^i; walk the cycles in integer arithmetic
 * (at most ~63 iterations for t_mult >= 2, one division for t_mult == 1). */
static inline FOPT_HD fopt_lr_terms fopt_cosine_restarts(const fopt_schedule *s, int64_t t)
{
    int64_t cycle = 0;
    int64_t t_cur = t;
    int64_t t_i = s->t_0;
    if (s->t_mult == 1) {
        cycle = t / s->t_0;
        t_cur = t % s->t_0;
    } else {
        while (t_cur >= t_i) {
            t_cur -= t_i;
            cycle += 1;
            if (t_i > INT64_MAX / s->t_mult) {
                break; /* the next cycle is longer than any reachable epoch */
            }
            t_i *= s->t_mult;
        }
    }
    return fopt_cosine_terms(pow(s->restart_decay, (double)cycle), s->eta_min, t_cur, t_i);
}

/* LinearLR(f, total_iters=W) at t < W: base_lr * (f + (1 - f) * t / W). */
static inline FOPT_HD fopt_lr_terms fopt_linear_warmup(const fopt_schedule *s, int64_t t)
{
    const double f = s->warmup_start_factor;
    fopt_lr_terms terms = {0.0, f + (1.0 - f) * (double)t / (double)s->warmup_steps};
    return terms;
}

/* SequentialLR([LinearLR(f, total_iters=W), CosineAnnealingLR(t_max - W)], [W]). */
static inline FOPT_HD fopt_lr_terms fopt_warmup_cosine(const fopt_schedule *s, int64_t t)
{
    const int64_t w = s->warmup_steps;
    return t < w ? fopt_linear_warmup(s, t) : fopt_cosine_annealing(s->eta_min, t - w, s->t_max - w);
}

/* StepLR: base_lr * gamma^floor(t / step_size). */
static inline FOPT_HD fopt_lr_terms fopt_step_decay(const fopt_schedule *s, int64_t t)
{
    fopt_lr_terms terms = {0.0, pow(s->gamma, (double)(t / s->step_size))};
    return terms;
}

/* Linear warmup (as WARMUP_COSINE), then base_lr * (1 - p) + eta_min * p with
 * p = (t - W) / (t_max - W) the decay's progress, held at 1 from t_max on. */
static inline FOPT_HD fopt_lr_terms fopt_warmup_linear(const fopt_schedule *s, int64_t t)
{
    const int64_t w = s->warmup_steps;
    if (t < w) {
        return fopt_linear_warmup(s, t);
    }
    const double p = t >= s->t_max ? 1.0 : (double)(t - w) / (double)(s->t_max - w);
    fopt_lr_terms terms = {s->eta_min * p, 1.0 - p};
    return terms;
}

/* offset and slope of the schedule at epoch t >= 0 (base_lr is not read). */
static inline FOPT_HD fopt_lr_terms fopt_schedule_terms(const fopt_schedule *s, int64_t t)
{
    fopt_lr_terms constant = {0.0, 1.0};
    switch (s->kind) {
    case FOPT_SCHEDULE_COSINE:
        return fopt_cosine_annealing(s->eta_min, t, s->t_max);
    case FOPT_SCHEDULE_COSINE_RESTARTS:
        return fopt_cosine_restarts(s, t);
    case FOPT_SCHEDULE_WARMUP_COSINE:
        return fopt_warmup_cosine(s, t);
    case FOPT_SCHEDULE_STEP:
        return fopt_step_decay(s, t);
    case FOPT_SCHEDULE_WARMUP_LINEAR:
        return fopt_warmup_linear(s, t);
    case FOPT_SCHEDULE_CONSTANT:
    default:
        return constant;
    }
}

/* The learning rate at epoch t >= 0. */
static inline FOPT_HD double fopt_schedule_eval(const fopt_schedule *s, int64_t t)
{
    return fopt_lr_at(fopt_schedule_terms(s, t), s->base_lr);
}

#endif /* FOPT_SCHEDULE_EVAL_H */
