/*
 * The gradient pre-pass of gradient scaling and clipping (grad_scaler.h):
 *
 *   fopt_grad_stats_kernel<G>: block b accumulates the sum of squares of the
 *     unscaled gradients g * inv_scale (fp32 products, as GradScaler) of its chunks (grid-stride over the chunk table, the same
 *     walk as the update kernels) in double, reduces it over the block in
 *     shared memory (a tree of __syncthreads) and writes partials[b].
 *   fopt_grad_combine_kernel: one thread sums partials[0 .. count) in order
 *     (deterministic) and sets scaler->skip (grad_scaling and a non-finite
 *     sum, i.e. some inf/NaN unscaled gradient) and scaler->clip, which the
 *     update kernel then reads with scaler->inv_scale.
 *
 * Launch: stats `grid` blocks of FOPT_BLOCK_THREADS (the update kernels'
 * grid, so `grid` partials); combine one block of one thread.
 * Memory traffic per element: read grad (4 bytes; bf16/fp16: 2, widened to
 * fp32); four elements per load where the tensor is vectorized (vec_ok:
 * 128-bit for fp32, 64-bit for 16-bit gradients).
 */
#include "grad_scaler.h"
#include "launch.cuh"
#include "multi_tensor.cuh"

template <class G>
__global__ void fopt_grad_stats_kernel(fopt_chunk_table table, const fopt_grad_scaler *scaler, double *partials)
{
    __shared__ double block_sums[FOPT_BLOCK_THREADS];
    const float inv_scale = scaler->inv_scale;
    double sum = 0.0;
    for (int64_t c = blockIdx.x; c < table.num_chunks; c += gridDim.x) {
        const fopt_kernel_chunk chunk = table.chunks[c];
        const fopt_kernel_tensor &tensor = table.tensors[chunk.tensor];
        const G *grad = fopt_global(static_cast<const G *>(tensor.grad) + chunk.start);
        int scalar_from = 0;
        if (tensor.vec_ok) {
            const int num_vec = chunk.length / 4;
            for (int i = threadIdx.x; i < num_vec; i += blockDim.x) {
                const fopt_quad<G> g = reinterpret_cast<const fopt_quad<G> *>(grad)[i];
                for (int j = 0; j < 4; ++j) {
                    const float u = fopt_to_float(g.lane[j]) * inv_scale;
                    sum += (double)u * u;
                }
            }
            scalar_from = num_vec * 4;
        }
        for (int i = scalar_from + threadIdx.x; i < chunk.length; i += blockDim.x) {
            const float u = fopt_to_float(grad[i]) * inv_scale;
            sum += (double)u * u;
        }
    }
    block_sums[threadIdx.x] = sum;
    __syncthreads();
    for (int stride = FOPT_BLOCK_THREADS / 2; stride > 0; stride /= 2) {
        if ((int)threadIdx.x < stride) {
            block_sums[threadIdx.x] += block_sums[threadIdx.x + stride];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        partials[blockIdx.x] = block_sums[0];
    }
}

__global__ void fopt_grad_combine_kernel(const double *partials, unsigned count, fopt_grad_scaler *scaler,
                                         fopt_scaler_args args)
{
    double sum = 0.0;
    for (unsigned b = 0; b < count; b++) {
        sum += partials[b];
    }
    fopt_scaler_combine(scaler, &args, sum);
}

extern "C" cudaError_t fopt_launch_grad_stats(fopt_chunk_table table, fopt_dtype grad_dtype, double *partials,
                                              unsigned grid, fopt_grad_scaler *scaler, fopt_scaler_args args,
                                              cudaStream_t stream)
{
    cudaError_t err = fopt_with_dtype(grad_dtype, [&](auto grad_type) {
        KLAUNCH(fopt_grad_stats_kernel<typename decltype(grad_type)::type>, grid, FOPT_BLOCK_THREADS, 0, stream,
                table, scaler, partials);
        return cudaGetLastError();
    });
    if (err != cudaSuccess) {
        return err;
    }
    KLAUNCH(fopt_grad_combine_kernel, 1, 1, 0, stream, partials, grid, scaler, args);
    return cudaGetLastError();
}
