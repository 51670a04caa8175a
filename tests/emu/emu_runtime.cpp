/* Errors, devices and the test hooks' counters. */
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "emu_internal.h"

namespace {

constexpr int kDefaultSmCount = 132;
std::atomic<int> device_count{1};
std::atomic<int> sms{kDefaultSmCount};
thread_local cudaError_t last_error = cudaSuccess;
thread_local int device_in_use = 0;

struct ErrorText {
    cudaError_t code;
    const char *name, *text;
};
constexpr ErrorText kErrors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration",
     "invalid configuration argument"},
    {cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle",
     "invalid resource handle"},
    {cudaErrorIllegalState, "cudaErrorIllegalState",
     "the operation cannot be performed in the present state"},
    {cudaErrorStreamCaptureUnsupported, "cudaErrorStreamCaptureUnsupported",
     "operation not permitted when stream is capturing"},
    {cudaErrorStreamCaptureInvalidated, "cudaErrorStreamCaptureInvalidated",
     "operation failed due to a previous error during capture"},
    {cudaErrorStreamCaptureImplicit, "cudaErrorStreamCaptureImplicit",
     "operation would make the legacy stream depend on a capturing blocking stream"},
};

const ErrorText *find_error(cudaError_t e)
{
    for (const ErrorText &t : kErrors)
        if (t.code == e)
            return &t;
    return nullptr;
}

cudaError_t check_device(int device)
{
    if (fopt_emu::no_device())
        return cudaErrorNoDevice;
    return device < 0 || device >= device_count.load() ? cudaErrorInvalidDevice : cudaSuccess;
}

} // namespace

namespace fopt_emu {

Counters counters;

cudaError_t record(cudaError_t e)
{
    if (e != cudaSuccess)
        last_error = e;
    return e;
}

void fatal(const char *fmt, ...)
{
    std::fputs("fopt_emu: ", stderr);
    va_list args;
    va_start(args, fmt);
    std::vfprintf(stderr, fmt, args);
    va_end(args);
    std::fputc('\n', stderr);
    std::abort();
}

bool no_device() { return device_count.load() == 0; }
int current_device() { return device_in_use; }
int sm_count() { return sms.load(); }

} // namespace fopt_emu

using fopt_emu::record;

extern "C" {

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return last_error; }

const char *cudaGetErrorString(cudaError_t error)
{
    const ErrorText *t = find_error(error);
    return t ? t->text : "unrecognized error code";
}

const char *cudaGetErrorName(cudaError_t error)
{
    const ErrorText *t = find_error(error);
    return t ? t->name : "cudaErrorUnknown";
}

cudaError_t cudaGetDeviceCount(int *count)
{
    if (!count)
        return record(cudaErrorInvalidValue);
    *count = device_count.load();
    return record(*count == 0 ? cudaErrorNoDevice : cudaSuccess);
}

cudaError_t cudaGetDevice(int *device)
{
    if (!device)
        return record(cudaErrorInvalidValue);
    if (fopt_emu::no_device())
        return record(cudaErrorNoDevice);
    *device = device_in_use;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    cudaError_t e = check_device(device);
    if (e == cudaSuccess)
        device_in_use = device;
    return record(e);
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    if (!prop)
        return record(cudaErrorInvalidValue);
    cudaError_t e = check_device(device);
    if (e != cudaSuccess)
        return record(e);
    std::memset(prop, 0, sizeof *prop);
    std::snprintf(prop->name, sizeof prop->name, "fusedopt CPU emulator");
    prop->totalGlobalMem = fopt_emu::kTotalGlobalMem;
    prop->sharedMemPerBlock = 48 * 1024;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = 1024;
    prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
    prop->maxThreadsDim[2] = 64;
    prop->maxGridSize[0] = 0x7fffffff;
    prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
    prop->major = 9;
    prop->minor = 0;
    prop->multiProcessorCount = fopt_emu::sm_count();
    prop->l2CacheSize = 50 * 1024 * 1024;
    prop->maxThreadsPerMultiProcessor = 2048;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    if (!value)
        return record(cudaErrorInvalidValue);
    cudaError_t e = check_device(device);
    if (e != cudaSuccess)
        return record(e);
    struct cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, device);
    switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = prop.maxThreadsPerBlock; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = (int)prop.sharedMemPerBlock; break;
    case cudaDevAttrWarpSize: *value = prop.warpSize; break;
    case cudaDevAttrMultiProcessorCount: *value = prop.multiProcessorCount; break;
    case cudaDevAttrComputeCapabilityMajor: *value = prop.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = prop.minor; break;
    default: return record(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

void fopt_emu_get_counters(fopt_emu_counters *out)
{
    using fopt_emu::counters;
    out->syncs = counters.syncs;
    out->d2h_copies = counters.d2h_copies;
    out->h2d_copies = counters.h2d_copies;
    out->allocations = counters.allocations;
    out->frees = counters.frees;
    out->launches = counters.launches;
}

void fopt_emu_reset_counters(void)
{
    using fopt_emu::counters;
    counters.syncs = counters.d2h_copies = counters.h2d_copies = 0;
    counters.allocations = counters.frees = counters.launches = 0;
}

void fopt_emu_set_sm_count(int n) { sms = n < 1 ? kDefaultSmCount : n; }

void fopt_emu_set_device_count(int n) { device_count = n < 0 ? 1 : n; }

} // extern "C"
