/*
 * Stochastic rounding of fp32 to bf16, one implementation for host C code,
 * the CUDA kernels and the CPU execution harness.
 *
 * Random bits: splitmix64's finalizer (Steele, Lea, Flood 2014), applied as
 *   base(seed, k) = mix(mix(seed) ^ k)         once per step k (1-based)
 *   bits(base, i) = mix(base ^ i) & 0xffff     per element, i = the element's
 *                                              index in the concatenated tensors
 * Rounding: bf16 = (fp32 bits + bits) >> 16. The dropped 16 bits d make the
 * value kept + d / 2^16 ulp; adding a uniform r in [0, 2^16) carries into the
 * kept bits exactly when r >= 2^16 - d, with probability d / 2^16, so the
 * expected result is the fp32 value. Exact bf16 values (d = 0) and infinities
 * stay; NaN becomes 0x7fff as in the round-to-nearest conversions.
 */
#ifndef FOPT_STOCHASTIC_ROUND_H
#define FOPT_STOCHASTIC_ROUND_H

#include <stdint.h>

#include "schedule_eval.h" /* FOPT_HD */

static inline FOPT_HD uint64_t fopt_sr_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The per-step part of the hash. */
static inline FOPT_HD uint64_t fopt_sr_base(uint64_t seed, int64_t step)
{
    return fopt_sr_mix(fopt_sr_mix(seed) ^ (uint64_t)step);
}

/* bf16 bits of fp32 bits `u` rounded stochastically, element `index`. */
static inline FOPT_HD uint16_t fopt_sr_bf16(uint32_t u, uint64_t base, uint64_t index)
{
    const uint32_t r = (uint32_t)(fopt_sr_mix(base ^ index) & 0xffffu);
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? 0x7fffu : (u + r) >> 16);
}

#endif /* FOPT_STOCHASTIC_ROUND_H */
