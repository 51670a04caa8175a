/*
 * The element loops of the CPU backend: one fp32 SGD or Adam/AdamW update of
 * a contiguous range. The per-step scalars are computed once per step in
 * double and rounded to fp32 (cpu_backend.c); the loops only read them.
 *
 * cpu_kernels.c is compiled with -O3 -fno-math-errno (src/CMakeLists.txt) so
 * the compiler vectorizes the loops, sqrtf included. It is built for several
 * instruction sets where the compiler supports target_clones; the one the
 * running CPU supports best is chosen when the library loads.
 */
#ifndef FOPT_CPU_KERNELS_H
#define FOPT_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "fusedopt.h"

typedef struct fopt_cpu_scalars {
    float sign;                 /* -1 with maximize, else +1 */
    float inv_scale;            /* the gradient is (g * inv_scale) * clip (grad_scaler.h); */
    float clip;                 /* both 1 without scaling or clipping */
    float lr;
    float weight_decay;         /* SGD/Adam L2 term; 0 skips it (PyTorch adds nothing) */
    /* SGD */
    float momentum;             /* 0: no momentum buffer */
    float dampening_complement; /* 1 - dampening */
    int nesterov;
    int first_step;             /* SGD: the momentum buffer becomes the gradient */
    /* Adam / AdamW */
    int adamw;
    int amsgrad;
    float beta1, beta2;
    float one_minus_beta1, one_minus_beta2;
    float step_size;            /* Adam: lr / (1 - beta1^k); Adagrad: lr / (1 + (k - 1) * lr_decay) */
    float inv_bias_correction2_sqrt; /* 1 / sqrt(1 - beta2^k), rounded once from double */
    float eps;
    float decoupled_decay;      /* AdamW: 1 - lr * weight_decay */
    /* RMSprop (momentum above) */
    float alpha, one_minus_alpha;
    uint64_t rounding_base;     /* stochastic rounding: fopt_sr_base(seed, k) */
} fopt_cpu_scalars;

/* dst[i] = src[i] converted to fp32, for n elements of `dtype`. */
void fopt_cpu_to_float(fopt_dtype dtype, size_t n, const void *src, float *dst);

/* dst[i] = src[i] rounded to `dtype` (nearest-even), for n elements. */
void fopt_cpu_from_float(fopt_dtype dtype, size_t n, const float *src, void *dst);

/* dst[i] = src[i] rounded to bf16 stochastically (stochastic_round.h) as
 * element first + i of the concatenated tensors, step base `base`. */
void fopt_cpu_to_bf16_stochastic(size_t n, const float *src, uint16_t *dst, uint64_t base, uint64_t first);

/* The sum of (g[i] * inv_scale)^2 over n elements, the product in fp32 and
 * the sum in double (the gradient pre-pass). */
double fopt_cpu_sum_squares(size_t n, const float *g, float inv_scale);

/* p, g: n elements; buf: the momentum buffer (NULL when momentum == 0). */
void fopt_cpu_sgd(const fopt_cpu_scalars *c, size_t n, float *p, const float *g, float *buf);

/* m, v: first and second moments; vmax: amsgrad's running maximum (NULL without). */
void fopt_cpu_adam(const fopt_cpu_scalars *c, size_t n, float *p, const float *g, float *m, float *v,
                   float *vmax);

/* sum: Adagrad's sum of squared gradients; step_size is the step's clr. */
void fopt_cpu_adagrad(const fopt_cpu_scalars *c, size_t n, float *p, const float *g, float *sum);

/* RMSprop: sq (square_avg), buf (momentum buffer, NULL without momentum),
 * avg (grad_avg, NULL unless centered). */
void fopt_cpu_rmsprop(const fopt_cpu_scalars *c, size_t n, float *p, const float *g, float *sq, float *buf,
                      float *avg);

#endif /* FOPT_CPU_KERNELS_H */
