/* Host entry points of the harness's own test kernels (harness_kernels.cu).
 * Each launches and returns cudaGetLastError(). */
#ifndef FOPT_EMU_HARNESS_KERNELS_H
#define FOPT_EMU_HARNESS_KERNELS_H

#include <cstddef>

#include "cuda_runtime.h"

namespace harness {

/* y[i] += a * x[i], grid-stride loop */
cudaError_t axpy(unsigned grid, unsigned block, size_t n, float a, const float *x, float *y,
                 cudaStream_t stream = nullptr);
/* out[blockIdx.x] = sum of the block's grid-stride share of x, via __shared__ + __syncthreads */
cudaError_t block_sum(unsigned grid, unsigned block, size_t n, const long long *x,
                      long long *out);
/* Per warp w (global index): xor_out[w] = sum of the warp's lane values v (every lane must
 * agree), down_out[w] = the same via __shfl_down_sync. Lane value: v[global thread]. */
cudaError_t warp_sums(unsigned grid, unsigned block, const int *v, int *xor_out, int *down_out);
/* out[t] = __shfl_sync(full, v[t], (lane + 1) % width, width) */
cudaError_t shfl_rotate(unsigned block, int width, const double *v, double *out);
/* Per warp: ballot/any/all of (v[t] > 0) */
cudaError_t votes(unsigned block, const int *v, unsigned *ballot, int *any, int *all);
/* out[linear thread id] = linear id computed from threadIdx/blockIdx/blockDim/gridDim */
cudaError_t thread_ids(dim3 grid, dim3 block, unsigned *out);
/* out[blockIdx.x] = the order in which the block ran (0, 1, 2, ...) */
cudaError_t block_order(unsigned grid, unsigned *counter, unsigned *out);
/* threads below `waiting` call __syncthreads, the others exit */
cudaError_t divergent_barrier(unsigned block, unsigned waiting);
/* even and odd threads wait at different __syncthreads, then write out[thread] */
cudaError_t split_barrier(unsigned block, int *out);
/* full-mask __shfl_down_sync by 16 in a block of `block` threads */
cudaError_t shfl_down_16(unsigned block, int *out);

} // namespace harness

#endif
