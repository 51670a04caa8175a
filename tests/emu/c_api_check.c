/* Compiled as C11: proves the stand-in runtime header and the hooks are
 * valid C and usable from C host code like src/cuda_backend.c. */
#include <cuda_runtime_api.h>
#include <string.h>

#include "fopt_emu.h"

/* 0 on success, else the line that failed. */
int emu_c_api_roundtrip(void)
{
    float host[3] = {1.0f, 2.0f, 3.0f}, back[3] = {0};
    void *dev = NULL;
    struct cudaPointerAttributes attr;
    fopt_emu_counters c;
    size_t live = fopt_emu_live_allocations();

    fopt_emu_reset_counters();
    if (cudaMalloc(&dev, sizeof host) != cudaSuccess)
        return __LINE__;
    if (cudaPointerGetAttributes(&attr, dev) != cudaSuccess || attr.type != cudaMemoryTypeDevice)
        return __LINE__;
    if (cudaMemcpyAsync(dev, host, sizeof host, cudaMemcpyHostToDevice, 0) != cudaSuccess)
        return __LINE__;
    if (cudaMemcpy(back, dev, sizeof back, cudaMemcpyDeviceToHost) != cudaSuccess)
        return __LINE__;
    if (memcmp(host, back, sizeof host) != 0)
        return __LINE__;
    if (fopt_emu_live_allocations() != live + 1 || cudaFree(dev) != cudaSuccess)
        return __LINE__;
    fopt_emu_get_counters(&c);
    if (c.allocations != 1 || c.frees != 1 || c.h2d_copies != 1 || c.d2h_copies != 1 ||
        c.syncs != 1 || c.launches != 0)
        return __LINE__;
    return 0;
}
