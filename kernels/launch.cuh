/*
 * KLAUNCH(kernel, grid, block, shmem, stream, args...): the one way kernels
 * are launched. Under nvcc it is the triple-chevron launch; in the CPU
 * execution harness (FOPT_EMU, set by its forced-include header) it hands a
 * closure over the arguments to fopt_emu_launch. `kernel` must not contain a
 * top-level comma (one template argument at most).
 */
#ifndef FOPT_LAUNCH_CUH
#define FOPT_LAUNCH_CUH

#ifdef FOPT_EMU
#define KLAUNCH(kernel, grid, block, shmem, stream, ...)                                        \
    fopt_emu_launch(dim3(grid), dim3(block), (size_t)(shmem), (cudaStream_t)(stream),          \
                    [=]() { kernel(__VA_ARGS__); })
#else
#define KLAUNCH(kernel, grid, block, shmem, stream, ...) \
    kernel<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__)
#endif

#endif /* FOPT_LAUNCH_CUH */
