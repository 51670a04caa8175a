/* The bandwidth loop and the unfused passes of the CPU benchmark (see bench_cpu_loops.h). */
#include <math.h>
#include <string.h>

#include "bench_cpu_loops.h"

/* The instruction sets the backend's loops are built for (src/cpu_kernels.c). */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__) && !defined(FOPT_CPU_NO_CLONES) && \
    !defined(__SANITIZE_ADDRESS__)
#define CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define CLONES
#endif

#if defined(__GNUC__)
#define PASS static CLONES __attribute__((noinline)) /* keep every pass a separate loop */
#else
#define PASS static
#endif

CLONES void bench_stream_loop(size_t n, float *restrict p, const float *restrict g, float *const *state, int nstate)
{
    const float a = 1e-7f, b = 0.5f;
    float *restrict s0 = nstate > 0 ? state[0] : NULL;
    float *restrict s1 = nstate > 1 ? state[1] : NULL;
    float *restrict s2 = nstate > 2 ? state[2] : NULL;
    switch (nstate) {
    case 0:
        for (size_t i = 0; i < n; i++) {
            p[i] += a * g[i];
        }
        break;
    case 1:
        for (size_t i = 0; i < n; i++) {
            p[i] += a * g[i];
            s0[i] = b * s0[i] + g[i];
        }
        break;
    case 2:
        for (size_t i = 0; i < n; i++) {
            p[i] += a * g[i];
            s0[i] = b * s0[i] + g[i];
            s1[i] = b * s1[i] + g[i];
        }
        break;
    default:
        for (size_t i = 0; i < n; i++) {
            p[i] += a * g[i];
            s0[i] = b * s0[i] + g[i];
            s1[i] = b * s1[i] + g[i];
            s2[i] = b * s2[i] + g[i];
        }
        break;
    }
}

/* ---- the passes of the unfused step --------------------------------------- */

PASS void scale(size_t n, float *restrict x, float a)
{
    for (size_t i = 0; i < n; i++) {
        x[i] *= a;
    }
}

PASS void axpy(size_t n, float *restrict y, float a, const float *restrict x)
{
    for (size_t i = 0; i < n; i++) {
        y[i] += a * x[i];
    }
}

PASS void addcmul(size_t n, float *restrict y, float a, const float *restrict x)
{
    for (size_t i = 0; i < n; i++) {
        y[i] += a * x[i] * x[i];
    }
}

PASS void maximum(size_t n, float *restrict y, const float *restrict x)
{
    for (size_t i = 0; i < n; i++) {
        y[i] = y[i] >= x[i] ? y[i] : x[i];
    }
}

PASS void sqrt_to(size_t n, float *restrict out, const float *restrict x)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = sqrtf(x[i]);
    }
}

PASS void divide(size_t n, float *restrict x, float a)
{
    for (size_t i = 0; i < n; i++) {
        x[i] /= a;
    }
}

PASS void add(size_t n, float *restrict x, float a)
{
    for (size_t i = 0; i < n; i++) {
        x[i] += a;
    }
}

PASS void addcdiv(size_t n, float *restrict y, float a, const float *restrict num, const float *restrict den)
{
    for (size_t i = 0; i < n; i++) {
        y[i] += a * num[i] / den[i];
    }
}

void bench_unfused_step(bench_algo a, const fopt_options *o, double lr, int64_t k, size_t n, float *p,
                        const float *g, float *const *state, float *tmp)
{
    if (a == BENCH_SGD || a == BENCH_SGD_MOMENTUM) {
        const float *dir = g;
        if (a == BENCH_SGD_MOMENTUM) {
            float *buf = state[0];
            if (k == 1) {
                memcpy(buf, g, n * sizeof *buf);
            } else {
                scale(n, buf, (float)o->momentum);
                axpy(n, buf, (float)(1.0 - o->dampening), g);
            }
            dir = buf;
        }
        axpy(n, p, (float)-lr, dir);
        return;
    }
    /* Adam / AdamW as torch.optim's single-tensor loop spells it. */
    const double bias1 = 1.0 - pow(o->beta1, (double)k);
    const double bias2_sqrt = sqrt(1.0 - pow(o->beta2, (double)k));
    float *m = state[0], *v = state[1];
    if (o->algorithm == FOPT_ADAMW) {
        scale(n, p, (float)(1.0 - lr * o->weight_decay));
    }
    scale(n, m, (float)o->beta1);
    axpy(n, m, (float)(1.0 - o->beta1), g);
    scale(n, v, (float)o->beta2);
    addcmul(n, v, (float)(1.0 - o->beta2), g);
    const float *second = v;
    if (o->amsgrad) {
        maximum(n, state[2], v);
        second = state[2];
    }
    sqrt_to(n, tmp, second);
    divide(n, tmp, (float)bias2_sqrt);
    add(n, tmp, (float)o->eps);
    addcdiv(n, p, (float)(-lr / bias1), m, tmp);
}
