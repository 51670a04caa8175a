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

/* Optimizer state of one tensor, n elements each, zero-initialized by the caller.
 * SGD: momentum_buffer. Adam/AdamW: exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad). */
typedef struct fopt_reference_state {
    double *momentum_buffer;
    double *exp_avg;
    double *exp_avg_sq;
    double *max_exp_avg_sq;
} fopt_reference_state;

/* One step of options->algorithm on n elements with learning rate `lr`.
 * `step` is the 1-based optimizer step k: SGD's first step (k == 1) sets the
 * momentum buffer to the gradient; Adam's bias corrections use t = k. */
void fopt_reference_step(const fopt_options *options, double lr, int64_t step, size_t n,
                         double *param, const double *grad, fopt_reference_state *state);

#ifdef __cplusplus
}
#endif

#endif /* FOPT_REFERENCE_H */
