/*
 * CPU execution harness for CUDA kernel source (tests only).
 *
 * Force-included (g++ -x c++ -include cuda_emu.h) into the kernels/ .cu sources so the
 * real kernel source runs on the CPU. Every block of a grid runs in turn on
 * the launching OS thread; the threads of a block are cooperative fibers that
 * switch only at __syncthreads and warp intrinsics (see emu_block.cpp).
 */
#ifndef FOPT_EMU_CUDA_EMU_H
#define FOPT_EMU_CUDA_EMU_H

#ifndef __cplusplus
#error "cuda_emu.h is for kernel sources compiled as C++"
#endif

#define FOPT_EMU 1

/* Standard headers first: the qualifier macros below must not reach them. */
#include <functional>

#include "cuda_runtime_api.h"
#include "fopt_emu.h"
#include "cuda_emu_types.h"
#include "cuda_emu_device.h"
#include "cuda_emu_math.h"
#include "cuda_emu_fp.h"

/* Execution-space and memory-space qualifiers. __shared__ variables are
 * per OS thread; blocks run one after another on that thread, so all threads
 * of a block share them and a block only sees what earlier blocks left behind,
 * which correct kernels never read. __restrict__ is native to g++ and clang. */
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
#define __shared__ static thread_local
#define __launch_bounds__(...)

/* Runs `body` for every thread of every block of the grid, or records it when
 * `stream` is capturing. A bad configuration runs nothing and is reported by
 * the next cudaGetLastError (cudaErrorInvalidConfiguration). Dynamic shared
 * memory is not emulated: shmem must be 0. */
void fopt_emu_launch(dim3 grid, dim3 block, size_t shmem, cudaStream_t stream,
                     const std::function<void()> &body);

#endif
