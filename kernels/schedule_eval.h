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

/* eta_min + (peak - eta_min) * (1 + cos(pi * t / period)) / 2, with 0 <= t < 2 * period. */
static inline FOPT_HD double fopt_cosine_between(double peak, double eta_min, int64_t t, int64_t period)
{
#if defined(__CUDA_ARCH__)
    /* cospi reduces its argument exactly; the device cos keeps a local-memory
     * slow path (Payne-Hanek) that ptxas reports as a stack frame. */
    double c = cospi((double)t / (double)period);
#else
    double c = cos(FOPT_PI * (double)t / (double)period);
#endif
    return eta_min + (peak - eta_min) * (1.0 + c) / 2.0;
}

/* CosineAnnealingLR: period 2 * t_max, mirrored, no restart. */
static inline FOPT_HD double fopt_cosine_annealing(double base_lr, double eta_min, int64_t t, int64_t t_max)
{
    int64_t phase = t % (2 * t_max);
    return fopt_cosine_between(base_lr, eta_min, phase, t_max);
}

/* CosineAnnealingWarmRestarts with integer t_mult and a peak decay per restart.
 * Cycle i has length t_0 * t_mult^i; walk the cycles in integer arithmetic
 * (at most ~63 iterations for t_mult >= 2, one division for t_mult == 1). */
static inline FOPT_HD double fopt_cosine_restarts(const fopt_schedule *s, int64_t t)
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
    double peak = s->base_lr * pow(s->restart_decay, (double)cycle);
    return fopt_cosine_between(peak, s->eta_min, t_cur, t_i);
}

/* SequentialLR([LinearLR(f, total_iters=W), CosineAnnealingLR(t_max - W)], [W]). */
static inline FOPT_HD double fopt_warmup_cosine(const fopt_schedule *s, int64_t t)
{
    int64_t w = s->warmup_steps;
    if (t < w) {
        double f = s->warmup_start_factor;
        return s->base_lr * (f + (1.0 - f) * (double)t / (double)w);
    }
    return fopt_cosine_annealing(s->base_lr, s->eta_min, t - w, s->t_max - w);
}

/* The learning rate at epoch t >= 0. */
static inline FOPT_HD double fopt_schedule_eval(const fopt_schedule *s, int64_t t)
{
    switch (s->kind) {
    case FOPT_SCHEDULE_COSINE:
        return fopt_cosine_annealing(s->base_lr, s->eta_min, t, s->t_max);
    case FOPT_SCHEDULE_COSINE_RESTARTS:
        return fopt_cosine_restarts(s, t);
    case FOPT_SCHEDULE_WARMUP_COSINE:
        return fopt_warmup_cosine(s, t);
    case FOPT_SCHEDULE_CONSTANT:
    default:
        return s->base_lr;
    }
}

#endif /* FOPT_SCHEDULE_EVAL_H */
