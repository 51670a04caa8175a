/*
 * Internal definitions shared by the host C sources: the optimizer handle,
 * the backend interface and error helpers. Not installed.
 */
#ifndef FOPT_INTERNAL_H
#define FOPT_INTERNAL_H

#include <stdarg.h>

#include "fusedopt.h"

#define FOPT_MESSAGE_SIZE 256

/* A backend owns the optimizer state and the counters (step, epoch, last lr).
 * Each function returns a status and may set opt->last_error via fopt_fail. */
typedef struct fopt_backend_ops {
    fopt_status (*create)(fopt_optimizer *opt);
    void (*destroy)(fopt_optimizer *opt);
    fopt_status (*step)(fopt_optimizer *opt);
    fopt_status (*add_epochs)(fopt_optimizer *opt, int64_t delta);
    fopt_status (*set_epoch)(fopt_optimizer *opt, int64_t epoch);
    /* Synchronizing read of the counters and the lr of the most recent step. */
    fopt_status (*read_counters)(fopt_optimizer *opt, int64_t *step, int64_t *epoch, double *last_lr);
    /* Synchronizing copy of tensor `tensor`'s slice (numel floats) of state
     * array `array` (< fopt_state_arrays) to `host` (to_host != 0) or from it. */
    fopt_status (*copy_state)(fopt_optimizer *opt, int array, size_t tensor, float *host, int to_host);
    /* Synchronizing: sets the counters and the lr of the most recent step (checkpoint load). */
    fopt_status (*set_counters)(fopt_optimizer *opt, int64_t step, int64_t epoch, double last_lr);
    /* Synchronizing read / write of the loss scale and its growth tracker
     * (only called with grad_scaling on; write: checkpoint load). */
    fopt_status (*read_scaler)(fopt_optimizer *opt, double *scale, int64_t *growth_tracker);
    fopt_status (*write_scaler)(fopt_optimizer *opt, double scale, int64_t growth_tracker);
    /* Synchronizing read of the last step's gradient norm (only with the pre-pass). */
    fopt_status (*read_grad_norm)(fopt_optimizer *opt, double *norm);
} fopt_backend_ops;

struct fopt_optimizer {
    fopt_options options;
    fopt_backend backend;            /* resolved: CPU or CUDA */
    const fopt_backend_ops *ops;
    size_t num_tensors;
    fopt_tensor *tensors;            /* copy of the caller's array */
    size_t *offsets;                 /* offsets[i] = sum of numel of tensors before i */
    size_t total_numel;
    double *tensor_weight_decay;     /* copy of options.tensor_weight_decay (NULL when that is) */
    double *tensor_base_lr;          /* copy of options.tensor_base_lr (NULL when that is) */
    void *backend_state;             /* owned by the backend */
    /* The loss scale (device memory on CUDA), set by the backend's create
     * when options.grad_scaling is on, else NULL. */
    const float *loss_scale;
    /* The global gradient norm of the last step, set by the backend's create
     * when the gradient pre-pass runs (fopt_scaler_needed), else NULL. */
    const float *grad_norm;
    char last_error[FOPT_MESSAGE_SIZE];
};

/* Number of fp32 state arrays of total_numel elements the algorithm keeps:
 * SGD with momentum 1 (momentum buffer), Adam 2 (exp_avg, exp_avg_sq),
 * amsgrad 3 (plus max_exp_avg_sq). */
int fopt_algorithm_state_arrays(const fopt_options *options);

/* All fp32 state arrays: the algorithm's, then, with 16-bit parameters, the
 * master weights (array index fopt_algorithm_state_arrays). */
int fopt_state_arrays(const fopt_options *options);

/* The value algorithm state array 0 starts at: Adagrad's
 * initial_accumulator_value; 0 for the other algorithms (and arrays). */
static inline double fopt_initial_state_value(const fopt_options *options)
{
    return options->algorithm == FOPT_ADAGRAD ? options->initial_accumulator_value : 0.0;
}

/* Whether the parameters are 16-bit and so have fp32 master weights (not
 * with stochastic rounding). */
static inline int fopt_has_master(const fopt_options *options)
{
    return options->param_dtype != FOPT_FLOAT32 && !options->stochastic_rounding;
}

/* The weight decay of tensor t: options->tensor_weight_decay[t], or
 * options->weight_decay when there is no per-tensor list. */
static inline double fopt_tensor_weight_decay(const fopt_options *options, size_t t)
{
    return options->tensor_weight_decay ? options->tensor_weight_decay[t] : options->weight_decay;
}

/* The base lr of tensor t: options->tensor_base_lr[t], or
 * options->schedule.base_lr when there is no per-tensor list. */
static inline double fopt_tensor_base_lr(const fopt_options *options, size_t t)
{
    return options->tensor_base_lr ? options->tensor_base_lr[t] : options->schedule.base_lr;
}

/* Records a formatted message on `opt` (or the thread-local slot when opt is
 * NULL) and returns `status`, so callers can write `return fopt_fail(...)`. */
fopt_status fopt_fail(fopt_optimizer *opt, fopt_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Clears the message of `opt` (or the thread-local one when NULL). */
void fopt_clear_error(fopt_optimizer *opt);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of `size` bytes, continuing
 * from `crc` (0 to start). */
uint32_t fopt_crc32(uint32_t crc, const void *data, size_t size);

/* Validates the schedule; the message names the offending field. */
fopt_status fopt_validate_schedule(fopt_optimizer *opt, const fopt_schedule *schedule);

extern const fopt_backend_ops fopt_cpu_backend_ops;

/* CUDA backend; fopt_cuda_usable() is 0 in builds without CUDA or without a device. */
int fopt_cuda_usable(void);
/* 1 if every param and grad pointer is device memory, 0 if all are host memory, -1 if mixed. */
int fopt_cuda_tensors_on_device(const fopt_tensor *tensors, size_t num_tensors);
extern const fopt_backend_ops fopt_cuda_backend_ops;

#endif /* FOPT_INTERNAL_H */
