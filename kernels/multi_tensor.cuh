/*
 * The multi-tensor walk shared by the update kernels: blocks take chunks of
 * the chunk table grid-stride; the threads of a block stride over the
 * chunk's elements. A chunk of a tensor whose parameter and gradient
 * pointers are aligned to four of their elements (vec_ok; the state and
 * master slices always are) is read and written four elements at a time,
 * one vector access per array: 128-bit for fp32 arrays, 64-bit for bf16 /
 * fp16 ones; its last length % 4 elements, and every chunk of any other
 * tensor, element by element. 16-bit gradients (G) are widened to fp32;
 * with 16-bit parameters (P) the update works on the fp32 master weight,
 * which is written back, and the parameter is then written as the master
 * rounded to P (never read); without master (bf16 with stochastic rounding)
 * the update works on the widened parameter, written back rounded
 * stochastically (stochastic_round.h) with the element's index in the
 * concatenated tensors, so both paths give the same bits.
 *
 * An update is a functor `void operator()(float &p, float g, float (&s)[FOPT_MAX_STATE])`
 * applied to one element: the parameter (or master weight), the gradient and
 * the NSTATE state values of that element (the other entries of s are unused).
 * Its `for_tensor(base_lr, weight_decay)` returns the update of a tensor
 * with that base lr and weight decay (per tensor: parameter groups); each
 * chunk uses its tensor's.
 */
#ifndef FOPT_MULTI_TENSOR_CUH
#define FOPT_MULTI_TENSOR_CUH

#include <type_traits>

#include "dtype.cuh"
#include "launchers.h"
#include "stochastic_round.h"

/* How the update kernels round 16-bit parameters: nearest-even, or
 * stochastically (bf16 only) with the step's hash base. */
struct fopt_param_rounding {
    int stochastic;
    uint64_t base;
};

/* `p` unchanged; under nvcc it also tells the compiler that p points to
 * global memory (the table's pointers could be any address space to it), so
 * the accesses become ld.global / st.global instead of generic ones. */
template <class T>
__device__ __forceinline__ T *fopt_global(T *p)
{
#ifdef __CUDA_ARCH__
    __builtin_assume(__isGlobal(p));
#endif
    return p;
}

/* Component j (0..3) of v; with a constant j this folds to a register. */
__device__ __forceinline__ float &fopt_lane(float4 &v, int j)
{
    return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w;
}

/* Four consecutive elements of type T, copied with one 4 * sizeof(T)-byte access. */
template <class T>
struct alignas(4 * sizeof(T)) fopt_quad {
    T lane[4];
};

/* p rounded to the parameter type P: stochastically for bf16 when asked
 * (hashed with the element's `index`), else to nearest-even. */
template <class P>
__device__ __forceinline__ P fopt_round_param(float p, const fopt_param_rounding &rounding, int64_t index)
{
    if constexpr (std::is_same<P, __nv_bfloat16>::value) {
        if (rounding.stochastic) {
            return __ushort_as_bfloat16(fopt_sr_bf16(__float_as_uint(p), rounding.base, (uint64_t)index));
        }
    }
    return fopt_from_float<P>(p);
}

/* Elements 4i .. 4i+3 of a chunk, one vector load and store per array;
 * `master` is NULL for fp32 parameters and with stochastic rounding;
 * `index` is element 4i's index in the concatenated tensors. */
template <int NSTATE, class P, class G, class Update>
__device__ __forceinline__ void fopt_update_vec4(P *param, const G *grad, float *master, float *const *state,
                                                 int i, const Update &update, const fopt_param_rounding &rounding,
                                                 int64_t index)
{
    const bool has_master = !std::is_same<P, float>::value && master;
    float4 p;
    if (has_master) {
        p = reinterpret_cast<float4 *>(master)[i];
    } else {
        const fopt_quad<P> stored = reinterpret_cast<fopt_quad<P> *>(param)[i];
        for (int j = 0; j < 4; ++j) {
            fopt_lane(p, j) = fopt_to_float(stored.lane[j]);
        }
    }
    const fopt_quad<G> g = reinterpret_cast<const fopt_quad<G> *>(grad)[i];
    float4 sv[FOPT_MAX_STATE];
    for (int k = 0; k < NSTATE; ++k) {
        sv[k] = reinterpret_cast<float4 *>(state[k])[i];
    }
    for (int j = 0; j < 4; ++j) {
        float s[FOPT_MAX_STATE];
        for (int k = 0; k < NSTATE; ++k) {
            s[k] = fopt_lane(sv[k], j);
        }
        update(fopt_lane(p, j), fopt_to_float(g.lane[j]), s);
        for (int k = 0; k < NSTATE; ++k) {
            fopt_lane(sv[k], j) = s[k];
        }
    }
    if (has_master) {
        reinterpret_cast<float4 *>(master)[i] = p;
    }
    fopt_quad<P> out;
    for (int j = 0; j < 4; ++j) {
        out.lane[j] = fopt_round_param<P>(fopt_lane(p, j), rounding, index + j);
    }
    reinterpret_cast<fopt_quad<P> *>(param)[i] = out;
    for (int k = 0; k < NSTATE; ++k) {
        reinterpret_cast<float4 *>(state[k])[i] = sv[k];
    }
}

/* Element i of a chunk, with scalar loads and stores; `master` and `index`
 * as for fopt_update_vec4. */
template <int NSTATE, class P, class G, class Update>
__device__ __forceinline__ void fopt_update_scalar(P *param, const G *grad, float *master,
                                                   float *const *state, int i, const Update &update,
                                                   const fopt_param_rounding &rounding, int64_t index)
{
    const bool has_master = !std::is_same<P, float>::value && master;
    float p = has_master ? master[i] : fopt_to_float(param[i]);
    float s[FOPT_MAX_STATE];
    for (int k = 0; k < NSTATE; ++k) {
        s[k] = state[k][i];
    }
    update(p, fopt_to_float(grad[i]), s);
    if (has_master) {
        master[i] = p;
    }
    param[i] = fopt_round_param<P>(p, rounding, index);
    for (int k = 0; k < NSTATE; ++k) {
        state[k][i] = s[k];
    }
}

/* Applies `update` to every element of every chunk in `table`, whose
 * parameters are of type P and gradients of type G. */
template <int NSTATE, class P, class G, class Update>
__device__ void fopt_for_each_element(const fopt_chunk_table &table, const Update &update,
                                      const fopt_param_rounding &rounding)
{
    for (int64_t c = blockIdx.x; c < table.num_chunks; c += gridDim.x) {
        const fopt_kernel_chunk chunk = table.chunks[c];
        const fopt_kernel_tensor &tensor = table.tensors[chunk.tensor];
        P *param = fopt_global(static_cast<P *>(tensor.param) + chunk.start);
        const G *grad = fopt_global(static_cast<const G *>(tensor.grad) + chunk.start);
        float *master = std::is_same<P, float>::value || !tensor.master ? nullptr
                                                                         : fopt_global(tensor.master + chunk.start);
        float *state[FOPT_MAX_STATE];
        for (int k = 0; k < NSTATE; ++k) {
            state[k] = fopt_global(tensor.state[k] + chunk.start);
        }
        const int64_t index = tensor.offset + chunk.start;
        const Update tensor_update = update.for_tensor(tensor.base_lr, tensor.weight_decay);
        int scalar_from = 0;
        if (tensor.vec_ok) {
            const int num_vec = chunk.length / 4;
            for (int i = threadIdx.x; i < num_vec; i += blockDim.x) {
                fopt_update_vec4<NSTATE>(param, grad, master, state, i, tensor_update, rounding, index + 4 * i);
            }
            scalar_from = num_vec * 4;
        }
        for (int i = scalar_from + threadIdx.x; i < chunk.length; i += blockDim.x) {
            fopt_update_scalar<NSTATE>(param, grad, master, state, i, tensor_update, rounding, index + i);
        }
    }
}

#endif /* FOPT_MULTI_TENSOR_CUH */
