/*
 * The GPU half of train_mlp: the same two-layer MLP as train_mlp.c, with the
 * matrix products done by cuBLAS and the elementwise work by five tiny kernels.
 * The optimizer is the same fusedopt AdamW, created over device tensors, so
 * the library picks its CUDA backend and runs the fused update kernel on our
 * stream, evaluating the warmup + cosine schedule on the device.
 *
 * Everything a training step does is enqueued on one stream with no
 * synchronization, and the batch to train on is chosen on the device from a
 * device-resident counter (like the optimizer's own step/epoch counters). So
 * the whole step can be captured once in a CUDA graph and replayed (--graph):
 *
 *   gather_batch      xb, yb = rows of batch (*cursor) of the dataset
 *   GEMM + bias_tanh  h    = tanh(xb W1^T + b1)
 *   GEMM + loss_grad  yhat = h W2^T + b2; loss; dy = 2 (yhat - yb) / n
 *   GEMM x2           dW2 = dy^T h;  db2 = dy^T 1
 *   GEMM + tanh_back  dz  = (dy W2) * (1 - h^2)
 *   GEMM x2           dW1 = dz^T xb; db1 = dz^T 1
 *   fopt_step         fused AdamW over W1, b1, W2, b2
 *   advance_cursor    *cursor = (*cursor + 1) mod batches
 */
#include <stdio.h>
#include <stdlib.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "mlp.h"

/* ------------------------------------------------------------------ */
/* Error checks: print what failed and make the caller return 1        */
/* ------------------------------------------------------------------ */

static int cuda_ok(cudaError_t err, const char *what)
{
    if (err != cudaSuccess) {
        fprintf(stderr, "train_mlp: %s: %s\n", what, cudaGetErrorString(err));
        return 0;
    }
    return 1;
}

static int blas_ok(cublasStatus_t st, const char *what)
{
    if (st != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "train_mlp: %s: cuBLAS status %d\n", what, (int)st);
        return 0;
    }
    return 1;
}

/* Launches a kernel on s->stream and checks the launch. */
#define LAUNCH(kernel, grid, block, ...)                                      \
    do {                                                                      \
        kernel<<<(grid), (block), 0, s->stream>>>(__VA_ARGS__);               \
        if (!cuda_ok(cudaGetLastError(), "launch " #kernel)) return 1;        \
    } while (0)

/* ------------------------------------------------------------------ */
/* Kernels (one thread per element, grid-stride loops)                 */
/* ------------------------------------------------------------------ */

#define THREADS 256

static unsigned blocks_for(size_t n)
{
    size_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b < 1024 ? (b ? b : 1) : 1024);
}

/* Copies batch b = (cursor ? *cursor : fixed) of the dataset into xb and yb.
 * Batches are contiguous rows, so this is an offset copy whose offset is
 * known only on the device; cudaMemcpyAsync could not read it. */
__global__ void gather_batch(const float *x, const float *y, const long long *cursor, long long fixed,
                             int batch, int in, int out, float *xb, float *yb)
{
    const long long b = cursor ? *cursor : fixed;
    const float *xs = x + (size_t)b * batch * in;
    const float *ys = y + (size_t)b * batch * out;
    const size_t nx = (size_t)batch * in, ny = (size_t)batch * out;
    const size_t n = nx > ny ? nx : ny;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        if (i < nx) xb[i] = xs[i];
        if (i < ny) yb[i] = ys[i];
    }
}

/* h[r][j] = tanh(h[r][j] + b[j]) over rows * cols elements. */
__global__ void bias_tanh(float *h, const float *b, int rows, int cols)
{
    const size_t n = (size_t)rows * cols;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        h[i] = tanhf(h[i] + b[i % cols]);
    }
}

/* Adds the output bias, then the mean squared error and its gradient:
 *   yhat += b;  loss = sum (yhat - y)^2 / n;  dy = 2 (yhat - y) / n
 * One block of THREADS threads: each sums a strided share, then a shared
 * memory tree adds the partial sums. One block is plenty for the outputs of
 * a small regression (batch * out numbers). */
__global__ void loss_grad(float *yhat, const float *y, const float *b, int rows, int cols, float *dy,
                          float *loss)
{
    __shared__ float partial[THREADS];
    const size_t n = (size_t)rows * cols;
    float acc = 0.0f;
    for (size_t i = threadIdx.x; i < n; i += THREADS) {
        const float v = yhat[i] + b[i % cols];
        const float d = v - y[i];
        yhat[i] = v;
        dy[i] = 2.0f * d / (float)n;
        acc += d * d;
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) *loss = partial[0] / (float)n;
}

/* dz = dh * tanh'(z) = dh * (1 - h^2), in place. */
__global__ void tanh_backward(float *dh, const float *h, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        dh[i] *= 1.0f - h[i] * h[i];
    }
}

__global__ void advance_cursor(long long *cursor, int batches)
{
    *cursor = (*cursor + 1) % batches;
}

/* ------------------------------------------------------------------ */
/* Row-major GEMM with column-major cuBLAS                             */
/* ------------------------------------------------------------------ */

/* C[m][n] = op(A) op(B) for row-major matrices, op(A) being [m][k] and op(B)
 * [k][n]; ta/tb say that A is stored as [k][m] / B as [n][k] (transposed).
 * cuBLAS is column-major, and a row-major matrix read column-major is its
 * transpose, so we ask cuBLAS for C^T = op(B)^T op(A)^T, which it writes in
 * column-major order: exactly C in row-major order. */
static cublasStatus_t gemm_rm(cublasHandle_t h, int ta, int tb, int m, int n, int k, const float *A,
                              const float *B, float *C)
{
    const float one = 1.0f, zero = 0.0f;
    return cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one, B,
                       tb ? k : n, A, ta ? m : k, &zero, C, n);
}

/* ------------------------------------------------------------------ */
/* The CUDA trainer                                                    */
/* ------------------------------------------------------------------ */

typedef struct cuda_trainer {
    mlp_config cfg;
    int batches;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_workspace;   /* our own cuBLAS workspace: no allocation during graph capture */
    float *x, *y;           /* the dataset */
    mlp_params p, g;        /* parameters and gradients (one allocation each) */
    float *xb, *yb, *h, *yhat, *dy, *dh, *ones;
    float *loss;            /* loss of the most recent batch (device scalar) */
    long long *cursor;      /* the next batch (device counter) */
    cudaGraph_t graph;
    cudaGraphExec_t graph_exec;
} cuda_trainer;

/* Forward pass and loss on the batch in xb/yb. */
static int forward(cuda_trainer *s)
{
    const mlp_config *c = &s->cfg;
    if (!blas_ok(gemm_rm(s->blas, 0, 1, c->batch, c->hidden, c->in, s->xb, s->p.w1, s->h), "gemm x W1^T")) return 1;
    LAUNCH(bias_tanh, blocks_for((size_t)c->batch * c->hidden), THREADS, s->h, s->p.b1, c->batch, c->hidden);
    if (!blas_ok(gemm_rm(s->blas, 0, 1, c->batch, c->out, c->hidden, s->h, s->p.w2, s->yhat), "gemm h W2^T")) return 1;
    LAUNCH(loss_grad, 1, THREADS, s->yhat, s->yb, s->p.b2, c->batch, c->out, s->dy, s->loss);
    return 0;
}

/* Enqueues one whole training step; captured as is by --graph. */
static int enqueue_step(mlp_trainer *t)
{
    cuda_trainer *s = (cuda_trainer *)t->ctx;
    const mlp_config *c = &s->cfg;
    const size_t rows = (size_t)c->batch * (c->in > c->out ? c->in : c->out);
    LAUNCH(gather_batch, blocks_for(rows), THREADS, s->x, s->y, s->cursor, 0LL, c->batch, c->in, c->out, s->xb,
           s->yb);
    if (forward(s)) return 1;
    /* Backward: the same chain rule as mlp_backward in train_mlp.c. */
    if (!blas_ok(gemm_rm(s->blas, 1, 0, c->out, c->hidden, c->batch, s->dy, s->h, s->g.w2), "gemm dW2") ||
        !blas_ok(gemm_rm(s->blas, 1, 0, c->out, 1, c->batch, s->dy, s->ones, s->g.b2), "gemm db2") ||
        !blas_ok(gemm_rm(s->blas, 0, 0, c->batch, c->hidden, c->out, s->dy, s->p.w2, s->dh), "gemm dh")) {
        return 1;
    }
    LAUNCH(tanh_backward, blocks_for((size_t)c->batch * c->hidden), THREADS, s->dh, s->h,
           (size_t)c->batch * c->hidden);
    if (!blas_ok(gemm_rm(s->blas, 1, 0, c->hidden, c->in, c->batch, s->dh, s->xb, s->g.w1), "gemm dW1") ||
        !blas_ok(gemm_rm(s->blas, 1, 0, c->hidden, 1, c->batch, s->dh, s->ones, s->g.b1), "gemm db1")) {
        return 1;
    }
    /* The fused AdamW step, on the same stream (options.stream). */
    fopt_status st = fopt_step(t->opt);
    if (st != FOPT_SUCCESS) return mlp_report_fopt_error("fopt_step", st, t->opt);
    LAUNCH(advance_cursor, 1, 1, s->cursor, s->batches);
    return 0;
}

static int cuda_step(mlp_trainer *t)
{
    cuda_trainer *s = (cuda_trainer *)t->ctx;
    if (!s->cfg.graph) {
        return enqueue_step(t);
    }
    if (!s->graph_exec) {
        /* First step: record the step once (capturing runs nothing)... */
        if (!cuda_ok(cudaStreamBeginCapture(s->stream, cudaStreamCaptureModeGlobal), "begin capture")) return 1;
        const int failed = enqueue_step(t);
        const int ended = cuda_ok(cudaStreamEndCapture(s->stream, &s->graph), "end capture");
        if (failed || !ended ||
            !cuda_ok(cudaGraphInstantiate(&s->graph_exec, s->graph, 0), "instantiate graph")) {
            return 1;
        }
    }
    /* ...then every step is one launch. */
    return cuda_ok(cudaGraphLaunch(s->graph_exec, s->stream), "graph launch") ? 0 : 1;
}

static int cuda_last_loss(mlp_trainer *t, double *loss)
{
    cuda_trainer *s = (cuda_trainer *)t->ctx;
    float value = 0.0f;
    if (!cuda_ok(cudaMemcpyAsync(&value, s->loss, sizeof value, cudaMemcpyDeviceToHost, s->stream), "copy loss") ||
        !cuda_ok(cudaStreamSynchronize(s->stream), "synchronize")) {
        return 1;
    }
    *loss = value;
    return 0;
}

static int cuda_eval(mlp_trainer *t, double *loss)
{
    cuda_trainer *s = (cuda_trainer *)t->ctx;
    const mlp_config *c = &s->cfg;
    double sum = 0.0, batch_loss = 0.0;
    for (int b = 0; b < s->batches; b++) {
        LAUNCH(gather_batch, blocks_for((size_t)c->batch * (c->in > c->out ? c->in : c->out)), THREADS, s->x, s->y,
               (const long long *)NULL,
               (long long)b, c->batch, c->in, c->out, s->xb, s->yb);
        if (forward(s) || cuda_last_loss(t, &batch_loss)) return 1;
        sum += batch_loss;
    }
    *loss = sum / s->batches;
    return 0;
}

static void cuda_destroy(mlp_trainer *t)
{
    cuda_trainer *s = (cuda_trainer *)t->ctx;
    fopt_destroy(t->opt); /* waits for its stream */
    if (!s) return;
    if (s->graph_exec) cudaGraphExecDestroy(s->graph_exec);
    if (s->graph) cudaGraphDestroy(s->graph);
    if (s->blas) cublasDestroy(s->blas);
    void *buffers[] = {s->blas_workspace, s->x, s->y, s->p.w1, s->g.w1, s->xb, s->yb, s->h,
                       s->yhat, s->dy, s->dh, s->ones, s->loss, s->cursor};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) cudaFree(buffers[i]);
    if (s->stream) cudaStreamDestroy(s->stream);
    free(s);
}

extern "C" int mlp_cuda_device_usable(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError(); /* no driver or no device: not an error for "auto" */
        return 0;
    }
    return count > 0;
}

/* cudaMalloc of n floats into *p. */
static int dalloc(float **p, size_t n)
{
    return cuda_ok(cudaMalloc((void **)p, n * sizeof(float)), "cudaMalloc");
}

/* Points a parameter set at consecutive slices of one allocation. */
static void carve(const mlp_config *c, float *base, mlp_params *p)
{
    p->w1 = base;
    p->b1 = p->w1 + (size_t)c->hidden * c->in;
    p->w2 = p->b1 + c->hidden;
    p->b2 = p->w2 + (size_t)c->out * c->hidden;
}

extern "C" int mlp_cuda_trainer_create(mlp_trainer *t, const mlp_config *cfg, const mlp_dataset *data,
                                       const mlp_params *init)
{
    const mlp_config *c = cfg;
    cuda_trainer *s = (cuda_trainer *)calloc(1, sizeof *s);
    t->name = cfg->graph ? "cuda+graph" : "cuda";
    t->opt = NULL;
    t->ctx = s;
    t->step = cuda_step;
    t->last_loss = cuda_last_loss;
    t->eval = cuda_eval;
    t->destroy = cuda_destroy;
    if (!s) return 1;
    s->cfg = *cfg;
    s->batches = c->samples / c->batch;
    const size_t nparams = (size_t)c->hidden * c->in + c->hidden + (size_t)c->out * c->hidden + c->out;
    const size_t workspace = (size_t)32 << 20; /* 32 MiB: what cuBLAS suggests for Hopper */
    if (!cuda_ok(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking), "create stream") ||
        !blas_ok(cublasCreate(&s->blas), "cublasCreate") ||
        !blas_ok(cublasSetStream(s->blas, s->stream), "cublasSetStream") ||
        !cuda_ok(cudaMalloc(&s->blas_workspace, workspace), "cudaMalloc") ||
        !blas_ok(cublasSetWorkspace(s->blas, s->blas_workspace, workspace), "cublasSetWorkspace") ||
        !dalloc(&s->x, (size_t)c->samples * c->in) || !dalloc(&s->y, (size_t)c->samples * c->out) ||
        !dalloc(&s->p.w1, nparams) || !dalloc(&s->g.w1, nparams) ||
        !dalloc(&s->xb, (size_t)c->batch * c->in) || !dalloc(&s->yb, (size_t)c->batch * c->out) ||
        !dalloc(&s->h, (size_t)c->batch * c->hidden) || !dalloc(&s->dh, (size_t)c->batch * c->hidden) ||
        !dalloc(&s->yhat, (size_t)c->batch * c->out) || !dalloc(&s->dy, (size_t)c->batch * c->out) ||
        !dalloc(&s->ones, (size_t)c->batch) || !dalloc(&s->loss, 1) ||
        !cuda_ok(cudaMalloc((void **)&s->cursor, sizeof(long long)), "cudaMalloc")) {
        return 1;
    }
    carve(c, s->p.w1, &s->p);
    carve(c, s->g.w1, &s->g);

    /* Upload the data and the initial weights (the CPU run starts from the same
     * ones). init->w1 is the start of one host block laid out like carve(). */
    float *ones = (float *)malloc(sizeof(float) * c->batch);
    if (!ones) return 1;
    for (int i = 0; i < c->batch; i++) ones[i] = 1.0f;
    const int uploaded =
        cuda_ok(cudaMemcpy(s->x, data->x, sizeof(float) * c->samples * c->in, cudaMemcpyHostToDevice), "upload x") &&
        cuda_ok(cudaMemcpy(s->y, data->y, sizeof(float) * c->samples * c->out, cudaMemcpyHostToDevice), "upload y") &&
        cuda_ok(cudaMemcpy(s->p.w1, init->w1, sizeof(float) * nparams, cudaMemcpyHostToDevice), "upload params") &&
        cuda_ok(cudaMemcpy(s->ones, ones, sizeof(float) * c->batch, cudaMemcpyHostToDevice), "upload ones") &&
        cuda_ok(cudaMemset(s->cursor, 0, sizeof(long long)), "zero cursor") &&
        cuda_ok(cudaMemset(s->g.w1, 0, sizeof(float) * nparams), "zero grads");
    free(ones);
    if (!uploaded) return 1;

    /* The optimizer: same options as the CPU run, over device tensors, on our stream. */
    fopt_tensor tensors[4] = {
        {s->p.w1, s->g.w1, (size_t)c->hidden * c->in},
        {s->p.b1, s->g.b1, (size_t)c->hidden},
        {s->p.w2, s->g.w2, (size_t)c->out * c->hidden},
        {s->p.b2, s->g.b2, (size_t)c->out},
    };
    fopt_options options = mlp_optimizer_options(c);
    options.backend = FOPT_BACKEND_CUDA;
    options.stream = s->stream;
    fopt_status st = fopt_create(&t->opt, &options, tensors, 4);
    return st == FOPT_SUCCESS ? 0 : mlp_report_fopt_error("fopt_create", st, NULL);
}
