/*
 * What the update kernels (sgd.cu, adam.cu) share: the per-block prologue
 * that reads the counters and the grad scaler once per step, and the
 * launcher's dispatch over the parameter and gradient dtypes.
 */
#ifndef FOPT_STEP_COMMON_CUH
#define FOPT_STEP_COMMON_CUH

#include "launch.cuh"
#include "multi_tensor.cuh"
#include "schedule_eval.h"

/* The gradient an update uses: negated with maximize, unscaled and clipped
 * (two fp32 multiplies, grad_scaler.h), plus the L2 term weight_decay * p
 * when weight_decay is nonzero (PyTorch adds nothing for 0). */
__device__ __forceinline__ float fopt_update_grad(float grad, int maximize, float inv_scale, float clip,
                                                  float weight_decay, float p)
{
    const float g = (maximize ? -grad : grad) * inv_scale * clip;
    return weight_decay != 0.0f ? g + weight_decay * p : g;
}

/* A block's per-step values, in shared memory. */
template <class Update>
struct fopt_step_shared {
    Update update;
    fopt_param_rounding rounding;
    int skip;
};

/*
 * The prologue of an update kernel; every thread of the block calls it.
 * Thread 0 reads the scaler's skip flag, evaluates the schedule's terms at
 * counters->epoch (the lr of a base lr: fopt_lr_at), builds the block's
 * update with make_update(terms, inv_scale, clip) (from the scaler, 1 and 1
 * without one) and the rounding of 16-bit parameters for step
 * k = counters->step + 1; block 0 records the lr of schedule.base_lr in
 * counters->last_lr unless the step is skipped. Returns, after the block's barrier, whether the step
 * is skipped: the kernel then returns before touching any element.
 */
template <class Update, class MakeUpdate>
__device__ __forceinline__ bool fopt_step_prologue(fopt_step_shared<Update> &shared, fopt_device_counters *counters,
                                                   const fopt_grad_scaler *scaler, const fopt_schedule &schedule,
                                                   int stochastic_rounding, uint64_t seed,
                                                   const MakeUpdate &make_update)
{
    if (threadIdx.x == 0) {
        shared.skip = scaler && scaler->skip;
        const fopt_lr_terms terms = fopt_schedule_terms(&schedule, counters->epoch);
        shared.update = scaler ? make_update(terms, scaler->inv_scale, scaler->clip) : make_update(terms, 1.0f, 1.0f);
        shared.rounding.stochastic = stochastic_rounding;
        shared.rounding.base = fopt_sr_base(seed, counters->step + 1);
        if (blockIdx.x == 0 && !shared.skip) {
            counters->last_lr = fopt_lr_at(terms, schedule.base_lr);
        }
    }
    __syncthreads();
    return shared.skip != 0;
}

/*
 * Launches the kernel that pick(fopt_type<P>(), fopt_type<G>()) returns, with
 * P and G the storage types of options->param_dtype and options->grad_dtype:
 * `grid` blocks of FOPT_BLOCK_THREADS threads on `stream`, with kernel_args.
 * Returns the launch's cudaGetLastError().
 */
template <class Pick, class... Args>
cudaError_t fopt_launch_step(const fopt_options *options, unsigned grid, cudaStream_t stream, const Pick &pick,
                             Args... kernel_args)
{
    const fopt_dtype grad_dtype = options->grad_dtype;
    return fopt_with_dtype(options->param_dtype, [&](auto param_type) {
        return fopt_with_dtype(grad_dtype, [&](auto grad_type) {
            const auto kernel = pick(param_type, grad_type);
            KLAUNCH(kernel, grid, FOPT_BLOCK_THREADS, 0, stream, kernel_args...);
            return cudaGetLastError();
        });
    });
}

#endif /* FOPT_STEP_COMMON_CUH */
