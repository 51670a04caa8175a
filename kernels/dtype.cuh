/*
 * Element types of parameters and gradients on the device: fp32, bf16
 * (__nv_bfloat16) and fp16 (__half). fopt_to_float widens exactly;
 * fopt_from_float<T> rounds to nearest-even (CUDA's _rn conversions).
 * fopt_with_dtype maps a runtime fopt_dtype to a type for a template.
 */
#ifndef FOPT_DTYPE_CUH
#define FOPT_DTYPE_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "fusedopt.h"

__device__ __forceinline__ float fopt_to_float(float x)
{
    return x;
}

__device__ __forceinline__ float fopt_to_float(__nv_bfloat16 x)
{
    return __bfloat162float(x);
}

__device__ __forceinline__ float fopt_to_float(__half x)
{
    return __half2float(x);
}

template <class T>
struct fopt_rounding;

template <>
struct fopt_rounding<float> {
    static __device__ __forceinline__ float from_float(float x) { return x; }
};

template <>
struct fopt_rounding<__nv_bfloat16> {
    static __device__ __forceinline__ __nv_bfloat16 from_float(float x) { return __float2bfloat16_rn(x); }
};

template <>
struct fopt_rounding<__half> {
    static __device__ __forceinline__ __half from_float(float x) { return __float2half_rn(x); }
};

template <class T>
__device__ __forceinline__ T fopt_from_float(float x)
{
    return fopt_rounding<T>::from_float(x);
}

/* A type as a value, for fopt_with_dtype's callback. */
template <class T>
struct fopt_type {
    typedef T type;
};

/* Calls f(fopt_type<T>()) with T the storage type of `dtype` and returns its result. */
template <class F>
cudaError_t fopt_with_dtype(fopt_dtype dtype, const F &f)
{
    switch (dtype) {
    case FOPT_BFLOAT16:
        return f(fopt_type<__nv_bfloat16>());
    case FOPT_FLOAT16:
        return f(fopt_type<__half>());
    default:
        return f(fopt_type<float>());
    }
}

#endif /* FOPT_DTYPE_CUH */
