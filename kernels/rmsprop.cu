/*
 * Fused multi-tensor RMSprop step (torch.optim.RMSprop, single-tensor
 * semantics), with momentum, centered and maximize.
 *
 * Computes, for every element of every tensor, at optimizer step k (weight_decay
 * and the base lr of the schedule are the tensor's: options.tensor_weight_decay
 * or weight_decay, options.tensor_base_lr or schedule.base_lr):
 *   g = (maximize ? -grad : grad) * inv_scale * clip
 *   g += weight_decay * p                                  (if weight_decay != 0)
 *   square_avg = alpha * square_avg + (1 - alpha) * g * g
 *   centered: grad_avg = alpha * grad_avg + (1 - alpha) * g,
 *             denom = sqrt(square_avg - grad_avg^2) + eps
 *   else:     denom = sqrt(square_avg) + eps
 *   momentum: buf = momentum * buf + g / denom, p -= lr * buf
 *   else:     p -= lr * g / denom
 * with lr = schedule(counters->epoch) from the device-resident counter,
 * evaluated once per block by thread 0 in double; block 0 records it in
 * counters->last_lr. The element math is fp32. State arrays: square_avg,
 * then the momentum buffer (momentum > 0), then grad_avg (centered).
 * With gradient scaling or clipping (scaler != NULL, grad_scaler.h) thread 0
 * also reads inv_scale, the clip coefficient and the skip flag the pre-pass
 * set; a skipped step returns before touching any element or last_lr.
 *
 * Parameters and gradients may be bf16 or fp16 (multi_tensor.cuh), as for
 * the other update kernels.
 *
 * Launch: `grid` blocks (a few per SM, at most one per chunk) of
 * FOPT_BLOCK_THREADS threads, grid-stride over the chunk table.
 * Memory traffic per element: read grad, read+write param and square_avg
 * (20 bytes), +8 for each of the momentum buffer and grad_avg. Where param
 * and grad are aligned to four elements, four elements per vector access
 * (128-bit for fp32 arrays, 64-bit for 16-bit ones).
 */
#include "step_common.cuh"

/* The per-step scalars and the element update; NSTATE = 1 + MOMENTUM + CENTERED. */
template <bool MOMENTUM, bool CENTERED>
struct fopt_rmsprop_update {
    float lr;            /* set by for_tensor */
    float weight_decay;  /* set by for_tensor */
    float alpha;
    float one_minus_alpha;
    float momentum;
    float eps;
    int maximize;
    float inv_scale;     /* GradScaler's unscale factor, then the clip coefficient; */
    float clip;          /* both 1 without scaling or clipping */
    fopt_lr_terms terms; /* the schedule at this step's epoch */

    /* This update for a tensor with this base lr and weight decay. */
    __device__ __forceinline__ fopt_rmsprop_update for_tensor(double base_lr, double wd) const
    {
        fopt_rmsprop_update u = *this;
        u.lr = (float)fopt_lr_at(terms, base_lr);
        u.weight_decay = (float)wd;
        return u;
    }

    __device__ __forceinline__ void operator()(float &p, float grad, float (&s)[FOPT_MAX_STATE]) const
    {
        const float g = fopt_update_grad(grad, maximize, inv_scale, clip, weight_decay, p);
        const float square_avg = alpha * s[0] + one_minus_alpha * g * g;
        s[0] = square_avg;
        float denom;
        if (CENTERED) {
            const int k = MOMENTUM ? 2 : 1;
            const float grad_avg = alpha * s[k] + one_minus_alpha * g;
            s[k] = grad_avg;
            denom = sqrtf(square_avg - grad_avg * grad_avg) + eps;
        } else {
            denom = sqrtf(square_avg) + eps;
        }
        if (MOMENTUM) {
            const float buf = momentum * s[1] + g / denom;
            s[1] = buf;
            p = p - lr * buf;
        } else {
            p = p - lr * (g / denom);
        }
    }
};

/* The hyperparameters that do not depend on the counters. */
struct fopt_rmsprop_args {
    float alpha;
    float one_minus_alpha;
    float momentum;
    float eps;
    int maximize;
    int stochastic_rounding;
    uint64_t seed;
};

template <bool MOMENTUM, bool CENTERED, class P, class G>
__global__ void fopt_rmsprop_kernel(fopt_chunk_table table, fopt_device_counters *counters,
                                    const fopt_grad_scaler *scaler, fopt_schedule schedule, fopt_rmsprop_args args)
{
    typedef fopt_rmsprop_update<MOMENTUM, CENTERED> Update;
    __shared__ fopt_step_shared<Update> shared;
    const bool skip = fopt_step_prologue(shared, counters, scaler, schedule, args.stochastic_rounding, args.seed,
                                         [&](fopt_lr_terms terms, float inv_scale, float clip) {
        Update u;
        u.lr = 0.0f;
        u.weight_decay = 0.0f;
        u.alpha = args.alpha;
        u.one_minus_alpha = args.one_minus_alpha;
        u.momentum = args.momentum;
        u.eps = args.eps;
        u.maximize = args.maximize;
        u.inv_scale = inv_scale;
        u.clip = clip;
        u.terms = terms;
        return u;
    });
    if (skip) {
        return;
    }
    const Update update = shared.update;
    const fopt_param_rounding rounding = shared.rounding;
    fopt_for_each_element<1 + MOMENTUM + CENTERED, P, G>(table, update, rounding);
}

extern "C" cudaError_t fopt_launch_rmsprop(const fopt_options *options, fopt_chunk_table table,
                                           fopt_device_counters *counters, const fopt_grad_scaler *scaler,
                                           unsigned grid, cudaStream_t stream)
{
    const fopt_schedule schedule = options->schedule;
    fopt_rmsprop_args args;
    args.alpha = (float)options->alpha;
    args.one_minus_alpha = (float)(1.0 - options->alpha);
    args.momentum = (float)options->momentum;
    args.eps = (float)options->eps;
    args.maximize = options->maximize != 0;
    args.stochastic_rounding = options->stochastic_rounding != 0;
    args.seed = options->stochastic_rounding_seed;
    const bool momentum = options->momentum != 0.0;
    const bool centered = options->centered != 0;
    return fopt_launch_step(options, grid, stream, [&](auto param_type, auto grad_type) {
        typedef typename decltype(param_type)::type P;
        typedef typename decltype(grad_type)::type G;
        return momentum ? (centered ? fopt_rmsprop_kernel<true, true, P, G> : fopt_rmsprop_kernel<true, false, P, G>)
                        : (centered ? fopt_rmsprop_kernel<false, true, P, G> : fopt_rmsprop_kernel<false, false, P, G>);
    }, table, counters, scaler, schedule, args);
}
