/* CUDA device math and bit casts for the CPU harness. */
#ifndef FOPT_EMU_CUDA_EMU_MATH_H
#define FOPT_EMU_CUDA_EMU_MATH_H

#include <cstring>
#include <math.h> /* libstdc++'s <math.h> also puts isfinite & co. in the global namespace */

namespace fopt_emu {
/* Hides a value from the optimizer so that a * b + c written with the _rn
 * intrinsics is never contracted into an fma, as CUDA guarantees. */
inline float opaque(float x)
{
    __asm__("" : "+g"(x));
    return x;
}
template <class To, class From> To bit_cast(From v)
{
    static_assert(sizeof(To) == sizeof(From), "bit_cast needs equal sizes");
    To r;
    std::memcpy(&r, &v, sizeof r);
    return r;
}
} // namespace fopt_emu

/* CUDA's rsqrtf is approximate (2 ulp); this is within 1 ulp. */
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __fadd_rn(float a, float b) { return fopt_emu::opaque(a + b); }
inline float __fmul_rn(float a, float b) { return fopt_emu::opaque(a * b); }
inline float __fdiv_rn(float a, float b) { return fopt_emu::opaque(a / b); }
inline float __frcp_rn(float x) { return fopt_emu::opaque(1.0f / x); }
inline float __fsqrt_rn(float x) { return sqrtf(x); }

inline unsigned int __float_as_uint(float x) { return fopt_emu::bit_cast<unsigned int>(x); }
inline float __uint_as_float(unsigned int x) { return fopt_emu::bit_cast<float>(x); }
inline int __float_as_int(float x) { return fopt_emu::bit_cast<int>(x); }
inline float __int_as_float(int x) { return fopt_emu::bit_cast<float>(x); }
inline long long __double_as_longlong(double x) { return fopt_emu::bit_cast<long long>(x); }
inline double __longlong_as_double(long long x) { return fopt_emu::bit_cast<double>(x); }

/* The min/max overloads CUDA declares for device code. */
#define FOPT_EMU_MINMAX(T)                                                                      \
    inline T min(T a, T b) { return a < b ? a : b; }                                            \
    inline T max(T a, T b) { return a > b ? a : b; }
FOPT_EMU_MINMAX(int)
FOPT_EMU_MINMAX(unsigned int)
FOPT_EMU_MINMAX(long)
FOPT_EMU_MINMAX(unsigned long)
FOPT_EMU_MINMAX(long long)
FOPT_EMU_MINMAX(unsigned long long)
#undef FOPT_EMU_MINMAX
/* mixed signedness compares as unsigned, as in CUDA */
inline unsigned int min(int a, unsigned int b) { return min((unsigned int)a, b); }
inline unsigned int min(unsigned int a, int b) { return min(a, (unsigned int)b); }
inline unsigned int max(int a, unsigned int b) { return max((unsigned int)a, b); }
inline unsigned int max(unsigned int a, int b) { return max(a, (unsigned int)b); }
/* floating point: fminf/fmaxf semantics (a NaN operand yields the other one) */
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline double min(float a, double b) { return fmin(a, b); }
inline double min(double a, float b) { return fmin(a, b); }
inline double max(float a, double b) { return fmax(a, b); }
inline double max(double a, float b) { return fmax(a, b); }

#endif
