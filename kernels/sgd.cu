/*
 * Fused multi-tensor SGD step (torch.optim.SGD, single-tensor semantics).
 *
 * Computes, for every element of every tensor, at optimizer step k (weight_decay
 * and the base lr of the schedule are the tensor's: options.tensor_weight_decay
 * or weight_decay, options.tensor_base_lr or schedule.base_lr):
 *   g = (maximize ? -grad : grad) * inv_scale * clip
 *   g += weight_decay * p                                  (if weight_decay != 0)
 *   buf = (k == 1) ? g : momentum * buf + (1 - dampening) * g   (if momentum != 0)
 *   g = nesterov ? g + momentum * buf : buf                     (if momentum != 0)
 *   p -= lr * g
 * with k = counters->step + 1 and lr = schedule(counters->epoch), both read
 * from the device-resident counters. Thread 0 of each block evaluates the
 * schedule once in double and shares the fp32 scalars through shared memory;
 * block 0 records lr in counters->last_lr. The element math is fp32.
 * With gradient scaling or clipping (scaler != NULL, grad_scaler.h) thread 0
 * also reads inv_scale, the clip coefficient and the skip flag the pre-pass
 * set; a skipped step returns before touching any element or last_lr.
 * Without, inv_scale and clip are 1 (exact multiplies).
 *
 * Parameters and gradients may be bf16 or fp16 (multi_tensor.cuh): 16-bit
 * gradients are widened; 16-bit parameters are updated as their fp32 master
 * weight, then written rounded to nearest-even; with stochastic rounding
 * (bf16) the parameter itself is read, updated and written rounded
 * stochastically (thread 0 also hashes the seed with k).
 *
 * Launch: `grid` blocks (a few per SM, at most one per chunk) of
 * FOPT_BLOCK_THREADS threads, grid-stride over the chunk table.
 * Memory traffic per element: read grad, read+write param (12 bytes); with
 * momentum also read+write buf (20 bytes). bf16 params + master + bf16
 * grads: 2 + 8 + 2 = 12 bytes (+8 with momentum). Where param and grad are
 * aligned to four elements, four elements per vector access (128-bit for
 * fp32 arrays, 64-bit for 16-bit ones).
 */
#include "step_common.cuh"

/* The per-step scalars and the element update; NSTATE = 1 with momentum. */
template <int NSTATE>
struct fopt_sgd_update {
    float lr;            /* set by for_tensor */
    float weight_decay;  /* set by for_tensor */
    fopt_lr_terms terms; /* the schedule at this step's epoch */
    float momentum;
    float one_minus_dampening;
    int first_step;
    int nesterov;
    int maximize;
    float inv_scale;     /* GradScaler's unscale factor, then the clip coefficient; */
    float clip;          /* both 1 without scaling or clipping */

    /* This update for a tensor with this base lr and weight decay. */
    __device__ __forceinline__ fopt_sgd_update for_tensor(double base_lr, double wd) const
    {
        fopt_sgd_update u = *this;
        u.lr = (float)fopt_lr_at(terms, base_lr);
        u.weight_decay = (float)wd;
        return u;
    }

    __device__ __forceinline__ void operator()(float &p, float grad, float (&s)[FOPT_MAX_STATE]) const
    {
        float g = fopt_update_grad(grad, maximize, inv_scale, clip, weight_decay, p);
        if (NSTATE == 1) {
            const float buf = first_step ? g : momentum * s[0] + one_minus_dampening * g;
            s[0] = buf;
            g = nesterov ? g + momentum * buf : buf;
        }
        p = p - lr * g;
    }
};

/* The hyperparameters that do not depend on the counters. */
struct fopt_sgd_args {
    float momentum;
    float one_minus_dampening;
    int nesterov;
    int maximize;
    int stochastic_rounding;
    uint64_t seed;
};

template <int NSTATE, class P, class G>
__global__ void fopt_sgd_kernel(fopt_chunk_table table, fopt_device_counters *counters,
                                const fopt_grad_scaler *scaler, fopt_schedule schedule, fopt_sgd_args args)
{
    __shared__ fopt_step_shared<fopt_sgd_update<NSTATE> > shared;
    const bool skip = fopt_step_prologue(shared, counters, scaler, schedule, args.stochastic_rounding, args.seed,
                                         [&](fopt_lr_terms terms, float inv_scale, float clip) {
        fopt_sgd_update<NSTATE> u;
        u.lr = 0.0f;
        u.weight_decay = 0.0f;
        u.terms = terms;
        u.momentum = args.momentum;
        u.one_minus_dampening = args.one_minus_dampening;
        u.first_step = counters->step == 0;
        u.nesterov = args.nesterov;
        u.maximize = args.maximize;
        u.inv_scale = inv_scale;
        u.clip = clip;
        return u;
    });
    if (skip) {
        return;
    }
    const fopt_sgd_update<NSTATE> update = shared.update;
    const fopt_param_rounding rounding = shared.rounding;
    fopt_for_each_element<NSTATE, P, G>(table, update, rounding);
}

extern "C" cudaError_t fopt_launch_sgd(const fopt_options *options, fopt_chunk_table table,
                                       fopt_device_counters *counters, const fopt_grad_scaler *scaler,
                                       unsigned grid, cudaStream_t stream)
{
    const fopt_schedule schedule = options->schedule;
    fopt_sgd_args args;
    args.momentum = (float)options->momentum;
    args.one_minus_dampening = (float)(1.0 - options->dampening);
    args.nesterov = options->nesterov != 0;
    args.maximize = options->maximize != 0;
    args.stochastic_rounding = options->stochastic_rounding != 0;
    args.seed = options->stochastic_rounding_seed;
    const bool momentum = options->momentum != 0.0;
    return fopt_launch_step(options, grid, stream, [&](auto param_type, auto grad_type) {
        typedef typename decltype(param_type)::type P;
        typedef typename decltype(grad_type)::type G;
        return momentum ? fopt_sgd_kernel<1, P, G> : fopt_sgd_kernel<0, P, G>;
    }, table, counters, scaler, schedule, args);
}
