/*
 * Gradient scaling (PyTorch GradScaler semantics) and clipping by global L2
 * norm (torch.nn.utils.clip_grad_norm_): the state both backends keep and the
 * scalar math they share, one implementation for host C code, the CUDA
 * kernels and the CPU execution harness.
 *
 * Per step, from the sum of squares of the (still scaled) gradients over all
 * tensors, accumulated in double:
 *   found_inf = the sum is not finite. In double, squares of finite fp32
 *               values (< 1.2e77) summed over < 2^62 elements stay finite, so
 *               this is exactly "some gradient is inf or NaN".
 *   skip      = grad_scaling && found_inf: the step changes nothing.
 *   norm      = sqrt(sum) / scale                       (norm of the unscaled gradients)
 *   clip      = max_grad_norm > 0 ? min(1, max_grad_norm / (norm + 1e-6)) : 1
 *   grad_factor = clip / scale (fp32): the update multiplies every gradient by it.
 * After the update (fopt_scaler_update):
 *   skip: scale *= backoff_factor, growth_tracker = 0
 *   else: growth_tracker += 1; when it reaches growth_interval:
 *         scale *= growth_factor (kept only if finite), growth_tracker = 0
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
    float grad_factor;      /* clip / scale of the current step */
    int32_t skip;           /* the current step is skipped */
    int32_t reserved;
    int64_t growth_tracker; /* good steps since the scale last changed */
} fopt_grad_scaler;

/* The options the scaler uses, with fp32/int64 types the kernels take. */
typedef struct fopt_scaler_args {
    int grad_scaling;
    float growth_factor;
    float backoff_factor;
    int64_t growth_interval;
    double max_grad_norm;   /* 0 = no clipping */
} fopt_scaler_args;

/* Whether a step needs the gradient pre-pass at all. */
static inline int fopt_scaler_needed(const fopt_options *o)
{
    return o->grad_scaling || o->max_grad_norm > 0.0;
}

static inline fopt_scaler_args fopt_make_scaler_args(const fopt_options *o)
{
    fopt_scaler_args a;
    a.grad_scaling = o->grad_scaling != 0;
    a.growth_factor = (float)o->growth_factor;
    a.backoff_factor = (float)o->backoff_factor;
    a.growth_interval = o->growth_interval;
    a.max_grad_norm = o->max_grad_norm;
    return a;
}

/* The state at create: the initial scale (1 without grad_scaling), nothing skipped. */
static inline fopt_grad_scaler fopt_scaler_initial(const fopt_options *o)
{
    fopt_grad_scaler s;
    s.scale = o->grad_scaling ? (float)o->init_scale : 1.0f;
    s.grad_factor = 1.0f / s.scale;
    s.skip = 0;
    s.reserved = 0;
    s.growth_tracker = 0;
    return s;
}

/* Sets skip and grad_factor of step from the sum of squares of the scaled gradients. */
static inline FOPT_HD void fopt_scaler_combine(fopt_grad_scaler *s, const fopt_scaler_args *a, double sum_squares)
{
    const int found_inf = !isfinite(sum_squares);
    s->skip = a->grad_scaling && found_inf;
    double clip = 1.0;
    if (a->max_grad_norm > 0.0 && !found_inf) {
        const double norm = sqrt(sum_squares) / (double)s->scale;
        const double coef = a->max_grad_norm / (norm + 1e-6);
        clip = coef < 1.0 ? coef : 1.0;
    }
    s->grad_factor = (float)(clip / (double)s->scale);
}

/* The scale update after the step (GradScaler.update). */
static inline FOPT_HD void fopt_scaler_update(fopt_grad_scaler *s, const fopt_scaler_args *a)
{
    if (!a->grad_scaling) {
        return;
    }
    if (s->skip) {
        s->scale *= a->backoff_factor;
        s->growth_tracker = 0;
        return;
    }
    s->growth_tracker += 1;
    if (s->growth_tracker >= a->growth_interval) {
        const float grown = s->scale * a->growth_factor;
        if (isfinite(grown)) {
            s->scale = grown;
        }
        s->growth_tracker = 0;
    }
}

#endif /* FOPT_GRAD_SCALER_H */
