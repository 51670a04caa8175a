/*
 * Test hooks of the CPU execution harness (tests only). C and C++.
 */
#ifndef FOPT_EMU_H
#define FOPT_EMU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Process-wide event counts since the last reset. A graph replay counts the
 * launches and copies it executes; capturing them counts nothing. */
typedef struct fopt_emu_counters {
    /* cudaStreamSynchronize, cudaDeviceSynchronize, cudaEventSynchronize and
     * every blocking cudaMemcpy (any direction) */
    unsigned long long syncs;
    unsigned long long d2h_copies;   /* device-to-host copies, sync or async */
    unsigned long long h2d_copies;   /* host-to-device copies, sync or async */
    unsigned long long allocations;  /* successful cudaMalloc and cudaMallocHost */
    unsigned long long frees;        /* successful cudaFree and cudaFreeHost of non-NULL */
    unsigned long long launches;     /* kernel grids executed */
} fopt_emu_counters;

void fopt_emu_get_counters(fopt_emu_counters *out);
void fopt_emu_reset_counters(void);

/* What cudaDeviceProp.multiProcessorCount and cudaDevAttrMultiProcessorCount
 * report. Default 132; n < 1 restores the default. */
void fopt_emu_set_sm_count(int n);

/* Number of emulated devices. Default 1; with 0, cudaGetDeviceCount returns
 * cudaErrorNoDevice and a count of 0, and device calls fail likewise.
 * n < 0 restores the default. */
void fopt_emu_set_device_count(int n);

/* Order in which the blocks of a grid run: 0 = forward (the default),
 * otherwise a permutation shuffled with this seed. */
void fopt_emu_set_block_order(unsigned seed);

/* Number of live cudaMalloc and cudaMallocHost allocations (leak checks). */
size_t fopt_emu_live_allocations(void);

#ifdef __cplusplus
}
#endif

#endif
