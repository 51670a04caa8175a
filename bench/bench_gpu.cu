/*
 * GPU benchmark (compiled only with the CUDA backend; needs cuBLAS).
 *
 * Per workload and algorithm, on one stream, each step timed with a pair of
 * cudaEvents after an L2 flush (a 256 MiB cudaMemsetAsync, outside the
 * events), median of the steps:
 *   copy        float4 copy kernel over the workload's total size (8 bytes/param)
 *   bandwidth   the optimizer's access pattern with a trivial op, one kernel
 *   fused       fopt_step on one handle over all tensors (schedule on the device)
 *   fused+sync  fopt_step, then fopt_get_last_lr: the host round trip a
 *               host-side scheduler needs every step
 *   graph       fopt_step captured once in a CUDA graph, cudaGraphLaunch per step
 *   per-tensor  one handle per tensor, fopt_step on each
 *   fused-bf16  fopt_step over bf16 copies of the params and grads (fp32 master
 *               weights and state; AdamW and SGD with momentum), run last: the
 *               copies live in the copy kernel's destination buffer
 *   unfused     lr on the host each step, then per tensor cuBLAS sscal/saxpy and
 *               small elementwise kernels, one pass per operation (as torch.optim's
 *               single-tensor loop does)
 * Tensors are slices of one allocation per array kind (256-byte aligned), so
 * the copy and bandwidth kernels run over exactly the same memory.
 */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "bench.h"

namespace {

constexpr int kThreads = 256;
constexpr size_t kFlushBytes = (size_t)256 << 20; /* > 5x the 50 MB L2 of H100/H200 */
constexpr size_t kSweepTop = 250000000;

unsigned grid_for(size_t n)
{
    size_t blocks = (n + kThreads - 1) / kThreads;
    return (unsigned)std::min<size_t>(std::max<size_t>(blocks, 1), 132 * 16);
}

/* ---- kernels ---------------------------------------------------------------- */

/* dst[i] = src[i] rounded to bf16. */
__global__ void to_bf16_kernel(__nv_bfloat16 *dst, const float *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        dst[i] = __float2bfloat16_rn(src[i]);
    }
}

__global__ void fill_kernel(float *x, size_t n, uint32_t seed, float scale)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        x[i] = scale * ((float)(h >> 8) / 16777216.0f - 0.5f);
    }
}

__global__ void copy_kernel(float4 *dst, const float4 *src, size_t n4)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n4; i += (size_t)gridDim.x * blockDim.x) {
        dst[i] = src[i];
    }
}

/* Reads p, g and nstate state arrays, writes p and the state arrays (float4). */
__global__ void pattern_kernel(float4 *p, const float4 *g, float4 *s0, float4 *s1, float4 *s2, int nstate, size_t n4)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n4; i += (size_t)gridDim.x * blockDim.x) {
        float4 gi = g[i], pi = p[i];
        pi.x += 1e-7f * gi.x; pi.y += 1e-7f * gi.y; pi.z += 1e-7f * gi.z; pi.w += 1e-7f * gi.w;
        p[i] = pi;
#pragma unroll
        for (int k = 0; k < 3; k++) {
            float4 *s = k == 0 ? s0 : k == 1 ? s1 : s2;
            if (k < nstate) {
                float4 v = s[i];
                v.x = 0.5f * v.x + gi.x; v.y = 0.5f * v.y + gi.y; v.z = 0.5f * v.z + gi.z; v.w = 0.5f * v.w + gi.w;
                s[i] = v;
            }
        }
    }
}

/* The elementwise passes of the unfused step that cuBLAS has no routine for. */
__global__ void addcmul_kernel(float *v, const float *g, float a, size_t n) /* v += a * g * g */
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        v[i] += a * g[i] * g[i];
    }
}

__global__ void maximum_kernel(float *y, const float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        y[i] = fmaxf(y[i], x[i]);
    }
}

__global__ void sqrt_kernel(float *out, const float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        out[i] = sqrtf(x[i]);
    }
}

__global__ void div_add_kernel(float *x, float divisor, float addend, int add, size_t n) /* x /= d or x += a */
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        x[i] = add ? x[i] + addend : x[i] / divisor;
    }
}

__global__ void addcdiv_kernel(float *p, float a, const float *num, const float *den, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        p[i] += a * num[i] / den[i];
    }
}

/* ---- state of one workload on the device ------------------------------------- */

struct Gpu {
    cudaStream_t stream = nullptr;
    cublasHandle_t blas = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
    void *flush = nullptr;
};

struct Arrays {
    const bench_workload *w = nullptr;
    bench_algo algo = BENCH_ADAMW;
    size_t padded = 0;            /* floats per array kind: slices rounded up to 64 floats */
    std::vector<size_t> offset;   /* of each tensor in the arrays */
    float *p = nullptr, *g = nullptr, *state[3] = {nullptr, nullptr, nullptr}, *tmp = nullptr, *copy_dst = nullptr;
};

bool ok(cudaError_t e, bench_row *r, const char *what)
{
    if (e != cudaSuccess && r) {
        snprintf(r->note, sizeof r->note, "%s: %s", what, cudaGetErrorString(e));
    }
    return e == cudaSuccess;
}

void free_arrays(Arrays &a)
{
    cudaFree(a.p);
    cudaFree(a.g);
    for (float *s : a.state) {
        cudaFree(s);
    }
    cudaFree(a.tmp);
    cudaFree(a.copy_dst);
    a = Arrays();
}

cudaError_t make_arrays(Arrays &a, const bench_workload *w, bench_algo algo, cudaStream_t stream)
{
    a.w = w;
    a.algo = algo;
    size_t off = 0, largest = 0;
    for (size_t t = 0; t < w->count; t++) {
        a.offset.push_back(off);
        off += (w->sizes[t] + 63) / 64 * 64;
        largest = std::max(largest, w->sizes[t]);
    }
    a.padded = std::max<size_t>(off, 64);
    const size_t bytes = a.padded * sizeof(float);
    cudaError_t e;
    if ((e = cudaMalloc(&a.p, bytes)) || (e = cudaMalloc(&a.g, bytes)) || (e = cudaMalloc(&a.copy_dst, bytes)) ||
        (e = cudaMalloc(&a.tmp, std::max<size_t>(largest, 1) * sizeof(float)))) {
        return e;
    }
    for (int s = 0; s < bench_algo_state(algo); s++) {
        if ((e = cudaMalloc(&a.state[s], bytes)) || (e = cudaMemsetAsync(a.state[s], 0, bytes, stream))) {
            return e;
        }
    }
    fill_kernel<<<grid_for(a.padded), kThreads, 0, stream>>>(a.p, a.padded, 1u, 1.0f);
    fill_kernel<<<grid_for(a.padded), kThreads, 0, stream>>>(a.g, a.padded, 2u, 0.01f);
    if ((e = cudaGetLastError())) {
        return e;
    }
    return cudaStreamSynchronize(stream);
}

/* ---- timing: flush L2, events around one step ---------------------------------- */

struct Step {
    Gpu *gpu;
    bench_row *row;
    cudaError_t (*work)(Step *);
    /* what the work needs */
    Arrays *a;
    std::vector<fopt_optimizer *> opts;
    cudaGraphExec_t graph = nullptr;
    fopt_options options;
    int64_t step = 0, epoch = 0;

    Step(Gpu *g, bench_row *r, cudaError_t (*w)(Step *), Arrays *arrays)
        : gpu(g), row(r), work(w), a(arrays), options(fopt_default_options(FOPT_ADAMW))
    {
    }
};

double timed_step(void *arg)
{
    Step *s = static_cast<Step *>(arg);
    Gpu *g = s->gpu;
    float ms = 0.0f;
    if (!ok(cudaMemsetAsync(g->flush, s->step & 1, kFlushBytes, g->stream), s->row, "flush") ||
        !ok(cudaEventRecord(g->start, g->stream), s->row, "event") || !ok(s->work(s), s->row, "step") ||
        !ok(cudaEventRecord(g->stop, g->stream), s->row, "event") ||
        !ok(cudaEventSynchronize(g->stop), s->row, "sync") ||
        !ok(cudaEventElapsedTime(&ms, g->start, g->stop), s->row, "elapsed")) {
        return -1.0;
    }
    return 1e-3 * ms;
}

cudaError_t fopt_error(Step *s, fopt_status st, fopt_optimizer *opt)
{
    if (st != FOPT_SUCCESS) {
        snprintf(s->row->note, sizeof s->row->note, "%s", fopt_last_error(opt));
        return cudaErrorUnknown;
    }
    return cudaSuccess;
}

cudaError_t work_copy(Step *s)
{
    size_t n4 = s->a->padded / 4;
    copy_kernel<<<grid_for(n4), kThreads, 0, s->gpu->stream>>>((float4 *)s->a->copy_dst, (const float4 *)s->a->g, n4);
    return cudaGetLastError();
}

cudaError_t work_pattern(Step *s)
{
    Arrays *a = s->a;
    size_t n4 = a->padded / 4;
    pattern_kernel<<<grid_for(n4), kThreads, 0, s->gpu->stream>>>((float4 *)a->p, (const float4 *)a->g,
                                                                   (float4 *)a->state[0], (float4 *)a->state[1],
                                                                   (float4 *)a->state[2], bench_algo_state(a->algo), n4);
    return cudaGetLastError();
}

cudaError_t work_fused(Step *s)
{
    for (fopt_optimizer *opt : s->opts) {
        if (cudaError_t e = fopt_error(s, fopt_step(opt), opt)) {
            return e;
        }
    }
    return cudaSuccess;
}

cudaError_t work_fused_sync(Step *s)
{
    double lr = 0.0;
    cudaError_t e = fopt_error(s, fopt_step(s->opts[0]), s->opts[0]);
    return e ? e : fopt_error(s, fopt_get_last_lr(s->opts[0], &lr), s->opts[0]);
}

cudaError_t work_graph(Step *s)
{
    return cudaGraphLaunch(s->graph, s->gpu->stream);
}

cudaError_t work_unfused(Step *s)
{
    Arrays *a = s->a;
    const fopt_options &o = s->options;
    double lr = 0.0;
    if (fopt_schedule_lr(&o.schedule, s->epoch, &lr) != FOPT_SUCCESS) {
        return cudaErrorInvalidValue;
    }
    const int64_t k = ++s->step;
    s->epoch++;
    cublasHandle_t h = s->gpu->blas;
    cudaStream_t st = s->gpu->stream;
    for (size_t t = 0; t < a->w->count; t++) {
        const size_t n = a->w->sizes[t];
        const int ni = (int)n;
        const unsigned grid = grid_for(n);
        float *p = a->p + a->offset[t];
        const float *g = a->g + a->offset[t];
        float *m = a->state[0] ? a->state[0] + a->offset[t] : nullptr;
        float *v = a->state[1] ? a->state[1] + a->offset[t] : nullptr;
        if (a->algo == BENCH_SGD || a->algo == BENCH_SGD_MOMENTUM) {
            const float *dir = g;
            if (m) {
                if (k == 1) {
                    cudaMemcpyAsync(m, g, n * sizeof(float), cudaMemcpyDeviceToDevice, st);
                } else {
                    float mom = (float)o.momentum, damp = (float)(1.0 - o.dampening);
                    cublasSscal(h, ni, &mom, m, 1);
                    cublasSaxpy(h, ni, &damp, g, 1, m, 1);
                }
                dir = m;
            }
            float alpha = (float)-lr;
            if (cublasSaxpy(h, ni, &alpha, dir, 1, p, 1) != CUBLAS_STATUS_SUCCESS) {
                return cudaErrorUnknown;
            }
            continue;
        }
        const double bias1 = 1.0 - std::pow(o.beta1, (double)k);
        const double bias2_sqrt = std::sqrt(1.0 - std::pow(o.beta2, (double)k));
        float decay = (float)(1.0 - lr * o.weight_decay), b1 = (float)o.beta1, omb1 = (float)(1.0 - o.beta1);
        float b2 = (float)o.beta2;
        if (o.algorithm == FOPT_ADAMW) {
            cublasSscal(h, ni, &decay, p, 1);
        }
        cublasSscal(h, ni, &b1, m, 1);
        cublasSaxpy(h, ni, &omb1, g, 1, m, 1);
        cublasSscal(h, ni, &b2, v, 1);
        addcmul_kernel<<<grid, kThreads, 0, st>>>(v, g, (float)(1.0 - o.beta2), n);
        const float *second = v;
        if (o.amsgrad) {
            float *vmax = a->state[2] + a->offset[t];
            maximum_kernel<<<grid, kThreads, 0, st>>>(vmax, v, n);
            second = vmax;
        }
        sqrt_kernel<<<grid, kThreads, 0, st>>>(a->tmp, second, n);
        div_add_kernel<<<grid, kThreads, 0, st>>>(a->tmp, (float)bias2_sqrt, 0.0f, 0, n);
        div_add_kernel<<<grid, kThreads, 0, st>>>(a->tmp, 1.0f, (float)o.eps, 1, n);
        addcdiv_kernel<<<grid, kThreads, 0, st>>>(p, (float)(-lr / bias1), m, a->tmp, n);
    }
    return cudaGetLastError();
}

/* ---- one workload --------------------------------------------------------------- */

bench_row *add_row(bench_table *t, const Arrays &a, const char *variant, int bytes)
{
    return bench_add(t, "gpu", a.w->name, bench_algo_name(a.algo), variant, 0, a.w->total, a.w->count, bytes);
}

void measure(const bench_config *cfg, Step &s)
{
    int steps = 0;
    double sec = bench_time(cfg, timed_step, &s, &steps);
    bench_set_time(s.row, sec, steps);
    if (sec <= 0.0 && !s.row->note[0]) {
        snprintf(s.row->note, sizeof s.row->note, "step failed");
    }
}

/* bf16: the tensors are bf16 copies of p and g in the two halves of copy_dst;
 * groups: parameter groups (bench_set_groups). */
bool create_handles(Step &s, const Arrays &a, bool per_tensor, bool bf16 = false, bool groups = false)
{
    fopt_options o = bench_algo_options(a.algo, FOPT_BACKEND_CUDA);
    o.stream = s.gpu->stream;
    double *lists = nullptr;
    if (groups && bench_set_groups(&o, a.w->count, &lists) != 0) {
        snprintf(s.row->note, sizeof s.row->note, "out of memory");
        return false;
    }
    /* fopt_create copies the lists: free them when this function returns. */
    std::unique_ptr<double, decltype(&free)> lists_owner(lists, &free);
    __nv_bfloat16 *p16 = reinterpret_cast<__nv_bfloat16 *>(a.copy_dst);
    __nv_bfloat16 *g16 = p16 + a.padded;
    if (bf16) {
        o.param_dtype = FOPT_BFLOAT16;
        o.grad_dtype = FOPT_BFLOAT16;
        to_bf16_kernel<<<grid_for(a.padded), kThreads, 0, s.gpu->stream>>>(p16, a.p, a.padded);
        to_bf16_kernel<<<grid_for(a.padded), kThreads, 0, s.gpu->stream>>>(g16, a.g, a.padded);
        if (!ok(cudaGetLastError(), s.row, "bf16 copies") || !ok(cudaStreamSynchronize(s.gpu->stream), s.row, "sync")) {
            return false;
        }
    }
    std::vector<fopt_tensor> ts(a.w->count);
    for (size_t t = 0; t < a.w->count; t++) {
        ts[t] = bf16 ? fopt_tensor{p16 + a.offset[t], g16 + a.offset[t], a.w->sizes[t]}
                     : fopt_tensor{a.p + a.offset[t], a.g + a.offset[t], a.w->sizes[t]};
    }
    size_t count = per_tensor ? ts.size() : 1;
    for (size_t i = 0; i < count; i++) {
        fopt_optimizer *opt = nullptr;
        if (fopt_create(&opt, &o, per_tensor ? &ts[i] : ts.data(), per_tensor ? 1 : ts.size()) != FOPT_SUCCESS) {
            snprintf(s.row->note, sizeof s.row->note, "fopt_create: %s", fopt_last_error(nullptr));
            return false;
        }
        s.opts.push_back(opt);
    }
    return true;
}

void destroy_handles(Step &s)
{
    for (fopt_optimizer *opt : s.opts) {
        fopt_destroy(opt);
    }
    s.opts.clear();
    if (s.graph) {
        cudaGraphExecDestroy(s.graph);
        s.graph = nullptr;
    }
}

/* Captures one fopt_step on the handle's stream. */
bool capture(Step &s)
{
    cudaGraph_t graph = nullptr;
    if (!ok(cudaStreamBeginCapture(s.gpu->stream, cudaStreamCaptureModeGlobal), s.row, "begin capture")) {
        return false;
    }
    fopt_status st = fopt_step(s.opts[0]);
    cudaError_t e = cudaStreamEndCapture(s.gpu->stream, &graph);
    if (st != FOPT_SUCCESS) {
        snprintf(s.row->note, sizeof s.row->note, "fopt_step in capture: %s", fopt_last_error(s.opts[0]));
        cudaGraphDestroy(graph);
        return false;
    }
    bool good = ok(e, s.row, "end capture") && ok(cudaGraphInstantiate(&s.graph, graph, 0), s.row, "instantiate");
    cudaGraphDestroy(graph);
    return good;
}

void run_library_variant(const bench_config *cfg, bench_table *t, Gpu &gpu, Arrays &a, const char *variant)
{
    const bool per_tensor = !strcmp(variant, "per-tensor");
    const bool bf16 = !strcmp(variant, "fused-bf16");
    const bool groups = !strcmp(variant, "fused-groups");
    Step s(&gpu, add_row(t, a, variant, bench_algo_bytes(a.algo)), nullptr, &a);
    if (!s.row) {
        return;
    }
    s.work = !strcmp(variant, "fused+sync") ? work_fused_sync : !strcmp(variant, "graph") ? work_graph : work_fused;
    if (create_handles(s, a, per_tensor, bf16, groups) && (s.work != work_graph || capture(s))) {
        measure(cfg, s);
    }
    destroy_handles(s);
}

void run_workload(const bench_config *cfg, bench_table *t, Gpu &gpu, const bench_workload *w, bench_algo algo)
{
    Arrays a;
    bench_row *first = nullptr;
    cudaError_t e = make_arrays(a, w, algo, gpu.stream);
    if (e != cudaSuccess) {
        first = bench_add(t, "gpu", w->name, bench_algo_name(algo), "setup", 0, w->total, w->count, 0);
        ok(e, first, "allocation");
        free_arrays(a);
        return;
    }
    Step copy(&gpu, add_row(t, a, "copy", 8), work_copy, &a);
    if (copy.row) {
        measure(cfg, copy);
    }
    Step pattern(&gpu, add_row(t, a, "bandwidth", bench_algo_bytes(algo)), work_pattern, &a);
    if (pattern.row) {
        measure(cfg, pattern);
    }
    run_library_variant(cfg, t, gpu, a, "fused");
    run_library_variant(cfg, t, gpu, a, "fused+sync");
    run_library_variant(cfg, t, gpu, a, "graph");
    if (w->count > 1) {
        run_library_variant(cfg, t, gpu, a, "per-tensor");
    }
    Step unfused(&gpu, add_row(t, a, "unfused", bench_algo_bytes(algo)), work_unfused, &a);
    unfused.options = bench_algo_options(algo, FOPT_BACKEND_CUDA);
    if (unfused.row) {
        measure(cfg, unfused);
    }
    if (algo == BENCH_ADAMW || algo == BENCH_SGD_MOMENTUM) {
        run_library_variant(cfg, t, gpu, a, "fused-bf16");
    }
    if (algo == BENCH_ADAMW && w->count > 1) {
        run_library_variant(cfg, t, gpu, a, "fused-groups");
    }
    free_arrays(a);
}

} // namespace

extern "C" int bench_run_gpu(const bench_config *cfg_in, bench_table *t)
{
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        fprintf(stderr, "fopt_bench: no CUDA device, GPU benchmark skipped\n");
        return -1;
    }
    cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    fprintf(stderr, "fopt_bench: gpu %s, %d SMs, L2 %d MB, %.0f GB memory\n", prop.name, prop.multiProcessorCount,
            prop.l2CacheSize >> 20, (double)prop.totalGlobalMem / 1e9);
    /* GPU steps are short: a fifth of the CPU's timing budget, at least 10 steps. */
    bench_config cfg = *cfg_in;
    cfg.min_time = cfg_in->min_time * 0.2;
    cfg.min_steps = std::max(cfg_in->min_steps, 10);
    cfg.max_steps = std::min(cfg_in->max_steps, 500);
    Gpu gpu;
    if (cudaStreamCreateWithFlags(&gpu.stream, cudaStreamNonBlocking) != cudaSuccess ||
        cudaEventCreate(&gpu.start) != cudaSuccess || cudaEventCreate(&gpu.stop) != cudaSuccess ||
        cudaMalloc(&gpu.flush, kFlushBytes) != cudaSuccess || cublasCreate(&gpu.blas) != CUBLAS_STATUS_SUCCESS ||
        cublasSetStream(gpu.blas, gpu.stream) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "fopt_bench: GPU setup failed: %s\n", cudaGetErrorString(cudaGetLastError()));
        return -1;
    }
    bench_workload w;
    const bench_algo all[] = {BENCH_ADAMW, BENCH_ADAM_AMSGRAD, BENCH_SGD_MOMENTUM, BENCH_SGD};
    const size_t nalgos = cfg.quick ? 1 : 4;
    for (int which = 0; which < 3; which++) {
        int rc = which == 0 ? bench_workload_flat(&w, "flat-64M", (size_t)64 << 20)
                 : which == 1 ? bench_workload_gpt2(&w)
                              : bench_workload_many(&w, 2000, 4096);
        for (size_t i = 0; rc == 0 && i < nalgos; i++) {
            fprintf(stderr, "fopt_bench: gpu %s %s\n", w.name, bench_algo_name(all[i]));
            run_workload(&cfg, t, gpu, &w, all[i]);
        }
        bench_workload_free(&w);
    }
    if (!cfg.quick) {
        size_t sizes[32];
        size_t n = bench_sweep_sizes(kSweepTop, sizes, 32);
        for (size_t i = 0; i < n; i++) {
            fprintf(stderr, "fopt_bench: gpu sweep %zu\n", sizes[i]);
            if (bench_workload_flat(&w, "sweep", sizes[i]) == 0) {
                run_workload(&cfg, t, gpu, &w, BENCH_ADAMW);
            }
            bench_workload_free(&w);
        }
    }
    cublasDestroy(gpu.blas);
    cudaFree(gpu.flush);
    cudaEventDestroy(gpu.start);
    cudaEventDestroy(gpu.stop);
    cudaStreamDestroy(gpu.stream);
    return 0;
}
