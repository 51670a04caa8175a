/*
 * Fused multi-tensor Adam / AdamW step (torch.optim.Adam / AdamW,
 * single-tensor semantics), with amsgrad and maximize.
 *
 * Computes, for every element of every tensor, at optimizer step k (weight_decay
 * and the base lr of the schedule are the tensor's: options.tensor_weight_decay
 * or weight_decay, options.tensor_base_lr or schedule.base_lr):
 *   g = (maximize ? -grad : grad) * inv_scale * clip
 *   Adam:  g += weight_decay * p          AdamW: p *= 1 - lr * weight_decay
 *   m = lerp(m, g, 1 - beta1)             (= beta1 * m + (1 - beta1) * g)
 *   v = beta2 * v + (1 - beta2) * g * g
 *   amsgrad: vmax = max(vmax, v), u = vmax; else u = v
 *   p -= lr / (1 - beta1^k) * m / (sqrt(u) / sqrt(1 - beta2^k) + eps)
 * with k = counters->step + 1 and lr = schedule(counters->epoch), both read
 * from the device-resident counters. Thread 0 of each block evaluates the
 * schedule and the bias corrections once in double and shares the fp32
 * scalars through shared memory; block 0 records lr in counters->last_lr.
 * The element math is fp32.
 * With gradient scaling or clipping (scaler != NULL, grad_scaler.h) thread 0
 * also reads inv_scale, the clip coefficient and the skip flag the pre-pass
 * set; a skipped step returns before touching any element or last_lr.
 * Without, inv_scale and clip are 1 (exact multiplies).
 *
 * Launch: `grid` blocks (a few per SM, at most one per chunk) of
 * FOPT_BLOCK_THREADS threads, grid-stride over the chunk table.
 * Parameters and gradients may be bf16 or fp16 (multi_tensor.cuh): 16-bit
 * gradients are widened; 16-bit parameters are updated as their fp32 master
 * weight, then written rounded to nearest-even; with stochastic rounding
 * (bf16) the parameter itself is read, updated and written rounded
 * stochastically (thread 0 also hashes the seed with k).
 *
 * Memory traffic per element: read grad, read+write param, m, v (28 bytes);
 * amsgrad also read+write vmax (36 bytes). bf16 params + fp32 master, m, v +
 * bf16 grads: read grad (2), write param (2), read+write master, m, v (24):
 * 28 bytes. Where param and grad are aligned to four elements, four elements
 * per vector access (128-bit for fp32 arrays, 64-bit for 16-bit ones).
 */
#include "step_common.cuh"

/* max(a, b) that is NaN when either is, as torch.maximum (fmaxf drops a NaN). */
__device__ __forceinline__ float fopt_max_keeping_nan(float a, float b)
{
    return (a > b || a != a) ? a : b;
}

/* The per-step scalars and the element update; NSTATE = 3 with amsgrad. */
template <int NSTATE>
struct fopt_adam_update {
    float weight_decay;  /* Adam's L2 term; 0 for AdamW (set by for_tensor) */
    float param_decay;   /* AdamW's 1 - lr * weight_decay; 1 for Adam (set by for_tensor) */
    fopt_lr_terms terms; /* the schedule at this step's epoch */
    double bias_correction1; /* 1 - beta1^k */
    int decoupled;       /* AdamW */
    float one_minus_beta1;
    float beta2;
    float one_minus_beta2;
    float eps;
    float step_size;     /* lr / (1 - beta1^k) (set by for_tensor) */
    float bias_correction2_sqrt;
    int maximize;
    float inv_scale;     /* GradScaler's unscale factor, then the clip coefficient; */
    float clip;          /* both 1 without scaling or clipping */

    /* This update for a tensor with this base lr and weight decay. */
    __device__ __forceinline__ fopt_adam_update for_tensor(double base_lr, double wd) const
    {
        fopt_adam_update u = *this;
        const double lr = fopt_lr_at(terms, base_lr);
        u.step_size = (float)(lr / bias_correction1);
        u.weight_decay = decoupled ? 0.0f : (float)wd;
        u.param_decay = decoupled ? (float)(1.0 - lr * wd) : 1.0f;
        return u;
    }

    __device__ __forceinline__ void operator()(float &p, float grad, float (&s)[FOPT_MAX_STATE]) const
    {
        p = p * param_decay; /* AdamW; 1 for Adam, whose L2 term then uses p as it was */
        const float g = fopt_update_grad(grad, maximize, inv_scale, clip, weight_decay, p);
        /* torch.lerp's two-sided formula. */
        const float w = one_minus_beta1;
        const float m = w < 0.5f ? s[0] + w * (g - s[0]) : g - (g - s[0]) * (1.0f - w);
        const float v = beta2 * s[1] + one_minus_beta2 * g * g;
        s[0] = m;
        s[1] = v;
        float second = v;
        if (NSTATE == 3) {
            s[2] = fopt_max_keeping_nan(s[2], v);
            second = s[2];
        }
        const float denom = sqrtf(second) / bias_correction2_sqrt + eps;
        p = p - step_size * (m / denom);
    }
};

/* The hyperparameters that do not depend on the counters. */
struct fopt_adam_args {
    double beta1;
    double beta2;
    float eps;
    int decoupled;
    int maximize;
    int stochastic_rounding;
    uint64_t seed;
};

template <int NSTATE, class P, class G>
__global__ void fopt_adam_kernel(fopt_chunk_table table, fopt_device_counters *counters,
                                 const fopt_grad_scaler *scaler, fopt_schedule schedule, fopt_adam_args args)
{
    __shared__ fopt_step_shared<fopt_adam_update<NSTATE> > shared;
    const bool skip = fopt_step_prologue(shared, counters, scaler, schedule, args.stochastic_rounding, args.seed,
                                         [&](fopt_lr_terms terms, float inv_scale, float clip) {
        const double k = (double)(counters->step + 1);
        fopt_adam_update<NSTATE> u;
        u.weight_decay = 0.0f;
        u.param_decay = 1.0f;
        u.terms = terms;
        u.bias_correction1 = 1.0 - pow(args.beta1, k);
        u.decoupled = args.decoupled;
        u.one_minus_beta1 = (float)(1.0 - args.beta1);
        u.beta2 = (float)args.beta2;
        u.one_minus_beta2 = (float)(1.0 - args.beta2);
        u.eps = args.eps;
        u.step_size = 0.0f;
        u.bias_correction2_sqrt = (float)sqrt(1.0 - pow(args.beta2, k));
        u.maximize = args.maximize;
        u.inv_scale = inv_scale;
        u.clip = clip;
        return u;
    });
    if (skip) {
        return;
    }
    const fopt_adam_update<NSTATE> update = shared.update;
    const fopt_param_rounding rounding = shared.rounding;
    fopt_for_each_element<NSTATE, P, G>(table, update, rounding);
}

extern "C" cudaError_t fopt_launch_adam(const fopt_options *options, fopt_chunk_table table,
                                        fopt_device_counters *counters, const fopt_grad_scaler *scaler,
                                        unsigned grid, cudaStream_t stream)
{
    const fopt_schedule schedule = options->schedule;
    fopt_adam_args args;
    args.beta1 = options->beta1;
    args.beta2 = options->beta2;
    args.eps = (float)options->eps;
    args.decoupled = options->algorithm == FOPT_ADAMW;
    args.maximize = options->maximize != 0;
    args.stochastic_rounding = options->stochastic_rounding != 0;
    args.seed = options->stochastic_rounding_seed;
    const bool amsgrad = options->amsgrad != 0;
    return fopt_launch_step(options, grid, stream, [&](auto param_type, auto grad_type) {
        typedef typename decltype(param_type)::type P;
        typedef typename decltype(grad_type)::type G;
        return amsgrad ? fopt_adam_kernel<3, P, G> : fopt_adam_kernel<2, P, G>;
    }, table, counters, scaler, schedule, args);
}
