/*
 * CUDA backend: the optimizer state, the chunk tables and the counters live
 * in device memory; a step enqueues the fused update kernel and the counter
 * kernel on the handle's stream and returns (no copy, no synchronization,
 * no allocation).
 *
 * With 16-bit parameters the fp32 master weights are one more state kind,
 * initialized at create from the parameters by a conversion kernel.
 *
 * State layout: one allocation per state kind. Tensor i's slice starts at
 * its own offset rounded so every slice is 16-byte aligned (offsets are
 * padded to multiples of 4 floats), so a tensor's vectorization depends only
 * on its own param and grad pointers (aligned to four of their elements),
 * never on the sizes of the tensors before it.
 */
#include <stdint.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "dtype.h"
#include "internal.h"
#include "launchers.h"
#include "schedule_eval.h"

/* Resident blocks per SM the update grid aims for: enough warps to keep
 * loads in flight; more only adds grid-stride overhead. */
#define BLOCKS_PER_SM 4

typedef struct cuda_state {
    float *state[FOPT_MAX_STATE];     /* algorithm state arrays, padded slices */
    float *master;                    /* fp32 master weights (16-bit params), padded slices, else NULL */
    fopt_kernel_tensor *tensors;      /* device tensor table */
    fopt_kernel_chunk *chunks;        /* device chunk table */
    fopt_device_counters *counters;
    fopt_grad_scaler *scaler;         /* gradient scaling / clipping state, NULL when both are off */
    double *partials;                 /* grid per-block sums of squares of the pre-pass */
    size_t *slices;                   /* host: each tensor's padded offset into the state arrays */
    fopt_chunk_table table;
    unsigned grid;
} cuda_state;

static cudaStream_t stream_of(const fopt_optimizer *opt)
{
    return (cudaStream_t)opt->options.stream;
}

/* Records a failed CUDA call and clears the runtime's last error, so a later
 * launch check does not report it again. */
static fopt_status cuda_fail(fopt_optimizer *opt, const char *call, cudaError_t err)
{
    (void)cudaGetLastError();
    fopt_status status = err == cudaErrorMemoryAllocation ? FOPT_ERROR_OUT_OF_MEMORY : FOPT_ERROR_CUDA;
    return fopt_fail(opt, status, "%s failed: %s", call, cudaGetErrorString(err));
}

static size_t padded(size_t numel)
{
    return (numel + 3) & ~(size_t)3;
}

static int aligned(const void *p, size_t bytes)
{
    return (uintptr_t)p % bytes == 0;
}

static void cuda_destroy(fopt_optimizer *opt)
{
    cuda_state *s = opt->backend_state;
    if (!s) {
        return;
    }
    (void)cudaStreamSynchronize(stream_of(opt));
    for (int k = 0; k < FOPT_MAX_STATE; k++) {
        (void)cudaFree(s->state[k]);
    }
    (void)cudaFree(s->master);
    (void)cudaFree(s->tensors);
    (void)cudaFree(s->chunks);
    (void)cudaFree(s->counters);
    (void)cudaFree(s->scaler);
    (void)cudaFree(s->partials);
    (void)cudaGetLastError();
    free(s->slices);
    free(s);
    opt->backend_state = NULL;
}

/* State array `array` (< fopt_state_arrays): the algorithm's, then the master weights. */
static float **state_array(const fopt_optimizer *opt, cuda_state *s, int array)
{
    return array < fopt_algorithm_state_arrays(&opt->options) ? &s->state[array] : &s->master;
}

/* Allocates the zeroed state arrays (nothing for an algorithm without state
 * or when every tensor is empty); the master weights are set later. */
static fopt_status alloc_state(fopt_optimizer *opt, cuda_state *s, size_t padded_total)
{
    const size_t bytes = padded_total * sizeof(float);
    for (int k = 0; k < fopt_state_arrays(&opt->options) && bytes > 0; k++) {
        float **array = state_array(opt, s, k);
        cudaError_t err = cudaMalloc((void **)array, bytes);
        if (err != cudaSuccess) {
            return cuda_fail(opt, "cudaMalloc (optimizer state)", err);
        }
        if ((err = cudaMemsetAsync(*array, 0, bytes, stream_of(opt))) != cudaSuccess) {
            return cuda_fail(opt, "cudaMemsetAsync (optimizer state)", err);
        }
    }
    return FOPT_SUCCESS;
}

/* Fills the host tables: one entry per tensor, one per chunk. */
static void fill_tables(const fopt_optimizer *opt, const cuda_state *s, fopt_kernel_tensor *tensors,
                        fopt_kernel_chunk *chunks)
{
    const size_t param_size = fopt_dtype_size(opt->options.param_dtype);
    const size_t grad_size = fopt_dtype_size(opt->options.grad_dtype);
    size_t c = 0;
    for (size_t i = 0; i < opt->num_tensors; i++) {
        const fopt_tensor *t = &opt->tensors[i];
        const size_t slice = s->slices[i];
        fopt_kernel_tensor *kt = &tensors[i];
        kt->param = t->param;
        kt->grad = t->grad;
        kt->numel = (int64_t)t->numel;
        kt->offset = (int64_t)opt->offsets[i];
        kt->weight_decay = fopt_tensor_weight_decay(&opt->options, i);
        kt->base_lr = fopt_tensor_base_lr(&opt->options, i);
        kt->vec_ok = aligned(t->param, 4 * param_size) && aligned(t->grad, 4 * grad_size);
        kt->reserved = 0;
        for (int k = 0; k < FOPT_MAX_STATE; k++) {
            kt->state[k] = s->state[k] ? s->state[k] + slice : NULL;
        }
        kt->master = s->master ? s->master + slice : NULL;
        for (size_t start = 0; start < t->numel; start += FOPT_CHUNK_ELEMS, c++) {
            size_t left = t->numel - start;
            chunks[c].start = (int64_t)start;
            chunks[c].tensor = (int32_t)i;
            chunks[c].length = (int32_t)(left < FOPT_CHUNK_ELEMS ? left : FOPT_CHUNK_ELEMS);
        }
    }
}

/* cudaMalloc + cudaMemcpyAsync of `bytes` (> 0) from host memory. */
static fopt_status upload(fopt_optimizer *opt, void **dst, const void *src, size_t bytes)
{
    cudaError_t err = cudaMalloc(dst, bytes);
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaMalloc (chunk tables)", err);
    }
    err = cudaMemcpyAsync(*dst, src, bytes, cudaMemcpyHostToDevice, stream_of(opt));
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaMemcpyAsync (chunk tables)", err);
    }
    return FOPT_SUCCESS;
}

/* Builds and uploads the tensor and chunk tables, sets the master weights
 * (16-bit parameters), then waits for the stream so the host copies can be
 * freed. */
static fopt_status upload_tables(fopt_optimizer *opt, cuda_state *s, size_t num_chunks)
{
    fopt_status status = FOPT_SUCCESS;
    fopt_kernel_tensor *tensors = calloc(opt->num_tensors, sizeof *tensors);
    fopt_kernel_chunk *chunks = calloc(num_chunks ? num_chunks : 1, sizeof *chunks);
    if (!tensors || !chunks) {
        status = fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for the chunk tables");
    } else {
        fill_tables(opt, s, tensors, chunks);
        status = upload(opt, (void **)&s->tensors, tensors, opt->num_tensors * sizeof *tensors);
        if (status == FOPT_SUCCESS && num_chunks > 0) {
            status = upload(opt, (void **)&s->chunks, chunks, num_chunks * sizeof *chunks);
        }
        s->table.tensors = s->tensors;
        s->table.chunks = s->chunks;
        s->table.num_chunks = (int64_t)num_chunks;
        if (status == FOPT_SUCCESS && s->master) {
            cudaError_t err = fopt_launch_init_master(s->table, opt->options.param_dtype, s->grid, stream_of(opt));
            if (err != cudaSuccess) {
                status = cuda_fail(opt, "cudaLaunchKernel (fopt_init_master_kernel)", err);
            }
        }
        const double initial = fopt_initial_state_value(&opt->options);
        if (status == FOPT_SUCCESS && initial != 0.0) {
            cudaError_t err = fopt_launch_init_state(s->table, (float)initial, s->grid, stream_of(opt));
            if (err != cudaSuccess) {
                status = cuda_fail(opt, "cudaLaunchKernel (fopt_init_state_kernel)", err);
            }
        }
        cudaError_t err = cudaStreamSynchronize(stream_of(opt));
        if (status == FOPT_SUCCESS && err != cudaSuccess) {
            status = cuda_fail(opt, "cudaStreamSynchronize (create)", err);
        }
    }
    free(tensors);
    free(chunks);
    return status;
}

/* A few blocks per SM, at most one per chunk, at least one (block 0 records
 * the lr even when every tensor is empty). */
static fopt_status choose_grid(fopt_optimizer *opt, cuda_state *s, size_t num_chunks)
{
    int device = 0;
    int sms = 0;
    cudaError_t err = cudaGetDevice(&device);
    if (err == cudaSuccess) {
        err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    }
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaDeviceGetAttribute (multiprocessor count)", err);
    }
    size_t grid = (size_t)(sms > 0 ? sms : 1) * BLOCKS_PER_SM;
    if (grid > num_chunks) {
        grid = num_chunks > 0 ? num_chunks : 1;
    }
    s->grid = (unsigned)grid;
    return FOPT_SUCCESS;
}

static fopt_status setup(fopt_optimizer *opt, cuda_state *s)
{
    if (opt->num_tensors > INT32_MAX) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_SIZE, "the CUDA backend supports at most %d tensors, got %zu",
                         INT32_MAX, opt->num_tensors);
    }
    s->slices = malloc(opt->num_tensors * sizeof *s->slices);
    if (!s->slices) {
        return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for the state layout");
    }
    size_t num_chunks = 0;
    size_t padded_total = 0;
    for (size_t i = 0; i < opt->num_tensors; i++) {
        num_chunks += (opt->tensors[i].numel + FOPT_CHUNK_ELEMS - 1) / FOPT_CHUNK_ELEMS;
        s->slices[i] = padded_total;
        padded_total += padded(opt->tensors[i].numel);
    }
    fopt_status status;
    if ((status = choose_grid(opt, s, num_chunks)) != FOPT_SUCCESS ||
        (status = alloc_state(opt, s, padded_total)) != FOPT_SUCCESS) {
        return status;
    }
    cudaError_t err = cudaMalloc((void **)&s->counters, sizeof *s->counters);
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaMalloc (counters)", err);
    }
    const double lr0 = fopt_schedule_eval(&opt->options.schedule, 0);
    if ((err = fopt_launch_reset_counters(s->counters, lr0, stream_of(opt))) != cudaSuccess) {
        return cuda_fail(opt, "cudaLaunchKernel (fopt_reset_counters_kernel)", err);
    }
    /* upload_tables waits for the stream, so `initial` outlives its copy. */
    const fopt_grad_scaler initial = fopt_scaler_initial(&opt->options);
    if (fopt_scaler_needed(&opt->options)) {
        if ((err = cudaMalloc((void **)&s->scaler, sizeof *s->scaler)) != cudaSuccess ||
            (err = cudaMalloc((void **)&s->partials, s->grid * sizeof *s->partials)) != cudaSuccess) {
            return cuda_fail(opt, "cudaMalloc (gradient scaler)", err);
        }
        err = cudaMemcpyAsync(s->scaler, &initial, sizeof initial, cudaMemcpyHostToDevice, stream_of(opt));
        if (err != cudaSuccess) {
            return cuda_fail(opt, "cudaMemcpyAsync (gradient scaler)", err);
        }
        if (opt->options.grad_scaling) {
            opt->loss_scale = &s->scaler->scale;
        }
        opt->grad_norm = &s->scaler->grad_norm;
    }
    return upload_tables(opt, s, num_chunks);
}

static fopt_status cuda_create(fopt_optimizer *opt)
{
    cuda_state *s = calloc(1, sizeof *s);
    if (!s) {
        return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for the CUDA backend state");
    }
    opt->backend_state = s;
    fopt_status status = setup(opt, s);
    if (status != FOPT_SUCCESS) {
        cuda_destroy(opt);
    }
    return status;
}

/* With scaling or clipping: pre-pass, combine, update, counters (4 launches);
 * else update and counters. */
static fopt_status cuda_step(fopt_optimizer *opt)
{
    cuda_state *s = opt->backend_state;
    const fopt_algorithm algorithm = opt->options.algorithm;
    const fopt_scaler_args args = fopt_make_scaler_args(&opt->options);
    cudaError_t err;
    if (s->scaler &&
        (err = fopt_launch_grad_stats(s->table, opt->options.grad_dtype, s->partials, s->grid, s->scaler, args,
                                      stream_of(opt))) != cudaSuccess) {
        return cuda_fail(opt, "cudaLaunchKernel (fopt_grad_stats_kernel)", err);
    }
    const char *kernel = "cudaLaunchKernel (fopt_adam_kernel)";
    if (algorithm == FOPT_SGD) {
        kernel = "cudaLaunchKernel (fopt_sgd_kernel)";
        err = fopt_launch_sgd(&opt->options, s->table, s->counters, s->scaler, s->grid, stream_of(opt));
    } else if (algorithm == FOPT_ADAGRAD) {
        kernel = "cudaLaunchKernel (fopt_adagrad_kernel)";
        err = fopt_launch_adagrad(&opt->options, s->table, s->counters, s->scaler, s->grid, stream_of(opt));
    } else if (algorithm == FOPT_RMSPROP) {
        kernel = "cudaLaunchKernel (fopt_rmsprop_kernel)";
        err = fopt_launch_rmsprop(&opt->options, s->table, s->counters, s->scaler, s->grid, stream_of(opt));
    } else {
        err = fopt_launch_adam(&opt->options, s->table, s->counters, s->scaler, s->grid, stream_of(opt));
    }
    if (err != cudaSuccess) {
        return cuda_fail(opt, kernel, err);
    }
    err = fopt_launch_advance_counters(s->counters, s->scaler, args, opt->options.steps_per_epoch, stream_of(opt));
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaLaunchKernel (fopt_advance_counters_kernel)", err);
    }
    return FOPT_SUCCESS;
}

static fopt_status cuda_add_epochs(fopt_optimizer *opt, int64_t delta)
{
    cuda_state *s = opt->backend_state;
    cudaError_t err = fopt_launch_add_epochs(s->counters, delta, stream_of(opt));
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaLaunchKernel (fopt_add_epochs_kernel)", err);
    }
    return FOPT_SUCCESS;
}

static fopt_status cuda_set_epoch(fopt_optimizer *opt, int64_t epoch)
{
    cuda_state *s = opt->backend_state;
    cudaError_t err = fopt_launch_set_epoch(s->counters, epoch, stream_of(opt));
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaLaunchKernel (fopt_set_epoch_kernel)", err);
    }
    return FOPT_SUCCESS;
}

/* Synchronizing: copies the counters back and waits for the stream. */
static fopt_status cuda_read_counters(fopt_optimizer *opt, int64_t *step, int64_t *epoch, double *last_lr)
{
    cuda_state *s = opt->backend_state;
    fopt_device_counters host;
    cudaError_t err = cudaMemcpyAsync(&host, s->counters, sizeof host, cudaMemcpyDeviceToHost, stream_of(opt));
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaMemcpyAsync (counters)", err);
    }
    if ((err = cudaStreamSynchronize(stream_of(opt))) != cudaSuccess) {
        return cuda_fail(opt, "cudaStreamSynchronize (counters)", err);
    }
    *step = host.step;
    *epoch = host.epoch;
    *last_lr = host.last_lr;
    return FOPT_SUCCESS;
}

/* Synchronizing copy of one tensor's slice of a state array; slices start at
 * the padded offsets of the state layout (see the top of this file). */
static fopt_status cuda_copy_state(fopt_optimizer *opt, int array, size_t tensor, float *host, int to_host)
{
    cuda_state *s = opt->backend_state;
    const size_t n = opt->tensors[tensor].numel;
    if (n == 0) {
        return FOPT_SUCCESS;
    }
    float *dev = *state_array(opt, s, array) + s->slices[tensor];
    cudaError_t err = to_host ? cudaMemcpyAsync(host, dev, n * sizeof(float), cudaMemcpyDeviceToHost, stream_of(opt))
                              : cudaMemcpyAsync(dev, host, n * sizeof(float), cudaMemcpyHostToDevice, stream_of(opt));
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaMemcpyAsync (optimizer state)", err);
    }
    if ((err = cudaStreamSynchronize(stream_of(opt))) != cudaSuccess) {
        return cuda_fail(opt, "cudaStreamSynchronize (optimizer state)", err);
    }
    return FOPT_SUCCESS;
}

/* Synchronizing: uploads the counters (ordered after earlier work on the stream). */
static fopt_status cuda_set_counters(fopt_optimizer *opt, int64_t step, int64_t epoch, double last_lr)
{
    cuda_state *s = opt->backend_state;
    const fopt_device_counters host = {step, epoch, last_lr};
    cudaError_t err = cudaMemcpyAsync(s->counters, &host, sizeof host, cudaMemcpyHostToDevice, stream_of(opt));
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaMemcpyAsync (counters)", err);
    }
    if ((err = cudaStreamSynchronize(stream_of(opt))) != cudaSuccess) {
        return cuda_fail(opt, "cudaStreamSynchronize (counters)", err);
    }
    return FOPT_SUCCESS;
}

/* Synchronizing copy of the whole scaler state between device and host. */
static fopt_status copy_scaler(fopt_optimizer *opt, fopt_grad_scaler *host, int to_host)
{
    cuda_state *s = opt->backend_state;
    cudaError_t err = to_host ? cudaMemcpyAsync(host, s->scaler, sizeof *host, cudaMemcpyDeviceToHost, stream_of(opt))
                              : cudaMemcpyAsync(s->scaler, host, sizeof *host, cudaMemcpyHostToDevice, stream_of(opt));
    if (err != cudaSuccess) {
        return cuda_fail(opt, "cudaMemcpyAsync (gradient scaler)", err);
    }
    if ((err = cudaStreamSynchronize(stream_of(opt))) != cudaSuccess) {
        return cuda_fail(opt, "cudaStreamSynchronize (gradient scaler)", err);
    }
    return FOPT_SUCCESS;
}

static fopt_status cuda_read_scaler(fopt_optimizer *opt, double *scale, int64_t *growth_tracker)
{
    fopt_grad_scaler host;
    fopt_status status = copy_scaler(opt, &host, 1);
    if (status == FOPT_SUCCESS) {
        *scale = host.scale;
        *growth_tracker = host.growth_tracker;
    }
    return status;
}

static fopt_status cuda_write_scaler(fopt_optimizer *opt, double scale, int64_t growth_tracker)
{
    fopt_grad_scaler host = fopt_scaler_with_scale((float)scale, growth_tracker);
    return copy_scaler(opt, &host, 0);
}

static fopt_status cuda_read_grad_norm(fopt_optimizer *opt, double *norm)
{
    fopt_grad_scaler host;
    fopt_status status = copy_scaler(opt, &host, 1);
    if (status == FOPT_SUCCESS) {
        *norm = host.grad_norm;
    }
    return status;
}

const fopt_backend_ops fopt_cuda_backend_ops = {
    cuda_create,     cuda_destroy,     cuda_step, cuda_add_epochs, cuda_set_epoch, cuda_read_counters,
    cuda_copy_state, cuda_set_counters,
    cuda_read_scaler, cuda_write_scaler, cuda_read_grad_norm,
};

int fopt_cuda_usable(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return count > 0;
}

static int is_device_pointer(const void *p)
{
    struct cudaPointerAttributes attr;
    if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
}

/* NULL pointers (allowed for empty tensors) are not looked at; when no
 * pointer is left the answer is 0 (host). */
int fopt_cuda_tensors_on_device(const fopt_tensor *tensors, size_t num_tensors)
{
    size_t device = 0;
    size_t host = 0;
    for (size_t i = 0; i < num_tensors; i++) {
        const void *pointers[2] = {tensors[i].param, tensors[i].grad};
        for (int j = 0; j < 2; j++) {
            if (pointers[j]) {
                const int on_device = is_device_pointer(pointers[j]);
                device += (size_t)on_device;
                host += (size_t)!on_device;
            }
        }
    }
    if (device > 0 && host > 0) {
        return -1;
    }
    return device > 0;
}
