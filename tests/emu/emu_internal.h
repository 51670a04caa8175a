/* Shared internals of the CPU harness runtime (not for kernels or tests). */
#ifndef FOPT_EMU_INTERNAL_H
#define FOPT_EMU_INTERNAL_H

#include <atomic>
#include <functional>

#include "cuda_emu.h"

namespace fopt_emu {

struct Counters {
    std::atomic<unsigned long long> syncs{0}, d2h_copies{0}, h2d_copies{0}, allocations{0},
        frees{0}, launches{0};
};
extern Counters counters;

/* Stores a failure as the calling thread's last error; returns `e`. */
cudaError_t record(cudaError_t e);
/* Harness misuse or a kernel bug the GPU would not survive either:
 * prints "fopt_emu: ..." to stderr and aborts. */
[[noreturn]] void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The emulated device's memory; larger requests fail as out of memory. */
constexpr size_t kTotalGlobalMem = (size_t)80 << 30;

bool no_device();
int current_device();
int sm_count();

/* Runs `work` now, or appends it to the capture of `stream`. */
cudaError_t enqueue(cudaStream_t stream, std::function<void()> work);
/* For calls that wait for `stream` (nullptr: for the whole device): fails
 * with cudaErrorStreamCaptureUnsupported, invalidating the capture, if the
 * wait involves a capturing stream. */
cudaError_t check_sync_allowed(cudaStream_t stream, bool whole_device);
/* For cudaMalloc & co., prohibited while a non-relaxed capture is active. */
cudaError_t check_unsafe_call_allowed();

/* Executes a whole grid now (blocks in the configured order). */
void run_grid(dim3 grid, dim3 block, const std::function<void()> &body);
/* Executes the current block (blockIdx, blockDim already set). */
void run_block(unsigned nthreads, const std::function<void()> &body);
bool in_kernel();

} // namespace fopt_emu

#endif
