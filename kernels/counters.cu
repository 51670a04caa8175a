/*
 * The device-resident counters (fopt_device_counters: int64 step, int64
 * epoch, double last_lr) and the tiny kernels that change them in stream
 * order, so the host never reads them during training:
 *   advance: with gradient scaling or clipping, first the scale update
 *            (fopt_scaler_update); a skipped step ends there. Then
 *            step += 1; if steps_per_epoch > 0 and step % steps_per_epoch == 0: epoch += 1
 *   add_epochs: epoch += delta        (scheduler step)
 *   (both counters stop at FOPT_MAX_COUNTER, fopt_counter_add)
 *   set_epoch: epoch = value          (resume; the value is a kernel argument,
 *                                      no host-to-device copy)
 *   reset: step = 0, epoch = 0, last_lr = lr(0)
 * Launch: one block of one thread each. Memory traffic: one counter struct.
 */
#include "launch.cuh"
#include "launchers.h"

__global__ void fopt_advance_counters_kernel(fopt_device_counters *counters, fopt_grad_scaler *scaler,
                                             fopt_scaler_args args, int64_t steps_per_epoch)
{
    if (scaler) {
        const int skipped = scaler->skip;
        fopt_scaler_update(scaler, &args);
        if (skipped) {
            return;
        }
    }
    const int64_t step = fopt_counter_add(counters->step, 1);
    counters->step = step;
    if (steps_per_epoch > 0 && step % steps_per_epoch == 0) {
        counters->epoch = fopt_counter_add(counters->epoch, 1);
    }
}

__global__ void fopt_add_epochs_kernel(fopt_device_counters *counters, int64_t delta)
{
    counters->epoch = fopt_counter_add(counters->epoch, delta);
}

__global__ void fopt_set_epoch_kernel(fopt_device_counters *counters, int64_t value)
{
    counters->epoch = value;
}

__global__ void fopt_reset_counters_kernel(fopt_device_counters *counters, double lr)
{
    counters->step = 0;
    counters->epoch = 0;
    counters->last_lr = lr;
}

extern "C" cudaError_t fopt_launch_advance_counters(fopt_device_counters *counters, fopt_grad_scaler *scaler,
                                                    fopt_scaler_args args, int64_t steps_per_epoch,
                                                    cudaStream_t stream)
{
    KLAUNCH(fopt_advance_counters_kernel, 1, 1, 0, stream, counters, scaler, args, steps_per_epoch);
    return cudaGetLastError();
}

extern "C" cudaError_t fopt_launch_add_epochs(fopt_device_counters *counters, int64_t delta, cudaStream_t stream)
{
    KLAUNCH(fopt_add_epochs_kernel, 1, 1, 0, stream, counters, delta);
    return cudaGetLastError();
}

extern "C" cudaError_t fopt_launch_set_epoch(fopt_device_counters *counters, int64_t value, cudaStream_t stream)
{
    KLAUNCH(fopt_set_epoch_kernel, 1, 1, 0, stream, counters, value);
    return cudaGetLastError();
}

extern "C" cudaError_t fopt_launch_reset_counters(fopt_device_counters *counters, double lr, cudaStream_t stream)
{
    KLAUNCH(fopt_reset_counters_kernel, 1, 1, 0, stream, counters, lr);
    return cudaGetLastError();
}
