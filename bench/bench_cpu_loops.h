/*
 * The comparison loops of the CPU benchmark, compiled with the backend's
 * flags (-O3 -fno-math-errno) so that every loop is vectorized too: the
 * fused-vs-unfused difference measured is the fusion, not the code generation.
 */
#ifndef FOPT_BENCH_CPU_LOOPS_H
#define FOPT_BENCH_CPU_LOOPS_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

/* The bandwidth loop: the access pattern of an optimizer step with `nstate`
 * state arrays and a trivial operation, one pass: reads p, g, state[0..nstate),
 * writes p and the state arrays (12 + 8 * nstate bytes per element). */
void bench_stream_loop(size_t n, float *p, const float *g, float *const *state, int nstate);

/* One step of algorithm `a` over one tensor as a plain C training loop does
 * it: one simple pass per operation (scale, axpy, addcmul, sqrt, divide,
 * add, addcdiv), with `lr` computed by the caller on the host. `tmp` holds n
 * floats (the Adam denominator). k is the 1-based step. */
void bench_unfused_step(bench_algo a, const fopt_options *o, double lr, int64_t k, size_t n, float *p,
                        const float *g, float *const *state, float *tmp);

#endif /* FOPT_BENCH_CPU_LOOPS_H */
