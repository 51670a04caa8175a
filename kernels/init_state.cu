/*
 * Optimizer state that does not start at zero, set once at create:
 *   state[0][i] = value      for every element of every tensor
 * (Adagrad's sum of squared gradients starts at initial_accumulator_value).
 *
 * Launch: `grid` blocks of FOPT_BLOCK_THREADS threads, grid-stride over the
 * chunk table (the update kernels' walk), one element per thread per pass.
 * Memory traffic per element: write state (4 bytes).
 */
#include "launch.cuh"
#include "multi_tensor.cuh"

__global__ void fopt_init_state_kernel(fopt_chunk_table table, float value)
{
    for (int64_t c = blockIdx.x; c < table.num_chunks; c += gridDim.x) {
        const fopt_kernel_chunk chunk = table.chunks[c];
        float *state = fopt_global(table.tensors[chunk.tensor].state[0] + chunk.start);
        for (int i = threadIdx.x; i < chunk.length; i += blockDim.x) {
            state[i] = value;
        }
    }
}

extern "C" cudaError_t fopt_launch_init_state(fopt_chunk_table table, float value, unsigned grid, cudaStream_t stream)
{
    KLAUNCH(fopt_init_state_kernel, grid, FOPT_BLOCK_THREADS, 0, stream, table, value);
    return cudaGetLastError();
}
