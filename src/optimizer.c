/* The optimizer handle: option validation, backend choice and dispatch. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "internal.h"

fopt_options fopt_default_options(fopt_algorithm algorithm)
{
    fopt_options o;
    memset(&o, 0, sizeof o);
    o.algorithm = algorithm;
    o.backend = FOPT_BACKEND_AUTO;
    o.schedule = fopt_default_schedule();
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    o.weight_decay = algorithm == FOPT_ADAMW ? 1e-2 : 0.0;
    o.alpha = 0.99;
    if (algorithm == FOPT_ADAGRAD) {
        o.schedule.base_lr = 1e-2;
        o.eps = 1e-10;
    } else if (algorithm == FOPT_RMSPROP) {
        o.schedule.base_lr = 1e-2;
    }
    o.init_scale = 65536.0;
    o.growth_factor = 2.0;
    o.backoff_factor = 0.5;
    o.growth_interval = 2000;
    return o;
}

int fopt_algorithm_state_arrays(const fopt_options *options)
{
    if (options->algorithm == FOPT_SGD) {
        return options->momentum != 0.0 ? 1 : 0;
    }
    if (options->algorithm == FOPT_ADAGRAD) {
        return 1;
    }
    if (options->algorithm == FOPT_RMSPROP) {
        return 1 + (options->momentum != 0.0) + (options->centered != 0);
    }
    return options->amsgrad ? 3 : 2;
}

int fopt_state_arrays(const fopt_options *options)
{
    return fopt_algorithm_state_arrays(options) + fopt_has_master(options);
}

static int valid_dtype(fopt_dtype d)
{
    return d == FOPT_FLOAT32 || d == FOPT_BFLOAT16 || d == FOPT_FLOAT16;
}

static fopt_status check_range(fopt_optimizer *opt, const char *name, double value, double lo, double hi,
                               int hi_open)
{
    int ok = isfinite(value) && value >= lo && (hi_open ? value < hi : value <= hi);
    if (!ok) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_HYPERPARAMETER, "options.%s must be in [%g, %g%c, got %g",
                         name, lo, hi, hi_open ? ')' : ']', value);
    }
    return FOPT_SUCCESS;
}

/* Gradient scaling and clipping; the scale fields only when grad_scaling is on. */
static fopt_status validate_scaling(const fopt_options *o)
{
    fopt_status status;
    if ((status = check_range(NULL, "max_grad_norm", o->max_grad_norm, 0.0, 1e300, 0)) != FOPT_SUCCESS ||
        !o->grad_scaling) {
        return status;
    }
    if (!(isfinite(o->init_scale) && o->init_scale > 0.0 && o->init_scale <= 3e38)) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_HYPERPARAMETER,
                         "options.init_scale must be > 0 and finite in fp32, got %g", o->init_scale);
    }
    if (!(isfinite(o->growth_factor) && o->growth_factor > 1.0 && o->growth_factor <= 1e6)) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_HYPERPARAMETER, "options.growth_factor must be in (1, 1e6], got %g",
                         o->growth_factor);
    }
    if (!(o->backoff_factor > 0.0 && o->backoff_factor < 1.0)) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_HYPERPARAMETER, "options.backoff_factor must be in (0, 1), got %g",
                         o->backoff_factor);
    }
    if (o->growth_interval < 1) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_HYPERPARAMETER, "options.growth_interval must be >= 1, got %lld",
                         (long long)o->growth_interval);
    }
    return FOPT_SUCCESS;
}

static fopt_status validate_options(const fopt_options *o)
{
    fopt_status status;
    if (o->algorithm != FOPT_SGD && o->algorithm != FOPT_ADAM && o->algorithm != FOPT_ADAMW &&
        o->algorithm != FOPT_ADAGRAD && o->algorithm != FOPT_RMSPROP) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_ENUM, "options.algorithm %d is not a fopt_algorithm",
                         (int)o->algorithm);
    }
    if (o->backend != FOPT_BACKEND_AUTO && o->backend != FOPT_BACKEND_CPU && o->backend != FOPT_BACKEND_CUDA) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_ENUM, "options.backend %d is not a fopt_backend", (int)o->backend);
    }
    if (!valid_dtype(o->param_dtype) || !valid_dtype(o->grad_dtype)) {
        const int param = !valid_dtype(o->param_dtype);
        return fopt_fail(NULL, FOPT_ERROR_INVALID_ENUM, "options.%s %d is not a fopt_dtype",
                         param ? "param_dtype" : "grad_dtype", param ? (int)o->param_dtype : (int)o->grad_dtype);
    }
    if (o->stochastic_rounding && o->param_dtype != FOPT_BFLOAT16) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_HYPERPARAMETER,
                         "options.stochastic_rounding needs param_dtype FOPT_BFLOAT16 (1), got %d", (int)o->param_dtype);
    }
    if ((status = fopt_validate_schedule(NULL, &o->schedule)) != FOPT_SUCCESS) {
        return status;
    }
    if ((status = check_range(NULL, "weight_decay", o->weight_decay, 0.0, 1e6, 0)) != FOPT_SUCCESS) {
        return status;
    }
    if (o->steps_per_epoch < 0) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_HYPERPARAMETER, "options.steps_per_epoch must be >= 0, got %lld",
                         (long long)o->steps_per_epoch);
    }
    if ((status = validate_scaling(o)) != FOPT_SUCCESS) {
        return status;
    }
    if (o->algorithm == FOPT_SGD) {
        if ((status = check_range(NULL, "momentum", o->momentum, 0.0, 1e6, 0)) != FOPT_SUCCESS ||
            (status = check_range(NULL, "dampening", o->dampening, 0.0, 1e6, 0)) != FOPT_SUCCESS) {
            return status;
        }
        if (o->nesterov && (o->momentum <= 0.0 || o->dampening != 0.0)) {
            return fopt_fail(NULL, FOPT_ERROR_INVALID_HYPERPARAMETER,
                             "options.nesterov requires momentum > 0 and dampening == 0 (got %g, %g)",
                             o->momentum, o->dampening);
        }
        return FOPT_SUCCESS;
    }
    if (o->algorithm == FOPT_ADAGRAD) {
        if ((status = check_range(NULL, "lr_decay", o->lr_decay, 0.0, 1e6, 0)) != FOPT_SUCCESS ||
            (status = check_range(NULL, "initial_accumulator_value", o->initial_accumulator_value, 0.0, 1e30, 0)) !=
                FOPT_SUCCESS ||
            (status = check_range(NULL, "eps", o->eps, 0.0, 1e6, 0)) != FOPT_SUCCESS) {
            return status;
        }
        return FOPT_SUCCESS;
    }
    if (o->algorithm == FOPT_RMSPROP) {
        if ((status = check_range(NULL, "alpha", o->alpha, 0.0, 1.0, 0)) != FOPT_SUCCESS ||
            (status = check_range(NULL, "momentum", o->momentum, 0.0, 1e6, 0)) != FOPT_SUCCESS ||
            (status = check_range(NULL, "eps", o->eps, 0.0, 1e6, 0)) != FOPT_SUCCESS) {
            return status;
        }
        return FOPT_SUCCESS;
    }
    if ((status = check_range(NULL, "beta1", o->beta1, 0.0, 1.0, 1)) != FOPT_SUCCESS ||
        (status = check_range(NULL, "beta2", o->beta2, 0.0, 1.0, 1)) != FOPT_SUCCESS ||
        (status = check_range(NULL, "eps", o->eps, 0.0, 1e6, 0)) != FOPT_SUCCESS) {
        return status;
    }
    return FOPT_SUCCESS;
}

static fopt_status validate_tensors(const fopt_options *o, const fopt_tensor *tensors, size_t num_tensors,
                                    size_t *total)
{
    if (!tensors) {
        return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "tensors is NULL");
    }
    if (num_tensors == 0) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_SIZE, "num_tensors must be >= 1");
    }
    if (num_tensors > SIZE_MAX / sizeof(fopt_tensor)) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_SIZE, "num_tensors %zu is too large", num_tensors);
    }
    /* State arrays hold total floats each, and the kernels index with int64. */
    const size_t limit = ((size_t)1 << 62) / sizeof(float);
    size_t sum = 0;
    for (size_t i = 0; i < num_tensors; i++) {
        const fopt_tensor *t = &tensors[i];
        if (t->numel > 0 && (!t->param || !t->grad)) {
            return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "tensors[%zu].%s is NULL", i,
                             t->param ? "grad" : "param");
        }
        if (t->numel > 0 && ((uintptr_t)t->param % fopt_dtype_size(o->param_dtype) != 0 ||
                             (uintptr_t)t->grad % fopt_dtype_size(o->grad_dtype) != 0)) {
            const int param = (uintptr_t)t->param % fopt_dtype_size(o->param_dtype) != 0;
            return fopt_fail(NULL, FOPT_ERROR_INVALID_POINTER, "tensors[%zu].%s is not aligned to its %zu-byte elements",
                             i, param ? "param" : "grad", fopt_dtype_size(param ? o->param_dtype : o->grad_dtype));
        }
        if (t->numel > limit - sum) {
            return fopt_fail(NULL, FOPT_ERROR_INVALID_SIZE,
                             "tensors[%zu]: total number of elements overflows (limit %zu)", i, limit);
        }
        sum += t->numel;
    }
    *total = sum;
    for (size_t i = 0; o->tensor_weight_decay && i < num_tensors; i++) {
        const double wd = o->tensor_weight_decay[i];
        if (!(isfinite(wd) && wd >= 0.0 && wd <= 1e6)) {
            return fopt_fail(NULL, FOPT_ERROR_INVALID_HYPERPARAMETER,
                             "options.tensor_weight_decay[%zu] must be in [0, 1e6], got %g", i, wd);
        }
    }
    for (size_t i = 0; o->tensor_base_lr && i < num_tensors; i++) {
        const double lr = o->tensor_base_lr[i];
        if (!(isfinite(lr) && lr >= 0.0)) {
            return fopt_fail(NULL, FOPT_ERROR_INVALID_HYPERPARAMETER,
                             "options.tensor_base_lr[%zu] must be finite and >= 0, got %g", i, lr);
        }
    }
    return FOPT_SUCCESS;
}

/* Resolves AUTO and checks that the chosen backend can use the tensors. */
static fopt_status choose_backend(const fopt_options *o, const fopt_tensor *tensors, size_t num_tensors,
                                  fopt_backend *backend)
{
    int usable = fopt_cuda_usable();
    int on_device = usable ? fopt_cuda_tensors_on_device(tensors, num_tensors) : 0;
    if (on_device < 0) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_POINTER,
                         "tensors mix host and device memory; all must be on one side");
    }
    if (o->backend == FOPT_BACKEND_AUTO) {
        *backend = on_device ? FOPT_BACKEND_CUDA : FOPT_BACKEND_CPU;
        return FOPT_SUCCESS;
    }
    if (o->backend == FOPT_BACKEND_CUDA) {
        if (!usable) {
            return fopt_fail(NULL, FOPT_ERROR_BACKEND_UNAVAILABLE,
#ifdef FOPT_WITH_CUDA
                             "CUDA backend requested but no CUDA device is usable"
#else
                             "CUDA backend requested but this build of fusedopt has no CUDA support"
#endif
            );
        }
        if (!on_device) {
            return fopt_fail(NULL, FOPT_ERROR_INVALID_POINTER,
                             "CUDA backend requested but the tensors are host memory");
        }
    } else if (on_device) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_POINTER, "CPU backend requested but the tensors are device memory");
    }
    *backend = o->backend;
    return FOPT_SUCCESS;
}

#ifndef FOPT_WITH_CUDA
/* A build without CUDA: no device is ever usable and no pointer is device memory. */
int fopt_cuda_usable(void)
{
    return 0;
}

int fopt_cuda_tensors_on_device(const fopt_tensor *tensors, size_t num_tensors)
{
    return 0;
}
#endif

static const fopt_backend_ops *backend_ops(fopt_backend backend)
{
#ifdef FOPT_WITH_CUDA
    if (backend == FOPT_BACKEND_CUDA) {
        return &fopt_cuda_backend_ops;
    }
#endif
    return &fopt_cpu_backend_ops;
}

/* *copy = a malloc'ed copy of the n values of `list` (NULL stays NULL);
 * returns 0 when out of memory. */
static int copy_list(double **copy, const double *list, size_t n)
{
    if (!list) {
        return 1;
    }
    if (!(*copy = malloc(n * sizeof *list))) {
        return 0;
    }
    memcpy(*copy, list, n * sizeof *list);
    return 1;
}

static void free_handle(fopt_optimizer *opt)
{
    free(opt->tensors);
    free(opt->offsets);
    free(opt->tensor_weight_decay);
    free(opt->tensor_base_lr);
    free(opt);
}

fopt_status fopt_create(fopt_optimizer **out, const fopt_options *options, const fopt_tensor *tensors,
                        size_t num_tensors)
{
    fopt_status status;
    size_t total = 0;
    fopt_backend backend = FOPT_BACKEND_CPU;
    if (!out) {
        return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "opt (output handle pointer) is NULL");
    }
    if (!options) {
        return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "options is NULL");
    }
    if ((status = validate_options(options)) != FOPT_SUCCESS ||
        (status = validate_tensors(options, tensors, num_tensors, &total)) != FOPT_SUCCESS ||
        (status = choose_backend(options, tensors, num_tensors, &backend)) != FOPT_SUCCESS) {
        return status;
    }
    fopt_optimizer *opt = calloc(1, sizeof *opt);
    if (!opt || !(opt->tensors = malloc(num_tensors * sizeof *tensors)) ||
        !(opt->offsets = malloc(num_tensors * sizeof *opt->offsets)) ||
        !copy_list(&opt->tensor_weight_decay, options->tensor_weight_decay, num_tensors) ||
        !copy_list(&opt->tensor_base_lr, options->tensor_base_lr, num_tensors)) {
        if (opt) {
            free_handle(opt);
        }
        return fopt_fail(NULL, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for the optimizer handle");
    }
    memcpy(opt->tensors, tensors, num_tensors * sizeof *tensors);
    size_t offset = 0;
    for (size_t i = 0; i < num_tensors; i++) {
        opt->offsets[i] = offset;
        offset += tensors[i].numel;
    }
    opt->options = *options;
    opt->options.tensor_weight_decay = opt->tensor_weight_decay;
    opt->options.tensor_base_lr = opt->tensor_base_lr;
    opt->backend = backend;
    opt->ops = backend_ops(backend);
    opt->num_tensors = num_tensors;
    opt->total_numel = total;
    if ((status = opt->ops->create(opt)) != FOPT_SUCCESS) {
        fopt_fail(NULL, status, "%s", opt->last_error);
        free_handle(opt);
        return status;
    }
    fopt_clear_error(NULL);
    *out = opt;
    return FOPT_SUCCESS;
}

void fopt_destroy(fopt_optimizer *opt)
{
    if (!opt) {
        return;
    }
    opt->ops->destroy(opt);
    free_handle(opt);
}

/* Every call on a handle starts by clearing its message; a failure sets it. */
#define FOPT_ENTER(opt)                                                        \
    do {                                                                       \
        if (!(opt)) {                                                          \
            return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "opt is NULL");    \
        }                                                                      \
        fopt_clear_error(opt);                                                 \
    } while (0)

fopt_status fopt_get_backend(const fopt_optimizer *opt, fopt_backend *backend)
{
    if (!opt || !backend) {
        return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "%s is NULL", opt ? "backend (output)" : "opt");
    }
    *backend = opt->backend;
    return FOPT_SUCCESS;
}

fopt_status fopt_step(fopt_optimizer *opt)
{
    FOPT_ENTER(opt);
    return opt->ops->step(opt);
}

fopt_status fopt_scheduler_step(fopt_optimizer *opt)
{
    FOPT_ENTER(opt);
    return opt->ops->add_epochs(opt, 1);
}

fopt_status fopt_set_epoch(fopt_optimizer *opt, int64_t epoch)
{
    FOPT_ENTER(opt);
    if (epoch < 0 || epoch > FOPT_MAX_COUNTER) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_HYPERPARAMETER, "epoch must be in [0, 2^62], got %lld",
                         (long long)epoch);
    }
    return opt->ops->set_epoch(opt, epoch);
}

fopt_status fopt_get_counters(fopt_optimizer *opt, int64_t *step, int64_t *epoch)
{
    int64_t s, e;
    double lr;
    FOPT_ENTER(opt);
    fopt_status status = opt->ops->read_counters(opt, &s, &e, &lr);
    if (status == FOPT_SUCCESS) {
        if (step) {
            *step = s;
        }
        if (epoch) {
            *epoch = e;
        }
    }
    return status;
}

fopt_status fopt_get_last_lr(fopt_optimizer *opt, double *lr)
{
    int64_t s, e;
    double value;
    FOPT_ENTER(opt);
    if (!lr) {
        return fopt_fail(opt, FOPT_ERROR_NULL_POINTER, "lr (output) is NULL");
    }
    fopt_status status = opt->ops->read_counters(opt, &s, &e, &value);
    if (status == FOPT_SUCCESS) {
        *lr = value;
    }
    return status;
}

static fopt_status require_scaling(fopt_optimizer *opt, const char *what)
{
    if (!opt->loss_scale) {
        return fopt_fail(opt, FOPT_ERROR_NOT_SUPPORTED, "%s needs options.grad_scaling on", what);
    }
    return FOPT_SUCCESS;
}

fopt_status fopt_get_scale(fopt_optimizer *opt, double *scale)
{
    fopt_status status;
    FOPT_ENTER(opt);
    if (!scale) {
        return fopt_fail(opt, FOPT_ERROR_NULL_POINTER, "scale (output) is NULL");
    }
    if ((status = require_scaling(opt, "fopt_get_scale")) != FOPT_SUCCESS) {
        return status;
    }
    int64_t growth_tracker;
    return opt->ops->read_scaler(opt, scale, &growth_tracker);
}

static fopt_status require_grad_norm(fopt_optimizer *opt, const char *what)
{
    if (!opt->grad_norm) {
        return fopt_fail(opt, FOPT_ERROR_NOT_SUPPORTED,
                         "%s needs options.grad_scaling, max_grad_norm > 0 or track_grad_norm", what);
    }
    return FOPT_SUCCESS;
}

fopt_status fopt_get_grad_norm(fopt_optimizer *opt, double *norm)
{
    fopt_status status;
    FOPT_ENTER(opt);
    if (!norm) {
        return fopt_fail(opt, FOPT_ERROR_NULL_POINTER, "norm (output) is NULL");
    }
    if ((status = require_grad_norm(opt, "fopt_get_grad_norm")) != FOPT_SUCCESS) {
        return status;
    }
    return opt->ops->read_grad_norm(opt, norm);
}

fopt_status fopt_device_grad_norm(fopt_optimizer *opt, const float **norm)
{
    fopt_status status;
    FOPT_ENTER(opt);
    if (!norm) {
        return fopt_fail(opt, FOPT_ERROR_NULL_POINTER, "norm (output) is NULL");
    }
    if ((status = require_grad_norm(opt, "fopt_device_grad_norm")) != FOPT_SUCCESS) {
        return status;
    }
    *norm = opt->grad_norm;
    return FOPT_SUCCESS;
}

fopt_status fopt_device_loss_scale(fopt_optimizer *opt, const float **scale)
{
    fopt_status status;
    FOPT_ENTER(opt);
    if (!scale) {
        return fopt_fail(opt, FOPT_ERROR_NULL_POINTER, "scale (output) is NULL");
    }
    if ((status = require_scaling(opt, "fopt_device_loss_scale")) != FOPT_SUCCESS) {
        return status;
    }
    *scale = opt->loss_scale;
    return FOPT_SUCCESS;
}
