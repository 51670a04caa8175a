/*
 * Internal controls of the CPU backend, for the tests and the benchmarks.
 * Not installed, not part of the public API.
 *
 * Threads: a step over `total` elements runs on
 *     min(usable CPUs, total / FOPT_CPU_ELEMS_PER_THREAD, FOPT_CPU_MAX_THREADS)
 * threads, at least one. So steps over fewer than 2 * FOPT_CPU_ELEMS_PER_THREAD
 * elements (4M parameters) stay on the calling thread, and larger ones are
 * split into contiguous ranges of the concatenated tensors, one per thread,
 * each thread streaming its own range (threads are started per step: ~tens of
 * microseconds against a step of several milliseconds at that size).
 * The elementwise update gives the same bits for any number of threads.
 */
#ifndef FOPT_CPU_BACKEND_H
#define FOPT_CPU_BACKEND_H

#include <stddef.h>

#include "fusedopt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FOPT_CPU_ELEMS_PER_THREAD ((size_t)1 << 21)
#define FOPT_CPU_MAX_THREADS 16

/* The thread count the heuristic picks for a step over `total` elements. */
int fopt_cpu_default_threads(size_t total);

/* Fixes the thread count of a CPU-backend optimizer: 0 restores the
 * heuristic, n >= 1 uses exactly n threads (even for tiny steps: tests use it
 * to exercise the split). FOPT_ERROR_INVALID_POINTER for a CUDA handle. */
fopt_status fopt_cpu_set_threads(fopt_optimizer *opt, int threads);

/* The thread count the next step of `opt` will use. */
int fopt_cpu_get_threads(const fopt_optimizer *opt);

#ifdef __cplusplus
}
#endif

#endif /* FOPT_CPU_BACKEND_H */
