/*
 * fusedopt: fused SGD, Adam/AdamW, Adagrad and RMSprop steps whose CUDA
 * kernel evaluates the learning-rate schedule on the device, from
 * device-resident int64 counters.
 *
 * The one public header. It compiles as C11 and as C++ and needs no CUDA
 * header: a CUDA stream is passed as `void *` (a cudaStream_t).
 *
 * Conventions
 *  - Every call returns fopt_status; FOPT_SUCCESS is 0. On failure nothing
 *    changes and a message says what was wrong: fopt_last_error(opt) for a
 *    handle, fopt_last_error(NULL) for calls without one (thread-local).
 *  - The library never prints, aborts or exits.
 *  - On the CUDA backend work is stream-ordered and asynchronous: fopt_step,
 *    fopt_scheduler_step and fopt_set_epoch enqueue work on the handle's stream
 *    and return without synchronizing. Calls documented as "synchronizing"
 *    wait for the stream.
 */
#ifndef FUSEDOPT_H
#define FUSEDOPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FOPT_VERSION_MAJOR 0
#define FOPT_VERSION_MINOR 1
#define FOPT_VERSION_PATCH 0
/* Encoded as MAJOR * 10000 + MINOR * 100 + PATCH. */
#define FOPT_VERSION \
    (FOPT_VERSION_MAJOR * 10000 + FOPT_VERSION_MINOR * 100 + FOPT_VERSION_PATCH)

/* The version of the library linked at run time, encoded like FOPT_VERSION. */
int fopt_version(void);

typedef enum fopt_status {
    FOPT_SUCCESS = 0,
    FOPT_ERROR_NULL_POINTER,        /* a required pointer argument is NULL */
    FOPT_ERROR_INVALID_SIZE,        /* zero/mismatched tensor count or size, size overflow */
    FOPT_ERROR_INVALID_ENUM,        /* unknown algorithm, backend or schedule kind */
    FOPT_ERROR_INVALID_HYPERPARAMETER, /* lr, momentum, betas, eps, weight decay, ... */
    FOPT_ERROR_INVALID_SCHEDULE,    /* T_max/T_0 < 1, T_mult < 1, warmup too long, ... */
    FOPT_ERROR_INVALID_POINTER,     /* memory of the wrong kind for the backend, or misused */
    FOPT_ERROR_BACKEND_UNAVAILABLE, /* CUDA asked for but not built in or no usable device */
    FOPT_ERROR_OUT_OF_MEMORY,       /* host or device allocation failed */
    FOPT_ERROR_CUDA,                /* a CUDA runtime call failed; the message names it */
    FOPT_ERROR_IO,                  /* a file could not be opened, read or written */
    FOPT_ERROR_CHECKPOINT_CORRUPT,  /* bad magic, truncated, checksum mismatch */
    FOPT_ERROR_CHECKPOINT_VERSION,  /* checkpoint format version not supported */
    FOPT_ERROR_CHECKPOINT_MISMATCH, /* checkpoint does not fit this optimizer's tensors */
    FOPT_ERROR_NOT_SUPPORTED        /* valid request this build or backend cannot do */
} fopt_status;

/* A static, human-readable name for a status ("FOPT_ERROR_INVALID_SIZE: ..."). */
const char *fopt_status_string(fopt_status status);

/* ------------------------------------------------------------------ */
/* Learning-rate schedules                                             */
/* ------------------------------------------------------------------ */

typedef enum fopt_schedule_kind {
    /* lr(t) = base_lr */
    FOPT_SCHEDULE_CONSTANT = 0,
    /* PyTorch CosineAnnealingLR:
     *   lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / t_max)) / 2
     * Period 2 * t_max: after t_max it rises back towards base_lr. It does
     * NOT restart; use FOPT_SCHEDULE_COSINE_RESTARTS for restarts. */
    FOPT_SCHEDULE_COSINE = 1,
    /* PyTorch CosineAnnealingWarmRestarts (t_0, integer t_mult >= 1), plus
     * restart_decay (Keras m_mul): the peak of cycle i is base_lr * restart_decay^i.
     *   lr(t) = eta_min + (peak_i - eta_min) * (1 + cos(pi * t_cur / t_i)) / 2 */
    FOPT_SCHEDULE_COSINE_RESTARTS = 2,
    /* PyTorch SequentialLR([LinearLR(warmup_start_factor, total_iters=W),
     *                       CosineAnnealingLR(T_max = t_max - W, eta_min)], milestones=[W])
     * with W = warmup_steps. Here t_max is the length of the whole schedule,
     * warmup included, so warmup_steps must be < t_max.
     *   t <  W: lr = base_lr * (f + (1 - f) * t / W)
     *   t >= W: cosine annealing of t - W with period 2 * (t_max - W) */
    FOPT_SCHEDULE_WARMUP_COSINE = 3,
    /* PyTorch StepLR(step_size, gamma); with step_size 1, ExponentialLR(gamma):
     *   lr(t) = base_lr * gamma^floor(t / step_size)      (eta_min unused) */
    FOPT_SCHEDULE_STEP = 4,
    /* Linear warmup, then linear decay to eta_min, then eta_min (the usual
     * transformer schedule; Hugging Face get_linear_schedule_with_warmup has
     * eta_min 0). PyTorch: SequentialLR([LinearLR(f, total_iters=W),
     * LinearLR(1, eta_min / base_lr, total_iters=t_max - W)], [W]) when
     * eta_min <= base_lr. t_max counts the whole schedule, warmup included.
     *   t <  W:          lr = base_lr * (f + (1 - f) * t / W)
     *   W <= t < t_max:  lr = base_lr + (eta_min - base_lr) * (t - W) / (t_max - W)
     *   t >= t_max:      lr = eta_min */
    FOPT_SCHEDULE_WARMUP_LINEAR = 5
} fopt_schedule_kind;

typedef struct fopt_schedule {
    fopt_schedule_kind kind;
    double base_lr;             /* >= 0, finite */
    double eta_min;             /* >= 0, finite; may exceed base_lr (as PyTorch allows) */
    int64_t t_max;              /* COSINE, WARMUP_COSINE, WARMUP_LINEAR: >= 1 */
    int64_t t_0;                /* COSINE_RESTARTS: first cycle length, >= 1 */
    int64_t t_mult;             /* COSINE_RESTARTS: cycle growth factor, >= 1 */
    double restart_decay;       /* COSINE_RESTARTS: peak factor per restart, in (0, 1], 1 = none */
    int64_t warmup_steps;       /* WARMUP_*: W >= 0 (0: no warmup), W < t_max */
    double warmup_start_factor; /* WARMUP_*: in (0, 1], PyTorch LinearLR start_factor */
    int64_t step_size;          /* STEP: epochs between decays, >= 1 */
    double gamma;               /* STEP: decay factor, in (0, 1] (a growing lr would overflow) */
} fopt_schedule;

/* Defaults: constant lr 1e-3, eta_min 0, t_max 1, t_0 1, t_mult 1,
 * restart_decay 1, warmup_steps 0, warmup_start_factor 1/3 (PyTorch LinearLR),
 * step_size 1, gamma 0.1 (PyTorch StepLR). */
fopt_schedule fopt_default_schedule(void);

/* Checks every field that the schedule's kind uses; FOPT_SUCCESS if valid. */
fopt_status fopt_schedule_check(const fopt_schedule *schedule);

/* The learning rate at `epoch` (>= 0), in double precision, closed form. */
fopt_status fopt_schedule_lr(const fopt_schedule *schedule, int64_t epoch, double *lr);

/* ------------------------------------------------------------------ */
/* Optimizer                                                           */
/* ------------------------------------------------------------------ */

typedef enum fopt_algorithm {
    FOPT_SGD = 1,
    FOPT_ADAM = 2,
    FOPT_ADAMW = 3,
    FOPT_ADAGRAD = 4, /* torch.optim.Adagrad (dense gradients) */
    FOPT_RMSPROP = 5  /* torch.optim.RMSprop */
} fopt_algorithm;

typedef enum fopt_backend {
    FOPT_BACKEND_AUTO = 0, /* CUDA when the tensors are device memory and a device is usable, else CPU */
    FOPT_BACKEND_CPU = 1,
    FOPT_BACKEND_CUDA = 2
} fopt_backend;

/* Element type of parameters and gradients. 16-bit values are stored as the
 * CUDA types __nv_bfloat16 / __half (IEEE bits: bf16 = the top 16 bits of an
 * fp32; fp16 = IEEE binary16), host or device memory like fp32 tensors. */
typedef enum fopt_dtype {
    FOPT_FLOAT32 = 0,
    FOPT_BFLOAT16 = 1,
    FOPT_FLOAT16 = 2
} fopt_dtype;

typedef struct fopt_options {
    fopt_algorithm algorithm;
    fopt_backend backend;
    fopt_schedule schedule;  /* the learning rate is schedule.base_lr at epoch 0 */
    /* Per-tensor base learning rate, as PyTorch parameter groups with their
     * own lr under one scheduler: NULL (the default) = schedule.base_lr for
     * every tensor; else num_tensors values, each >= 0 and finite: tensor t
     * follows `schedule` with base_lr = tensor_base_lr[t] (eta_min, periods
     * and warmup shared, as PyTorch schedulers share them across groups).
     * Copied at create and recorded in checkpoints; fopt_get_last_lr reports
     * the lr of schedule.base_lr. */
    const double *tensor_base_lr;
    double weight_decay;     /* >= 0; AdamW: decoupled; the others: L2 added to the gradient */
    /* Per-tensor weight decay, as PyTorch parameter groups that differ only
     * in weight_decay (typically 0 for biases and norm layers): NULL (the
     * default) = weight_decay for every tensor; else num_tensors values, one
     * per tensor of fopt_create, each >= 0 and finite, used instead of
     * weight_decay. Copied at create (the array may be freed afterwards) and
     * recorded in checkpoints. */
    const double *tensor_weight_decay;
    int maximize;            /* nonzero: ascend instead of descend */
    /* SGD (momentum also RMSprop's) */
    double momentum;         /* >= 0 */
    double dampening;        /* >= 0 */
    int nesterov;            /* needs momentum > 0 and dampening == 0 */
    /* Adam / AdamW */
    double beta1, beta2;     /* in [0, 1) */
    double eps;              /* >= 0 (also Adagrad's) */
    int amsgrad;
    /* Adagrad: step k uses lr / (1 + (k - 1) * lr_decay); the sum of squared
     * gradients starts at initial_accumulator_value. Both >= 0, finite. */
    double lr_decay;
    double initial_accumulator_value;
    /* RMSprop: square_avg = alpha * square_avg + (1 - alpha) * g^2, in [0, 1];
     * centered: also average g and divide by sqrt(square_avg - grad_avg^2). */
    double alpha;
    int centered;
    /* Epoch counter: 0 = advanced only by fopt_scheduler_step / fopt_set_epoch;
     * N > 0 = also advanced by one after every N optimizer steps. */
    int64_t steps_per_epoch;
    void *stream;            /* cudaStream_t for the CUDA backend; NULL = legacy default stream */
    /* Gradient scaling (PyTorch GradScaler): the user multiplies the loss by
     * the loss scale (fopt_device_loss_scale) before the backward pass. Each
     * step unscales every gradient as GradScaler.unscale_ does, in fp32:
     * g * inv_scale with inv_scale = (float)(1 / (double)scale), and checks
     * the results for inf/NaN on the device: if any is found the step changes
     * nothing (parameters, state, step and epoch counters) and the scale is
     * multiplied by backoff_factor; otherwise the update uses the unscaled
     * gradients, and after growth_interval consecutive good steps the scale is
     * multiplied by growth_factor (kept only if finite). The scale is an fp32
     * value, as in PyTorch. fopt_get_counters' step counts the steps not skipped.
     * The scale fields are validated only when grad_scaling is nonzero. */
    int grad_scaling;        /* 0 = off (default), nonzero = on */
    double init_scale;       /* > 0, finite; default 65536 (2^16) */
    double growth_factor;    /* > 1, finite; default 2 */
    double backoff_factor;   /* in (0, 1); default 0.5 */
    int64_t growth_interval; /* >= 1; default 2000 */
    /* Gradient clipping by the global L2 norm of the (unscaled) gradients of
     * all tensors, as torch.nn.utils.clip_grad_norm_: the gradients are
     * multiplied by clamp(max_grad_norm / (norm + 1e-6), max 1), in fp32 after
     * the unscale. Without grad_scaling an inf or NaN gradient makes the norm
     * inf (coefficient 0: finite gradients count as 0, the inf one as NaN) or
     * NaN (every gradient NaN), as in PyTorch. >= 0, finite; 0 = off (default). */
    double max_grad_norm;
    /* Nonzero: compute the global L2 norm of the (unscaled) gradients every
     * step even without grad_scaling and clipping (one more read of the
     * gradients), for fopt_get_grad_norm / fopt_device_grad_norm. The update
     * is unchanged. 0 = off (default; the norm is still computed whenever
     * grad_scaling or max_grad_norm needs it). */
    int track_grad_norm;
    /* Mixed precision. param_dtype: the type of every tensor's `param`;
     * grad_dtype: of every `grad`; FOPT_FLOAT32 (0) is the default for both.
     * With 16-bit parameters the optimizer keeps an fp32 master copy of them
     * (unless stochastic_rounding; one more state array, saved in
     * checkpoints), initialized from
     * the parameters at create. Each step reads the gradients converted to
     * fp32, updates the master weights in fp32 exactly as an fp32 parameter
     * and writes the parameter as the master rounded to nearest-even in the
     * same pass; the parameters are only written, never read, after create.
     * Gradient scaling, clipping and every algorithm work with any pair. */
    fopt_dtype param_dtype;
    fopt_dtype grad_dtype;
    /* Stochastic rounding of bf16 parameters, instead of master weights.
     * 0 = off (default). Nonzero needs param_dtype FOPT_BFLOAT16: no master
     * copy is kept (4 bytes per parameter less); each step reads the bf16
     * parameter, updates it in fp32 and writes it rounded stochastically:
     * 16 random bits are added below the bf16 mantissa of the fp32 result,
     * then the low 16 bits are dropped, so it rounds up with probability
     * equal to its distance from the value below (unbiased on average). The
     * bits are a hash of (stochastic_rounding_seed, step k, the element's
     * index in the concatenation of all tensors): the same on every run,
     * backend and thread count. */
    int stochastic_rounding;
    uint64_t stochastic_rounding_seed;
} fopt_options;

/* PyTorch's defaults for `algorithm`: lr 1e-3 (Adagrad, RMSprop: 1e-2;
 * constant schedule), SGD momentum 0, dampening 0; Adam betas (0.9, 0.999),
 * eps 1e-8 (Adagrad: 1e-10), lr_decay 0, initial_accumulator_value 0,
 * RMSprop alpha 0.99, centered 0, weight
 * decay 0 (AdamW: 1e-2) for every tensor (tensor_weight_decay and
 * tensor_base_lr NULL);
 * backend AUTO; steps_per_epoch 0; grad_scaling off with GradScaler's
 * defaults (init_scale 65536, growth_factor 2, backoff_factor 0.5,
 * growth_interval 2000); max_grad_norm 0 (no clipping); fp32 parameters and
 * gradients. */
fopt_options fopt_default_options(fopt_algorithm algorithm);

/* One parameter tensor: parameters and gradients of `numel` elements, of
 * options.param_dtype and options.grad_dtype (fp32 by default), each pointer
 * aligned to its element size. Host memory for the CPU backend, device
 * memory for the CUDA backend.
 * The pointers must stay valid and fixed for the optimizer's lifetime: the
 * optimizer reads the gradients found there at each step. */
typedef struct fopt_tensor {
    void *param;
    const void *grad;
    size_t numel;
} fopt_tensor;

typedef struct fopt_optimizer fopt_optimizer;

/* Creates an optimizer over `num_tensors` tensors (copied; the array may be
 * freed afterwards) and allocates its state (zeroed). Counters start at 0. */
fopt_status fopt_create(fopt_optimizer **opt, const fopt_options *options,
                        const fopt_tensor *tensors, size_t num_tensors);

/* Frees the optimizer and its state; NULL is accepted. On CUDA, waits for
 * the handle's stream first. */
void fopt_destroy(fopt_optimizer *opt);

/* The message for the last failed call on `opt`, or, with NULL, for the last
 * failed call in this thread that had no handle (fopt_create, schedules).
 * Empty string when there was none. */
const char *fopt_last_error(const fopt_optimizer *opt);

/* The backend actually in use (never AUTO). */
fopt_status fopt_get_backend(const fopt_optimizer *opt, fopt_backend *backend);

/* One optimizer step over all tensors. Step k (1-based) uses the learning
 * rate of the epoch counter as it stands, and Adam bias correction with t = k.
 * Then the step counter becomes k and, if steps_per_epoch = N > 0 and N
 * divides k, the epoch counter advances by one. CUDA: asynchronous. */
fopt_status fopt_step(fopt_optimizer *opt);

/* epoch += 1, like PyTorch's scheduler.step(). CUDA: asynchronous. */
fopt_status fopt_scheduler_step(fopt_optimizer *opt);

/* The largest value of the step and epoch counters: fopt_set_epoch and
 * fopt_load refuse larger ones, and the counters stop advancing there
 * (2^62 steps are centuries of training). */
#define FOPT_MAX_COUNTER ((int64_t)1 << 62)

/* Sets the epoch counter (0 .. FOPT_MAX_COUNTER), e.g. to resume. CUDA: asynchronous. */
fopt_status fopt_set_epoch(fopt_optimizer *opt, int64_t epoch);

/* Reads the counters back (either pointer may be NULL). Synchronizing. */
fopt_status fopt_get_counters(fopt_optimizer *opt, int64_t *step, int64_t *epoch);

/* The learning rate the most recent step used (the schedule's value at
 * epoch 0 before any step); with options.tensor_base_lr, the lr of
 * schedule.base_lr (tensor t's: fopt_schedule_lr of the schedule with
 * base_lr = tensor_base_lr[t]). Synchronizing. */
fopt_status fopt_get_last_lr(fopt_optimizer *opt, double *lr);

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */
/* ------------------------------------------------------------------ */

/* Saves the optimizer's options, step and epoch counters, last lr, every
 * state array (momentum buffers, moments, fp32 master weights) and, with
 * grad_scaling, the loss scale and its growth tracker to `path`; parameters
 * are the caller's and are not saved. Atomic: the file is written next to
 * `path`, fsync'ed and renamed over it, so `path` holds either the old or the
 * new checkpoint; on failure (FOPT_ERROR_IO with the system's reason) the
 * temporary file is removed. Synchronizing. Either backend; the format
 * (versioned, little-endian, CRC-32 checked) is the same for both. */
fopt_status fopt_save(fopt_optimizer *opt, const char *path);

/* Restores a checkpoint written by fopt_save into `opt`, which must have the
 * same algorithm, hyperparameters, schedule and tensor sizes (the backend may
 * differ). The whole file is read and validated first; a file that is not
 * loadable changes nothing and returns FOPT_ERROR_IO, _CHECKPOINT_CORRUPT
 * (bad magic, truncated, checksum), _CHECKPOINT_VERSION or
 * _CHECKPOINT_MISMATCH (message names the field or tensor). Only a failure
 * of the CUDA runtime while the validated state is copied in (FOPT_ERROR_CUDA)
 * can leave it partly loaded. Synchronizing. */
fopt_status fopt_load(fopt_optimizer *opt, const char *path);

/* The current loss scale (options.grad_scaling). Synchronizing.
 * FOPT_ERROR_NOT_SUPPORTED when grad_scaling is off. */
fopt_status fopt_get_scale(fopt_optimizer *opt, double *scale);

/* Where the current loss scale lives (one fp32 value): device memory on the
 * CUDA backend, host memory on the CPU backend. The pointer is fixed for the
 * optimizer's lifetime; a backward pass enqueued on the handle's stream may
 * read it to multiply the loss, with no synchronization. Each fopt_step
 * updates it in stream order. FOPT_ERROR_NOT_SUPPORTED when grad_scaling is off. */
fopt_status fopt_device_loss_scale(fopt_optimizer *opt, const float **scale);

/* The global L2 norm of the unscaled gradients of the most recent step,
 * before clipping: what torch.nn.utils.clip_grad_norm_ returns (inf or NaN
 * when a gradient is, also on a step that grad scaling skipped), summed in
 * double and rounded to fp32 once; 0 before the first step. Needs
 * options.grad_scaling, max_grad_norm > 0 or track_grad_norm (else
 * FOPT_ERROR_NOT_SUPPORTED). Synchronizing. */
fopt_status fopt_get_grad_norm(fopt_optimizer *opt, double *norm);

/* Where that norm lives (one fp32 value), like fopt_device_loss_scale:
 * device memory on the CUDA backend, host memory on the CPU backend, fixed
 * for the optimizer's lifetime and written by each fopt_step in stream
 * order, so work enqueued after a step (or a captured graph) can read it
 * without a host sync. */
fopt_status fopt_device_grad_norm(fopt_optimizer *opt, const float **norm);

#ifdef __cplusplus
}
#endif

#endif /* FUSEDOPT_H */
