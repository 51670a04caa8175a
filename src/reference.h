/*
 * The CPU reference: double precision, plain loops, PyTorch's algorithms
 * (torch.optim.SGD / Adam / AdamW, single-tensor path). It is the yardstick
 * every other path is compared with; it favours readability over speed.
 */
#ifndef FOPT_REFERENCE_H
#define FOPT_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "fusedopt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Optimizer state of one tensor, n elements each, zero-initialized by the
 * caller (Adagrad's state_sum: initial_accumulator_value).
 * SGD: momentum_buffer. Adam/AdamW: exp_avg, exp_avg_sq, max_exp_avg_sq
 * (amsgrad). Adagrad: state_sum (sharing the first array with
 * momentum_buffer, as the optimizer's state array 0). RMSprop: square_avg
 * in exp_avg_sq, grad_avg (centered) in exp_avg, momentum_buffer. */
typedef struct fopt_reference_state {
    union {
        double *momentum_buffer;
        double *state_sum;
    };
    double *exp_avg;
    double *exp_avg_sq;
    double *max_exp_avg_sq;
} fopt_reference_state;

/* The value state array `array` (0..3 of fopt_reference_state) starts at:
 * Adagrad's state_sum initial_accumulator_value, everything else 0. */
double fopt_reference_initial_state(const fopt_options *options, int array);

/* The options tensor t of an optimizer steps with (PyTorch: the tensor's
 * parameter group): `options` with weight_decay set to
 * options->tensor_weight_decay[t] and schedule.base_lr to
 * options->tensor_base_lr[t] where those lists are given, both lists
 * cleared. The tensor's lr at an epoch is fopt_schedule_lr of its schedule. */
fopt_options fopt_reference_tensor_options(const fopt_options *options, size_t t);

/* One step of options->algorithm on n elements with learning rate `lr`.
 * `step` is the 1-based optimizer step k: SGD's first step (k == 1) sets the
 * momentum buffer to the gradient; Adam's bias corrections use t = k. */
void fopt_reference_step(const fopt_options *options, double lr, int64_t step, size_t n,
                         double *param, const double *grad, fopt_reference_state *state);

/* Gradient scaling and clipping of one step over all tensors (PyTorch
 * GradScaler.unscale_, then torch.nn.utils.clip_grad_norm_); grads[t] holds
 * the numel[t] fp32 gradients of tensor t as the backward pass left them
 * (scaled), and `scale` is the fp32 loss scale (1 without grad_scaling).
 * GradScaler defines the unscaled gradient in fp32: u = g * inv_scale, with
 * inv_scale = (float)(1 / (double)scale). Returns 1 when the step is
 * skipped: options->grad_scaling is on and some u is inf or NaN (grads are
 * left as they are). Otherwise replaces every gradient by u; then, with
 * max_grad_norm > 0, multiplies them by clamp(max_grad_norm / (norm + 1e-6),
 * max 1), norm being the L2 norm of all u together (an inf norm gives 0, a
 * NaN norm NaN, as in PyTorch); returns 0. grad_norm (may be NULL) receives
 * that norm, before clipping (what clip_grad_norm_ returns), also on a
 * skipped step (then inf or NaN). */
int fopt_reference_unscale_clip(const fopt_options *options, double scale, size_t num_tensors,
                                const size_t *numel, double *const *grads, double *grad_norm);

/* GradScaler.update after a step, the scale being an fp32 value: skipped:
 * scale = (float)(scale * backoff_factor), growth_tracker = 0; else
 * growth_tracker += 1 and, when it equals growth_interval, growth_tracker = 0
 * and scale = (float)(scale * growth_factor) unless that is inf. */
void fopt_reference_update_scale(const fopt_options *options, int skipped, double *scale,
                                 int64_t *growth_tracker);

#ifdef __cplusplus
}
#endif

#endif /* FOPT_REFERENCE_H */
