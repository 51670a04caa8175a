/*
 * The element loops of the CPU backend, see cpu_kernels.h.
 *
 * Each loop is written once as an always-inline function whose option flags
 * are compile-time constants at every call site below, so the compiler emits
 * one branch-free, vectorizable loop per combination of options (e.g. AdamW
 * without amsgrad) instead of testing the options per element.
 *
 * Arithmetic is fp32 in the order of the reference (reference.c), except that
 * Adam divides by sqrt(1 - beta2^k) as a multiply by its reciprocal; the
 * compiler may contract a*b+c into fused multiply-adds where the instruction
 * set has them (GCC's default -ffp-contract=fast). Both stay far inside the
 * tests' tolerance. No -ffast-math: NaN and
 * infinity propagate exactly as in the reference.
 */
#include <math.h>

#include "cpu_kernels.h"
#include "dtype.h"
#include "stochastic_round.h"

#if defined(__GNUC__)
#define FOPT_INLINE static inline __attribute__((always_inline))
#else
#define FOPT_INLINE static inline
#endif

/* Several instruction sets in one binary (GCC/Clang ifunc on x86-64 ELF):
 * portable baseline plus AVX2+FMA and AVX-512, chosen at load time. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__) && !defined(FOPT_CPU_NO_CLONES) && \
    !defined(__SANITIZE_ADDRESS__)
#define FOPT_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define FOPT_CLONES
#endif

/* max(a, b) that is NaN when either is (torch.maximum), as a select the
 * compiler vectorizes. */
FOPT_INLINE float max_keeping_nan(float a, float b)
{
    return (a > b || a != a) ? a : b;
}

FOPT_INLINE void sgd_loop(const fopt_cpu_scalars *c, size_t n, float *restrict p, const float *restrict g,
                          float *restrict buf, const int l2, const int momentum, const int first,
                          const int nesterov)
{
    const float sign = c->sign, inv_scale = c->inv_scale, clip = c->clip, wd = c->weight_decay, lr = c->lr;
    const float mom = c->momentum, damp = c->dampening_complement;
    for (size_t i = 0; i < n; i++) {
        float grad = sign * g[i] * inv_scale * clip;
        if (l2) {
            grad += wd * p[i];
        }
        if (momentum) {
            const float b = first ? grad : mom * buf[i] + damp * grad;
            buf[i] = b;
            grad = nesterov ? grad + mom * b : b;
        }
        p[i] = p[i] - lr * grad;
    }
}

FOPT_INLINE void adam_loop(const fopt_cpu_scalars *c, size_t n, float *restrict p, const float *restrict g,
                           float *restrict m, float *restrict v, float *restrict vmax, const int adamw,
                           const int l2, const int amsgrad)
{
    const float sign = c->sign, inv_scale = c->inv_scale, clip = c->clip;
    const float wd = c->weight_decay, decay = c->decoupled_decay;
    const float b1 = c->beta1, b2 = c->beta2, omb1 = c->one_minus_beta1, omb2 = c->one_minus_beta2;
    const float step_size = c->step_size, inv_bc2 = c->inv_bias_correction2_sqrt, eps = c->eps;
    for (size_t i = 0; i < n; i++) {
        float grad = sign * g[i] * inv_scale * clip;
        float param = p[i];
        if (adamw) {
            param *= decay;
        } else if (l2) {
            grad += wd * param;
        }
        const float m_new = b1 * m[i] + omb1 * grad;
        float v_new = b2 * v[i] + omb2 * grad * grad;
        m[i] = m_new;
        v[i] = v_new;
        if (amsgrad) {
            v_new = max_keeping_nan(vmax[i], v_new);
            vmax[i] = v_new;
        }
        /* sqrt(v) / sqrt(bc2) + eps; a multiply by the reciprocal instead of a
         * second division (within an ulp; divisions are the costliest operation
         * here once the data is in cache). */
        const float denom = sqrtf(v_new) * inv_bc2 + eps;
        p[i] = param - step_size * m_new / denom;
    }
}

FOPT_INLINE void adagrad_loop(const fopt_cpu_scalars *c, size_t n, float *restrict p, const float *restrict g,
                              float *restrict sum, const int l2)
{
    const float sign = c->sign, inv_scale = c->inv_scale, clip = c->clip, wd = c->weight_decay;
    const float clr = c->step_size, eps = c->eps;
    for (size_t i = 0; i < n; i++) {
        float grad = sign * g[i] * inv_scale * clip;
        if (l2) {
            grad += wd * p[i];
        }
        const float s = sum[i] + grad * grad;
        sum[i] = s;
        p[i] = p[i] - clr * (grad / (sqrtf(s) + eps));
    }
}

FOPT_INLINE void rmsprop_loop(const fopt_cpu_scalars *c, size_t n, float *restrict p, const float *restrict g,
                              float *restrict sq, float *restrict buf, float *restrict avg, const int l2,
                              const int momentum, const int centered)
{
    const float sign = c->sign, inv_scale = c->inv_scale, clip = c->clip, wd = c->weight_decay, lr = c->lr;
    const float alpha = c->alpha, oma = c->one_minus_alpha, eps = c->eps, mom = c->momentum;
    for (size_t i = 0; i < n; i++) {
        float grad = sign * g[i] * inv_scale * clip;
        if (l2) {
            grad += wd * p[i];
        }
        const float s = alpha * sq[i] + oma * grad * grad;
        sq[i] = s;
        float denom;
        if (centered) {
            const float a = alpha * avg[i] + oma * grad;
            avg[i] = a;
            denom = sqrtf(s - a * a) + eps;
        } else {
            denom = sqrtf(s) + eps;
        }
        if (momentum) {
            const float b = mom * buf[i] + grad / denom;
            buf[i] = b;
            p[i] = p[i] - lr * b;
        } else {
            p[i] = p[i] - lr * (grad / denom);
        }
    }
}

/* bf16 gets its own loops (shifts and a select, vectorized); fp16 the
 * scalar conversions of dtype.h. */
FOPT_CLONES void fopt_cpu_to_float(fopt_dtype dtype, size_t n, const void *src, float *restrict dst)
{
    if (dtype == FOPT_BFLOAT16) {
        const uint16_t *restrict h = src;
        for (size_t i = 0; i < n; i++) {
            dst[i] = fopt_bf16_to_float(h[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            dst[i] = fopt_dtype_load(dtype, src, i);
        }
    }
}

FOPT_CLONES void fopt_cpu_from_float(fopt_dtype dtype, size_t n, const float *restrict src, void *dst)
{
    if (dtype == FOPT_BFLOAT16) {
        uint16_t *restrict h = dst;
        for (size_t i = 0; i < n; i++) {
            h[i] = fopt_float_to_bf16(src[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            fopt_dtype_store(dtype, dst, i, src[i]);
        }
    }
}

FOPT_CLONES void fopt_cpu_to_bf16_stochastic(size_t n, const float *restrict src, uint16_t *restrict dst,
                                             uint64_t base, uint64_t first)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = fopt_sr_bf16(fopt_float_bits(src[i]), base, first + i);
    }
}

FOPT_CLONES double fopt_cpu_sum_squares(size_t n, const float *g, float inv_scale)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float u = g[i] * inv_scale;
        sum += (double)u * u;
    }
    return sum;
}

FOPT_CLONES void fopt_cpu_sgd(const fopt_cpu_scalars *c, size_t n, float *p, const float *g, float *buf)
{
    const int l2 = c->weight_decay != 0.0f;
    if (!buf) {
        if (l2) {
            sgd_loop(c, n, p, g, buf, 1, 0, 0, 0);
        } else {
            sgd_loop(c, n, p, g, buf, 0, 0, 0, 0);
        }
    } else if (c->first_step) {
        /* buf = grad; nesterov: grad + momentum * grad, else grad. */
        if (l2) {
            c->nesterov ? sgd_loop(c, n, p, g, buf, 1, 1, 1, 1) : sgd_loop(c, n, p, g, buf, 1, 1, 1, 0);
        } else {
            c->nesterov ? sgd_loop(c, n, p, g, buf, 0, 1, 1, 1) : sgd_loop(c, n, p, g, buf, 0, 1, 1, 0);
        }
    } else if (l2) {
        c->nesterov ? sgd_loop(c, n, p, g, buf, 1, 1, 0, 1) : sgd_loop(c, n, p, g, buf, 1, 1, 0, 0);
    } else {
        c->nesterov ? sgd_loop(c, n, p, g, buf, 0, 1, 0, 1) : sgd_loop(c, n, p, g, buf, 0, 1, 0, 0);
    }
}

FOPT_CLONES void fopt_cpu_adam(const fopt_cpu_scalars *c, size_t n, float *p, const float *g, float *m,
                               float *v, float *vmax)
{
    const int l2 = c->weight_decay != 0.0f;
    if (c->adamw) {
        vmax ? adam_loop(c, n, p, g, m, v, vmax, 1, 0, 1) : adam_loop(c, n, p, g, m, v, vmax, 1, 0, 0);
    } else if (l2) {
        vmax ? adam_loop(c, n, p, g, m, v, vmax, 0, 1, 1) : adam_loop(c, n, p, g, m, v, vmax, 0, 1, 0);
    } else {
        vmax ? adam_loop(c, n, p, g, m, v, vmax, 0, 0, 1) : adam_loop(c, n, p, g, m, v, vmax, 0, 0, 0);
    }
}

FOPT_CLONES void fopt_cpu_adagrad(const fopt_cpu_scalars *c, size_t n, float *p, const float *g, float *sum)
{
    if (c->weight_decay != 0.0f) {
        adagrad_loop(c, n, p, g, sum, 1);
    } else {
        adagrad_loop(c, n, p, g, sum, 0);
    }
}

FOPT_CLONES void fopt_cpu_rmsprop(const fopt_cpu_scalars *c, size_t n, float *p, const float *g, float *sq,
                                  float *buf, float *avg)
{
    const int l2 = c->weight_decay != 0.0f;
    const int case_bits = (l2 ? 4 : 0) | (buf ? 2 : 0) | (avg ? 1 : 0);
    switch (case_bits) {
    case 0: rmsprop_loop(c, n, p, g, sq, buf, avg, 0, 0, 0); break;
    case 1: rmsprop_loop(c, n, p, g, sq, buf, avg, 0, 0, 1); break;
    case 2: rmsprop_loop(c, n, p, g, sq, buf, avg, 0, 1, 0); break;
    case 3: rmsprop_loop(c, n, p, g, sq, buf, avg, 0, 1, 1); break;
    case 4: rmsprop_loop(c, n, p, g, sq, buf, avg, 1, 0, 0); break;
    case 5: rmsprop_loop(c, n, p, g, sq, buf, avg, 1, 0, 1); break;
    case 6: rmsprop_loop(c, n, p, g, sq, buf, avg, 1, 1, 0); break;
    default: rmsprop_loop(c, n, p, g, sq, buf, avg, 1, 1, 1); break;
    }
}
