/*
 * The C interface between the CUDA backend (src/cuda_backend.c) and the
 * kernels: the device-resident metadata and counter layouts, and one
 * launcher per kernel. Every launcher enqueues its kernel on `stream`,
 * checks cudaGetLastError() and returns it; none synchronizes.
 */
#ifndef FOPT_LAUNCHERS_H
#define FOPT_LAUNCHERS_H

#include <stdint.h>

#include <cuda_runtime_api.h>

#include "fusedopt.h"
#include "grad_scaler.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Elements per chunk: the unit of work a block takes. A multiple of 4, so a
 * chunk of a 16-byte aligned tensor starts 16-byte aligned. */
#define FOPT_CHUNK_ELEMS 4096
/* Threads per block of the update kernels. */
#define FOPT_BLOCK_THREADS 256
/* Most state arrays an algorithm keeps (Adam with amsgrad). */
#define FOPT_MAX_STATE 3

/* One parameter tensor as the kernels see it. param and grad are of the
 * options' param_dtype and grad_dtype. state[k] points at this tensor's
 * slice of algorithm state array k (unused entries are NULL), master at its
 * slice of the fp32 master weights (NULL for fp32 parameters); the backend
 * starts every slice on a 16-byte boundary. vec_ok is 1 when param and grad
 * are aligned to four of their elements too (16 bytes for fp32, 8 for
 * 16-bit types), so four elements move with one vector access. */
typedef struct fopt_kernel_tensor {
    void *param;
    const void *grad;
    float *state[FOPT_MAX_STATE];
    float *master;
    int64_t numel;
    int64_t offset; /* index of element 0 in the concatenation of all tensors */
    double weight_decay; /* this tensor's (options.tensor_weight_decay or weight_decay) */
    double base_lr;      /* this tensor's (options.tensor_base_lr or schedule.base_lr) */
    int32_t vec_ok;
    int32_t reserved;
} fopt_kernel_tensor;

/* Elements [start, start + length) of tensor `tensor`; start is a multiple
 * of FOPT_CHUNK_ELEMS and 0 < length <= FOPT_CHUNK_ELEMS. */
typedef struct fopt_kernel_chunk {
    int64_t start;
    int32_t tensor;
    int32_t length;
} fopt_kernel_chunk;

/* Device pointers to the tables uploaded once at create. */
typedef struct fopt_chunk_table {
    const fopt_kernel_tensor *tensors;
    const fopt_kernel_chunk *chunks;
    int64_t num_chunks;
} fopt_chunk_table;

/* The device-resident counters: step k of the most recent optimizer step
 * (0 before any), the epoch counter, and the lr the most recent step used. */
typedef struct fopt_device_counters {
    int64_t step;
    int64_t epoch;
    double last_lr;
} fopt_device_counters;

/* The update of optimizer step k = counters->step + 1 over every chunk, with
 * lr = schedule(counters->epoch); block 0 records that lr in last_lr.
 * `grid` blocks of FOPT_BLOCK_THREADS walk the chunks grid-stride (any
 * grid >= 1 is correct). options->algorithm selects the launcher.
 * scaler (NULL: no scaling or clipping): the gradients are multiplied by
 * scaler->inv_scale, then by scaler->clip, and the kernel changes nothing
 * when scaler->skip. */
cudaError_t fopt_launch_sgd(const fopt_options *options, fopt_chunk_table table,
                            fopt_device_counters *counters, const fopt_grad_scaler *scaler, unsigned grid,
                            cudaStream_t stream);
cudaError_t fopt_launch_adam(const fopt_options *options, fopt_chunk_table table,
                             fopt_device_counters *counters, const fopt_grad_scaler *scaler, unsigned grid,
                             cudaStream_t stream);
cudaError_t fopt_launch_adagrad(const fopt_options *options, fopt_chunk_table table,
                                fopt_device_counters *counters, const fopt_grad_scaler *scaler, unsigned grid,
                                cudaStream_t stream);
cudaError_t fopt_launch_rmsprop(const fopt_options *options, fopt_chunk_table table,
                                fopt_device_counters *counters, const fopt_grad_scaler *scaler, unsigned grid,
                                cudaStream_t stream);

/* state[0] = value for every element of every tensor (init_state.cu). */
cudaError_t fopt_launch_init_state(fopt_chunk_table table, float value, unsigned grid, cudaStream_t stream);

/* The gradient pre-pass (grad_stats.cu): `grid` per-block sums of squares
 * of the gradients (of grad_dtype) unscaled by scaler->inv_scale into
 * partials[0 .. grid), then skip and clip of `scaler`. */
cudaError_t fopt_launch_grad_stats(fopt_chunk_table table, fopt_dtype grad_dtype, double *partials, unsigned grid,
                                   fopt_grad_scaler *scaler, fopt_scaler_args args, cudaStream_t stream);

/* master = the parameters (of param_dtype, 16-bit) converted to fp32, for
 * every tensor (master.cu); `grid` blocks grid-stride over the chunks. */
cudaError_t fopt_launch_init_master(fopt_chunk_table table, fopt_dtype param_dtype, unsigned grid,
                                    cudaStream_t stream);

/* With a scaler: the scale update (fopt_scaler_update); a skipped step stops
 * here. Then step += 1 and, if steps_per_epoch > 0 divides step, epoch += 1. */
cudaError_t fopt_launch_advance_counters(fopt_device_counters *counters, fopt_grad_scaler *scaler,
                                         fopt_scaler_args args, int64_t steps_per_epoch, cudaStream_t stream);
/* epoch += delta. */
cudaError_t fopt_launch_add_epochs(fopt_device_counters *counters, int64_t delta, cudaStream_t stream);
/* epoch = value. */
cudaError_t fopt_launch_set_epoch(fopt_device_counters *counters, int64_t value, cudaStream_t stream);
/* step = 0, epoch = 0, last_lr = lr (the schedule's value at epoch 0). */
cudaError_t fopt_launch_reset_counters(fopt_device_counters *counters, double lr, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* FOPT_LAUNCHERS_H */
