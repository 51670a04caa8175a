/*
 * Host-side conversions between fp32 and the 16-bit parameter / gradient
 * types (fusedopt.h's fopt_dtype), bit-compatible with CUDA's
 * __float2bfloat16_rn / __float2half_rn and their inverses:
 * round-to-nearest-even, overflow to infinity, fp16 subnormals kept, and
 * every NaN becomes the canonical 0x7fff. Used by the CPU backend and tests.
 */
#ifndef FOPT_DTYPE_H
#define FOPT_DTYPE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fusedopt.h"

/* Bytes per element of `dtype`. */
static inline size_t fopt_dtype_size(fopt_dtype dtype)
{
    return dtype == FOPT_FLOAT32 ? 4 : 2;
}

static inline uint32_t fopt_float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float fopt_bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* bf16 is the top half of an fp32: exact. */
static inline float fopt_bf16_to_float(uint16_t h)
{
    return fopt_bits_float((uint32_t)h << 16);
}

static inline uint16_t fopt_float_to_bf16(float f)
{
    const uint32_t u = fopt_float_bits(f);
    /* Adding 0x7fff carries into the kept bits when the dropped 16 exceed half
     * an ulp, adding the kept lsb too makes exactly half carry only when that
     * lsb is odd (ties to even); a carry into the exponent gives the next
     * binade or infinity. Branch-free, so conversion loops vectorize. */
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? 0x7fffu : rounded);
}

static inline float fopt_half_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    const uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0) { /* zero or subnormal: mantissa * 2^-24, exact in fp32 */
        const float magnitude = (float)mantissa * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 0x1f) {
        return fopt_bits_float(sign | 0x7f800000u | (mantissa << 13));
    }
    return fopt_bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

static inline uint16_t fopt_float_to_half(float f)
{
    const uint32_t u = fopt_float_bits(f);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t magnitude = u & 0x7fffffffu;
    if (magnitude > 0x7f800000u) {
        return 0x7fff;
    }
    if (magnitude >= 0x477ff000u) { /* 65520 = 65504 + half an ulp and above: infinity */
        return (uint16_t)(sign | 0x7c00u);
    }
    if (magnitude < 0x38800000u) {
        /* Below 2^-14, fp16 counts units of 2^-24: scale (exactly) and round
         * to an integer in the default mode, nearest-even; 1024 is the
         * smallest normal's encoding. */
        return (uint16_t)(sign | (uint16_t)nearbyintf(fopt_bits_float(magnitude) * 0x1p24f));
    }
    /* Normal: rebias the exponent (127 - 15 = 112), keep 10 mantissa bits. */
    uint32_t kept = (magnitude - (112u << 23)) >> 13;
    const uint32_t dropped = magnitude & 0x1fffu;
    if (dropped > 0x1000u || (dropped == 0x1000u && (kept & 1u))) {
        kept += 1;
    }
    return (uint16_t)(sign | kept);
}

/* Element i of an array of `dtype`, as fp32. */
static inline float fopt_dtype_load(fopt_dtype dtype, const void *data, size_t i)
{
    if (dtype == FOPT_FLOAT32) {
        return ((const float *)data)[i];
    }
    const uint16_t h = ((const uint16_t *)data)[i];
    return dtype == FOPT_BFLOAT16 ? fopt_bf16_to_float(h) : fopt_half_to_float(h);
}

/* Stores fp32 `value` as element i of an array of `dtype`, rounded to nearest-even. */
static inline void fopt_dtype_store(fopt_dtype dtype, void *data, size_t i, float value)
{
    if (dtype == FOPT_FLOAT32) {
        ((float *)data)[i] = value;
    } else {
        ((uint16_t *)data)[i] = dtype == FOPT_BFLOAT16 ? fopt_float_to_bf16(value) : fopt_float_to_half(value);
    }
}

#endif /* FOPT_DTYPE_H */
