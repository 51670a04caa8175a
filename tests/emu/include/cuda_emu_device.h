/* Thread indices, barriers, warp intrinsics and atomics for the CPU harness. */
#ifndef FOPT_EMU_CUDA_EMU_DEVICE_H
#define FOPT_EMU_CUDA_EMU_DEVICE_H

#include <atomic>
#include <cstring>
#include <type_traits>

#include "cuda_emu_types.h"

/* Set by the launcher before a fiber runs. thread_local so that launches
 * from different OS threads do not interfere. */
inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;
constexpr int warpSize = 32;

/* Block barrier. The harness tells barriers apart by source position (file
 * and line survive inlining, unrolling and tail merging, return addresses do
 * not) to report threads waiting at different barriers. */
void fopt_emu_syncthreads(const char *file, int line);
#define __syncthreads() fopt_emu_syncthreads(__FILE__, __LINE__)
void __syncwarp(unsigned int mask = 0xffffffffu);

namespace fopt_emu {
enum class ShflKind { index, bfly, down };
/* One warp exchange: every lane in `mask` offers `bits` and gets the bits of
 * the lane named by kind/arg/width (its own when that lane is out of range). */
unsigned long long shfl(unsigned int mask, unsigned long long bits, ShflKind kind, int arg,
                        int width, const char *what);
/* Ballot over the lanes in `mask`; *participants receives the lanes that took part. */
unsigned int vote(unsigned int mask, int pred, unsigned int *participants, const char *what);

template <class T> unsigned long long to_bits(T v)
{
    static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8,
                  "warp shuffles move trivially copyable values of at most 8 bytes");
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof v);
    return bits;
}
template <class T> T from_bits(unsigned long long bits)
{
    T v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}
} // namespace fopt_emu

template <class T> T __shfl_sync(unsigned int mask, T var, int srcLane, int width = warpSize)
{
    return fopt_emu::from_bits<T>(fopt_emu::shfl(mask, fopt_emu::to_bits(var),
                                                 fopt_emu::ShflKind::index, srcLane, width,
                                                 "__shfl_sync"));
}
template <class T> T __shfl_xor_sync(unsigned int mask, T var, int laneMask, int width = warpSize)
{
    return fopt_emu::from_bits<T>(fopt_emu::shfl(mask, fopt_emu::to_bits(var),
                                                 fopt_emu::ShflKind::bfly, laneMask, width,
                                                 "__shfl_xor_sync"));
}
template <class T>
T __shfl_down_sync(unsigned int mask, T var, unsigned int delta, int width = warpSize)
{
    return fopt_emu::from_bits<T>(fopt_emu::shfl(mask, fopt_emu::to_bits(var),
                                                 fopt_emu::ShflKind::down, (int)delta, width,
                                                 "__shfl_down_sync"));
}
inline unsigned int __ballot_sync(unsigned int mask, int pred)
{
    unsigned int participants;
    return fopt_emu::vote(mask, pred, &participants, "__ballot_sync");
}
inline int __any_sync(unsigned int mask, int pred)
{
    unsigned int participants;
    return fopt_emu::vote(mask, pred, &participants, "__any_sync") != 0;
}
inline int __all_sync(unsigned int mask, int pred)
{
    unsigned int participants;
    return fopt_emu::vote(mask, pred, &participants, "__all_sync") == participants;
}

/* Fibers never switch inside an atomic, so a plain read-modify-write is
 * atomic with respect to every other emulated thread. */
namespace fopt_emu {
template <class T> T rmw_add(T *address, T val)
{
    T old = *address;
    *address = old + val;
    return old;
}

template <class T> T rmw_max(T *address, T val)
{
    T old = *address;
    *address = old < val ? val : old;
    return old;
}

template <class T> T rmw_or(T *address, T val)
{
    T old = *address;
    *address = old | val;
    return old;
}

template <class T> T rmw_cas(T *address, T compare, T val)
{
    T old = *address;
    if (old == compare)
        *address = val;
    return old;
}
} // namespace fopt_emu

inline float atomicAdd(float *address, float val) { return fopt_emu::rmw_add(address, val); }
inline double atomicAdd(double *address, double val) { return fopt_emu::rmw_add(address, val); }
inline int atomicAdd(int *address, int val)
{
    /* wraps like the GPU instead of overflowing signed arithmetic */
    return (int)fopt_emu::rmw_add((unsigned int *)address, (unsigned int)val);
}
inline unsigned int atomicAdd(unsigned int *address, unsigned int val)
{
    return fopt_emu::rmw_add(address, val);
}
inline unsigned long long atomicAdd(unsigned long long *address, unsigned long long val)
{
    return fopt_emu::rmw_add(address, val);
}
inline int atomicMax(int *address, int val) { return fopt_emu::rmw_max(address, val); }
inline unsigned int atomicMax(unsigned int *address, unsigned int val)
{
    return fopt_emu::rmw_max(address, val);
}
inline int atomicOr(int *address, int val) { return fopt_emu::rmw_or(address, val); }
inline unsigned int atomicOr(unsigned int *address, unsigned int val)
{
    return fopt_emu::rmw_or(address, val);
}
inline int atomicCAS(int *address, int compare, int val)
{
    return fopt_emu::rmw_cas(address, compare, val);
}
inline unsigned int atomicCAS(unsigned int *address, unsigned int compare, unsigned int val)
{
    return fopt_emu::rmw_cas(address, compare, val);
}
inline unsigned long long atomicCAS(unsigned long long *address, unsigned long long compare,
                                    unsigned long long val)
{
    return fopt_emu::rmw_cas(address, compare, val);
}

inline void __threadfence(void) { std::atomic_thread_fence(std::memory_order_seq_cst); }

template <class T> T __ldg(const T *ptr) { return *ptr; }

#endif
