/*
 * Fused multi-tensor Adagrad step (torch.optim.Adagrad, single-tensor
 * semantics, dense gradients), with maximize.
 *
 * Computes, for every element of every tensor, at optimizer step k (weight_decay
 * and the base lr of the schedule are the tensor's: options.tensor_weight_decay
 * or weight_decay, options.tensor_base_lr or schedule.base_lr):
 *   g = (maximize ? -grad : grad) * inv_scale * clip
 *   g += weight_decay * p                                  (if weight_decay != 0)
 *   sum += g * g
 *   p -= clr * g / (sqrt(sum) + eps),  clr = lr / (1 + (k - 1) * lr_decay)
 * with k = counters->step + 1 and lr = schedule(counters->epoch), both read
 * from the device-resident counters. Thread 0 of each block evaluates the
 * schedule and the lr_decay divisor once in double and shares them through
 * shared memory; block 0 records lr in counters->last_lr. The element math
 * is fp32. state_sum starts at initial_accumulator_value (init_state.cu).
 * With gradient scaling or clipping (scaler != NULL, grad_scaler.h) thread 0
 * also reads inv_scale, the clip coefficient and the skip flag the pre-pass
 * set; a skipped step returns before touching any element or last_lr.
 *
 * Parameters and gradients may be bf16 or fp16 (multi_tensor.cuh), as for
 * the other update kernels.
 *
 * Launch: `grid` blocks (a few per SM, at most one per chunk) of
 * FOPT_BLOCK_THREADS threads, grid-stride over the chunk table.
 * Memory traffic per element: read grad, read+write param and sum (20
 * bytes); bf16 params + master + bf16 grads: 2 + 8 + 2 + 8 = 20 bytes. Where
 * param and grad are aligned to four elements, four elements per vector
 * access (128-bit for fp32 arrays, 64-bit for 16-bit ones).
 */
#include "step_common.cuh"

/* The per-step scalars and the element update (one state array: the sum). */
struct fopt_adagrad_update {
    float clr;           /* lr / (1 + (k - 1) * lr_decay) (set by for_tensor) */
    float weight_decay;  /* set by for_tensor */
    float eps;
    int maximize;
    float inv_scale;     /* GradScaler's unscale factor, then the clip coefficient; */
    float clip;          /* both 1 without scaling or clipping */
    fopt_lr_terms terms; /* the schedule at this step's epoch */
    double lr_divisor;   /* 1 + (k - 1) * lr_decay */

    /* This update for a tensor with this base lr and weight decay. */
    __device__ __forceinline__ fopt_adagrad_update for_tensor(double base_lr, double wd) const
    {
        fopt_adagrad_update u = *this;
        u.clr = (float)(fopt_lr_at(terms, base_lr) / lr_divisor);
        u.weight_decay = (float)wd;
        return u;
    }

    __device__ __forceinline__ void operator()(float &p, float grad, float (&s)[FOPT_MAX_STATE]) const
    {
        const float g = fopt_update_grad(grad, maximize, inv_scale, clip, weight_decay, p);
        const float sum = s[0] + g * g;
        s[0] = sum;
        p = p - clr * (g / (sqrtf(sum) + eps));
    }
};

/* The hyperparameters that do not depend on the counters. */
struct fopt_adagrad_args {
    double lr_decay;
    float eps;
    int maximize;
    int stochastic_rounding;
    uint64_t seed;
};

template <class P, class G>
__global__ void fopt_adagrad_kernel(fopt_chunk_table table, fopt_device_counters *counters,
                                    const fopt_grad_scaler *scaler, fopt_schedule schedule, fopt_adagrad_args args)
{
    __shared__ fopt_step_shared<fopt_adagrad_update> shared;
    const bool skip = fopt_step_prologue(shared, counters, scaler, schedule, args.stochastic_rounding, args.seed,
                                         [&](fopt_lr_terms terms, float inv_scale, float clip) {
        fopt_adagrad_update u;
        u.clr = 0.0f;
        u.weight_decay = 0.0f;
        u.eps = args.eps;
        u.maximize = args.maximize;
        u.inv_scale = inv_scale;
        u.clip = clip;
        u.terms = terms;
        u.lr_divisor = 1.0 + (double)counters->step * args.lr_decay;
        return u;
    });
    if (skip) {
        return;
    }
    const fopt_adagrad_update update = shared.update;
    const fopt_param_rounding rounding = shared.rounding;
    fopt_for_each_element<1, P, G>(table, update, rounding);
}

extern "C" cudaError_t fopt_launch_adagrad(const fopt_options *options, fopt_chunk_table table,
                                           fopt_device_counters *counters, const fopt_grad_scaler *scaler,
                                           unsigned grid, cudaStream_t stream)
{
    const fopt_schedule schedule = options->schedule;
    fopt_adagrad_args args;
    args.lr_decay = options->lr_decay;
    args.eps = (float)options->eps;
    args.maximize = options->maximize != 0;
    args.stochastic_rounding = options->stochastic_rounding != 0;
    args.seed = options->stochastic_rounding_seed;
    return fopt_launch_step(options, grid, stream, [&](auto param_type, auto grad_type) {
        typedef typename decltype(param_type)::type P;
        typedef typename decltype(grad_type)::type G;
        return fopt_adagrad_kernel<P, G>;
    }, table, counters, scaler, schedule, args);
}
