/*
 * Gradient scaling (PyTorch GradScaler semantics) and clipping by global L2
 * norm (torch.nn.utils.clip_grad_norm_): the state both backends keep and the
 * scalar math they share, one implementation for host C code, the CUDA
 * kernels and the CPU execution harness.
 *
 * As in GradScaler.unscale_, a gradient g is unscaled as the fp32 product
 * u = g * inv_scale with inv_scale = (float)(1 / (double)scale). Per step,
 * from the sum of squares of the unscaled gradients over all tensors,
 * accumulated in double:
 *   found_inf = the sum is not finite. In double, squares of finite fp32
 *               values (< 1.2e77) summed over < 2^62 elements stay finite, so
 *               this is exactly "some unscaled gradient is inf or NaN",
 *               GradScaler's test (which also catches g * inv_scale overflowing).
 *   skip      = grad_scaling && found_inf: the step changes nothing.
 *   clip      = max_grad_norm > 0 ? clamp(max_grad_norm / (sqrt(sum) + 1e-6), max 1) : 1
 *               (clip_grad_norm_: an inf norm gives 0, a NaN norm NaN).
 *   grad_norm = (float)sqrt(sum), the norm clip_grad_norm_ returns (also on a
 *               skipped step: inf or NaN), for logging (fopt_get_grad_norm).
 * The update uses the gradient (g * inv_scale) * clip, two fp32 multiplies
 * as PyTorch's unscale and clip (without scaling and clipping both are 1).
 * After the update (fopt_scaler_update, GradScaler.update), with the scale
 * an fp32 value and the factors doubles, as PyTorch keeps them:
 *   skip: scale = (float)(scale * backoff_factor), growth_tracker = 0
 *   else: growth_tracker += 1; when it reaches growth_interval:
 *         scale = (float)(scale * growth_factor) if that is finite,
 *         growth_tracker = 0
 * Without grad_scaling, scale stays 1 and nothing is skipped (non-finite
 * gradients propagate into the parameters, as in PyTorch).
 */
#ifndef FOPT_GRAD_SCALER_H
#define FOPT_GRAD_SCALER_H

#include <math.h>
#include <stdint.h>

#include "schedule_eval.h" /* FOPT_HD */

/* The scaler state, device memory on CUDA, host memory on the CPU backend. */
typedef struct fopt_grad_scaler {
    float scale;            /* the loss scale the user multiplies the loss by (1 without grad_scaling) */
    float inv_scale;        /* fopt_scaler_inverse(scale), kept with it */
    float clip;             /* the clip coefficient of the current step (1 without clipping) */
    float grad_norm;        /* (float)sqrt(sum of squares) of the current step; 0 before the first */
    int32_t skip;           /* the current step is skipped */
    int64_t growth_tracker; /* good steps since the scale last changed */
} fopt_grad_scaler;

/* The options the scaler uses, with fp32/int64 types the kernels take. */
typedef struct fopt_scaler_args {
    int grad_scaling;
    double growth_factor;
    double backoff_factor;
    int64_t growth_interval;
    double max_grad_norm;   /* 0 = no clipping */
} fopt_scaler_args;

/* Whether a step needs the gradient pre-pass at all. */
static inline int fopt_scaler_needed(const fopt_options *o)
{
    return o->grad_scaling || o->max_grad_norm > 0.0 || o->track_grad_norm;
}

static inline fopt_scaler_args fopt_make_scaler_args(const fopt_options *o)
{
    fopt_scaler_args a;
    a.grad_scaling = o->grad_scaling != 0;
    a.growth_factor = o->growth_factor;
    a.backoff_factor = o->backoff_factor;
    a.growth_interval = o->growth_interval;
    a.max_grad_norm = o->max_grad_norm;
    return a;
}

/* GradScaler's unscale factor: the reciprocal of the scale in double, rounded to fp32. */
static inline FOPT_HD float fopt_scaler_inverse(float scale)
{
    return (float)(1.0 / (double)scale);
}

/* A scaler state with this scale and growth tracker, nothing skipped. */
static inline fopt_grad_scaler fopt_scaler_with_scale(float scale, int64_t growth_tracker)
{
    fopt_grad_scaler s;
    s.scale = scale;
    s.inv_scale = fopt_scaler_inverse(scale);
    s.clip = 1.0f;
    s.grad_norm = 0.0f;
    s.skip = 0;
    s.growth_tracker = growth_tracker;
    return s;
}

/* The state at create: the initial scale (1 without grad_scaling). */
static inline fopt_grad_scaler fopt_scaler_initial(const fopt_options *o)
{
    return fopt_scaler_with_scale(o->grad_scaling ? (float)o->init_scale : 1.0f, 0);
}

/* Sets skip and clip of the step from the sum of squares of the unscaled gradients. */
static inline FOPT_HD void fopt_scaler_combine(fopt_grad_scaler *s, const fopt_scaler_args *a, double sum_squares)
{
    s->grad_norm = (float)sqrt(sum_squares);
    s->skip = a->grad_scaling && !isfinite(sum_squares);
    double clip = 1.0;
    if (a->max_grad_norm > 0.0 && !s->skip) {
        const double coef = a->max_grad_norm / (sqrt(sum_squares) + 1e-6);
        clip = coef >= 1.0 ? 1.0 : coef; /* torch.clamp(max=1) keeps a NaN */
    }
    s->clip = (float)clip;
}

/* The scale update after the step (GradScaler.update). */
static inline FOPT_HD void fopt_scaler_update(fopt_grad_scaler *s, const fopt_scaler_args *a)
{
    if (!a->grad_scaling) {
        return;
    }
    if (s->skip) {
        s->scale = (float)((double)s->scale * a->backoff_factor);
        s->growth_tracker = 0;
    } else if (++s->growth_tracker >= a->growth_interval) {
        const float grown = (float)((double)s->scale * a->growth_factor);
        if (isfinite(grown)) {
            s->scale = grown;
        }
        s->growth_tracker = 0;
    }
    s->inv_scale = fopt_scaler_inverse(s->scale);
}

#endif /* FOPT_GRAD_SCALER_H */
