/*
 * fp32 master weights of 16-bit parameters, set once at create:
 *   master[i] = (float)param[i]      for every element of every tensor
 * (exact: bf16 and fp16 values are fp32 values).
 *
 * Launch: `grid` blocks of FOPT_BLOCK_THREADS threads, grid-stride over the
 * chunk table (the update kernels' walk), one element per thread per pass.
 * Memory traffic per element: read param (2 bytes), write master (4 bytes).
 */
#include "launch.cuh"
#include "multi_tensor.cuh"

template <class P>
__global__ void fopt_init_master_kernel(fopt_chunk_table table)
{
    for (int64_t c = blockIdx.x; c < table.num_chunks; c += gridDim.x) {
        const fopt_kernel_chunk chunk = table.chunks[c];
        const fopt_kernel_tensor &tensor = table.tensors[chunk.tensor];
        const P *param = fopt_global(static_cast<const P *>(tensor.param) + chunk.start);
        float *master = fopt_global(tensor.master + chunk.start);
        for (int i = threadIdx.x; i < chunk.length; i += blockDim.x) {
            master[i] = fopt_to_float(param[i]);
        }
    }
}

extern "C" cudaError_t fopt_launch_init_master(fopt_chunk_table table, fopt_dtype param_dtype, unsigned grid,
                                               cudaStream_t stream)
{
    return fopt_with_dtype(param_dtype, [&](auto param_type) {
        KLAUNCH(fopt_init_master_kernel<typename decltype(param_type)::type>, grid, FOPT_BLOCK_THREADS, 0, stream,
                table);
        return cudaGetLastError();
    });
}
