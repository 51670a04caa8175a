/*
 * Minimal __half and __nv_bfloat16 for the CPU harness: storage types plus
 * CUDA's explicit conversions, round-to-nearest-even. NaN becomes the
 * canonical NaN CUDA produces (0x7fff); overflow rounds to infinity.
 */
#ifndef FOPT_EMU_CUDA_EMU_FP_H
#define FOPT_EMU_CUDA_EMU_FP_H

#include "cuda_emu_math.h"

struct __half {
    unsigned short __x;
};
struct __nv_bfloat16 {
    unsigned short __x;
};

inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline __half __ushort_as_half(unsigned short x) { return __half{x}; }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.__x; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short x) { return __nv_bfloat16{x}; }

inline __nv_bfloat16 __float2bfloat16_rn(float f)
{
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return __nv_bfloat16{0x7fff};
    /* add just under half an ulp, plus one when the kept lsb is odd: ties go to even */
    u += 0x7fffu + ((u >> 16) & 1u);
    return __nv_bfloat16{(unsigned short)(u >> 16)};
}

inline float __bfloat162float(__nv_bfloat16 h) { return __uint_as_float((unsigned int)h.__x << 16); }

inline __half __float2half_rn(float f)
{
    unsigned int u = __float_as_uint(f);
    unsigned short sign = (unsigned short)((u >> 16) & 0x8000u);
    unsigned int a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return __half{0x7fff};
    if (a >= 0x477ff000u) /* 65520 and up (inf included) rounds to infinity */
        return __half{(unsigned short)(sign | 0x7c00u)};
    unsigned int h, rest, halfway;
    if (a >= 0x38800000u) { /* normal half: rebias the exponent, keep 10 mantissa bits */
        h = (a >> 13) - (112u << 10);
        rest = a & 0x1fffu;
        halfway = 0x1000u;
    } else if (a > 0x33000000u) { /* subnormal half: units of 2^-24 */
        unsigned int mant = (a & 0x7fffffu) | 0x800000u;
        unsigned int shift = 126u - (a >> 23);
        h = mant >> shift;
        rest = mant & ((1u << shift) - 1u);
        halfway = 1u << (shift - 1u);
    } else { /* at most 2^-25: rounds to zero (2^-25 itself ties to even zero) */
        return __half{sign};
    }
    if (rest > halfway || (rest == halfway && (h & 1u)))
        ++h; /* a carry into the exponent field is the correct result */
    return __half{(unsigned short)(sign | h)};
}

inline float __half2float(__half h)
{
    unsigned int sign = (unsigned int)(h.__x & 0x8000u) << 16;
    unsigned int exp = (h.__x >> 10) & 0x1fu;
    unsigned int mant = h.__x & 0x3ffu;
    if (exp == 0x1fu)
        return __uint_as_float(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) { /* zero or subnormal: mant * 2^-24 is exact in float */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    return __uint_as_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

#endif
