/*
 * The harness's own test kernels, written as CUDA source and compiled the way
 * the kernels/ sources are in emulated builds: as C++ with cuda_emu.h force-included.
 * HARNESS_LAUNCH expands exactly as kernels/launch.cuh does under FOPT_EMU.
 */
#include <cuda_runtime.h>

#include "harness_kernels.h"

#define HARNESS_LAUNCH(kernel, grid, block, shmem, stream, ...)                                    \
    fopt_emu_launch(dim3(grid), dim3(block), (size_t)(shmem), (cudaStream_t)(stream),             \
                    [=]() { kernel(__VA_ARGS__); })

namespace {

__global__ void axpy_kernel(size_t n, float a, const float *__restrict__ x, float *__restrict__ y)
{
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] += a * x[i];
}

__global__ void __launch_bounds__(1024) block_sum_kernel(size_t n, const long long *x,
                                                         long long *out)
{
    __shared__ long long partial[1024];
    long long s = 0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        s += x[i];
    partial[threadIdx.x] = s;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        out[blockIdx.x] = partial[0];
}

__device__ __forceinline__ int warp_sum_xor(int v)
{
    for (int offset = warpSize / 2; offset > 0; offset /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__global__ void warp_sums_kernel(const int *v, int *xor_out, int *down_out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned warp = t / warpSize, lane = threadIdx.x % warpSize;
    int x = warp_sum_xor(v[t]);
    int d = v[t];
    for (unsigned offset = 16; offset > 0; offset /= 2)
        d += __shfl_down_sync(0xffffffffu, d, offset);
    /* every lane holds the xor total: a lane that disagrees poisons the output */
    int agree = __all_sync(0xffffffffu, __shfl_sync(0xffffffffu, x, 0) == x);
    if (lane == 0) {
        xor_out[warp] = agree ? x : -1;
        down_out[warp] = d;
    }
}

__global__ void shfl_rotate_kernel(int width, const double *v, double *out)
{
    unsigned lane = threadIdx.x % warpSize;
    out[threadIdx.x] = __shfl_sync(0xffffffffu, v[threadIdx.x], (int)(lane + 1) % width, width);
}

__global__ void votes_kernel(const int *v, unsigned *ballot, int *any, int *all)
{
    int pred = v[threadIdx.x] > 0;
    unsigned b = __ballot_sync(0xffffffffu, pred);
    int y = __any_sync(0xffffffffu, pred);
    int a = __all_sync(0xffffffffu, pred);
    __syncwarp();
    if (threadIdx.x % warpSize == 0) {
        unsigned w = threadIdx.x / warpSize;
        ballot[w] = b;
        any[w] = y;
        all[w] = a;
    }
}

__global__ void thread_ids_kernel(unsigned *out)
{
    unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    unsigned per_block = blockDim.x * blockDim.y * blockDim.z;
    out[block * per_block + thread] = block * per_block + thread;
}

__global__ void block_order_kernel(unsigned *counter, unsigned *out)
{
    if (threadIdx.x == 0)
        out[blockIdx.x] = atomicAdd(counter, 1u);
}

__global__ void divergent_barrier_kernel(unsigned waiting)
{
    if (threadIdx.x < waiting)
        __syncthreads();
}

__global__ void split_barrier_kernel(int *out)
{
    if (threadIdx.x % 2) {
        __syncthreads();
        out[threadIdx.x] = 1;
    } else {
        out[threadIdx.x] = 2;
        __syncthreads();
    }
}

__global__ void shfl_down_16_kernel(int *out)
{
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, (int)threadIdx.x, 16);
}

} // namespace

namespace harness {

cudaError_t axpy(unsigned grid, unsigned block, size_t n, float a, const float *x, float *y,
                 cudaStream_t stream)
{
    HARNESS_LAUNCH(axpy_kernel, grid, block, 0, stream, n, a, x, y);
    return cudaGetLastError();
}

cudaError_t block_sum(unsigned grid, unsigned block, size_t n, const long long *x,
                      long long *out)
{
    HARNESS_LAUNCH(block_sum_kernel, grid, block, 0, nullptr, n, x, out);
    return cudaGetLastError();
}

cudaError_t warp_sums(unsigned grid, unsigned block, const int *v, int *xor_out, int *down_out)
{
    HARNESS_LAUNCH(warp_sums_kernel, grid, block, 0, nullptr, v, xor_out, down_out);
    return cudaGetLastError();
}

cudaError_t shfl_rotate(unsigned block, int width, const double *v, double *out)
{
    HARNESS_LAUNCH(shfl_rotate_kernel, 1, block, 0, nullptr, width, v, out);
    return cudaGetLastError();
}

cudaError_t votes(unsigned block, const int *v, unsigned *ballot, int *any, int *all)
{
    HARNESS_LAUNCH(votes_kernel, 1, block, 0, nullptr, v, ballot, any, all);
    return cudaGetLastError();
}

cudaError_t thread_ids(dim3 grid, dim3 block, unsigned *out)
{
    HARNESS_LAUNCH(thread_ids_kernel, grid, block, 0, nullptr, out);
    return cudaGetLastError();
}

cudaError_t block_order(unsigned grid, unsigned *counter, unsigned *out)
{
    HARNESS_LAUNCH(block_order_kernel, grid, 32, 0, nullptr, counter, out);
    return cudaGetLastError();
}

cudaError_t divergent_barrier(unsigned block, unsigned waiting)
{
    HARNESS_LAUNCH(divergent_barrier_kernel, 1, block, 0, nullptr, waiting);
    return cudaGetLastError();
}

cudaError_t split_barrier(unsigned block, int *out)
{
    HARNESS_LAUNCH(split_barrier_kernel, 1, block, 0, nullptr, out);
    return cudaGetLastError();
}

cudaError_t shfl_down_16(unsigned block, int *out)
{
    HARNESS_LAUNCH(shfl_down_16_kernel, 1, block, 0, nullptr, out);
    return cudaGetLastError();
}

} // namespace harness
