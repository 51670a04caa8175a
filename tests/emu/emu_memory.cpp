/* Emulated device and pinned memory: host memory in a table of live
 * allocations, so pointer kinds and copy ranges can be checked. */
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "emu_internal.h"

namespace {

struct Allocation {
    size_t size;
    cudaMemoryType type; /* cudaMemoryTypeDevice or cudaMemoryTypeHost (pinned) */
    int device;          /* current when it was allocated */
};

std::mutex table_mutex;
std::map<const char *, Allocation> table; /* keyed by base address */

/* The live allocation holding p (interior pointers included), or null. */
const std::pair<const char *const, Allocation> *find(const void *p)
{
    const char *c = static_cast<const char *>(p);
    auto it = table.upper_bound(c);
    if (it == table.begin())
        return nullptr;
    --it;
    return c < it->first + it->second.size ? &*it : nullptr;
}

/* What CUDA knows of p: unregistered host memory unless inside an allocation. */
Allocation lookup(const void *p)
{
    std::lock_guard<std::mutex> lock(table_mutex);
    auto *a = find(p);
    return a ? a->second : Allocation{0, cudaMemoryTypeUnregistered, -2};
}

cudaMemoryType type_of(const void *p) { return lookup(p).type; }

/* True when [p, p + n) lies inside one live device allocation. */
bool is_device_range(const void *p, size_t n)
{
    std::lock_guard<std::mutex> lock(table_mutex);
    auto *a = find(p);
    if (!a || a->second.type != cudaMemoryTypeDevice)
        return false;
    return n <= a->second.size - (size_t)(static_cast<const char *>(p) - a->first);
}

cudaError_t allocate(void **ptr, size_t size, cudaMemoryType type)
{
    if (!ptr)
        return cudaErrorInvalidValue;
    if (fopt_emu::no_device())
        return cudaErrorNoDevice;
    cudaError_t e = fopt_emu::check_unsafe_call_allowed();
    if (e != cudaSuccess)
        return e;
    *ptr = nullptr;
    if (size == 0)
        return cudaSuccess; /* like CUDA: success and a null pointer */
    void *p = nullptr;
    if (size > fopt_emu::kTotalGlobalMem || posix_memalign(&p, 256, size) != 0) /* exact size: ASan sees overruns */
        return cudaErrorMemoryAllocation;
    std::memset(p, 0xff, size); /* NaN / -1 everywhere: uninitialized reads show */
    {
        std::lock_guard<std::mutex> lock(table_mutex);
        table[static_cast<const char *>(p)] = Allocation{size, type, fopt_emu::current_device()};
    }
    ++fopt_emu::counters.allocations;
    *ptr = p;
    return cudaSuccess;
}

cudaError_t release(void *ptr, cudaMemoryType type)
{
    if (!ptr)
        return cudaSuccess;
    cudaError_t e = fopt_emu::check_unsafe_call_allowed();
    if (e != cudaSuccess)
        return e;
    {
        std::lock_guard<std::mutex> lock(table_mutex);
        auto it = table.find(static_cast<const char *>(ptr));
        if (it == table.end() || it->second.type != type)
            return cudaErrorInvalidValue;
        table.erase(it);
    }
    std::free(ptr);
    ++fopt_emu::counters.frees;
    return cudaSuccess;
}

/* Resolves cudaMemcpyDefault and checks that both sides are what `kind`
 * says (CUDA leaves a mismatch undefined; the harness refuses it). */
cudaError_t check_copy(void *dst, const void *src, size_t count, cudaMemcpyKind &kind)
{
    if (count == 0)
        return cudaSuccess;
    if (!dst || !src)
        return cudaErrorInvalidValue;
    if (kind == cudaMemcpyDefault) {
        bool d = type_of(dst) == cudaMemoryTypeDevice, s = type_of(src) == cudaMemoryTypeDevice;
        kind = d ? (s ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                 : (s ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    }
    bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDeviceToDevice)
        return cudaErrorInvalidValue;
    if (src_device ? !is_device_range(src, count) : type_of(src) == cudaMemoryTypeDevice)
        return cudaErrorInvalidValue;
    if (dst_device ? !is_device_range(dst, count) : type_of(dst) == cudaMemoryTypeDevice)
        return cudaErrorInvalidValue;
    return cudaSuccess;
}

void copy_now(void *dst, const void *src, size_t count, cudaMemcpyKind kind)
{
    if (count == 0)
        return;
    std::memmove(dst, src, count);
    if (kind == cudaMemcpyDeviceToHost)
        ++fopt_emu::counters.d2h_copies;
    else if (kind == cudaMemcpyHostToDevice)
        ++fopt_emu::counters.h2d_copies;
}

cudaError_t check_memset(void *p, size_t count)
{
    if (count == 0)
        return cudaSuccess;
    return is_device_range(p, count) ? cudaSuccess : cudaErrorInvalidValue;
}

} // namespace

using fopt_emu::record;

extern "C" {

cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    return record(allocate(devPtr, size, cudaMemoryTypeDevice));
}

cudaError_t cudaMallocHost(void **ptr, size_t size)
{
    return record(allocate(ptr, size, cudaMemoryTypeHost));
}

cudaError_t cudaFree(void *devPtr) { return record(release(devPtr, cudaMemoryTypeDevice)); }

cudaError_t cudaFreeHost(void *ptr) { return record(release(ptr, cudaMemoryTypeHost)); }

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    ++fopt_emu::counters.syncs;
    cudaError_t e = fopt_emu::check_sync_allowed(nullptr, true);
    if (e == cudaSuccess)
        e = check_copy(dst, src, count, kind);
    if (e == cudaSuccess)
        copy_now(dst, src, count, kind);
    return record(e);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    cudaError_t e = check_copy(dst, src, count, kind);
    if (e == cudaSuccess)
        e = fopt_emu::enqueue(stream, [=] { copy_now(dst, src, count, kind); });
    return record(e);
}

cudaError_t cudaMemset(void *devPtr, int value, size_t count)
{
    return cudaMemsetAsync(devPtr, value, count, nullptr);
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    cudaError_t e = check_memset(devPtr, count);
    if (e == cudaSuccess && count != 0)
        e = fopt_emu::enqueue(stream, [=] { std::memset(devPtr, value, count); });
    return record(e);
}

cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *attributes, const void *ptr)
{
    if (!attributes)
        return record(cudaErrorInvalidValue);
    void *p = const_cast<void *>(ptr);
    Allocation a = lookup(ptr);
    attributes->type = a.type;
    attributes->device = a.device;
    attributes->devicePointer = attributes->type == cudaMemoryTypeUnregistered ? nullptr : p;
    attributes->hostPointer = attributes->type == cudaMemoryTypeDevice ? nullptr : p;
    return cudaSuccess;
}

size_t fopt_emu_live_allocations(void)
{
    std::lock_guard<std::mutex> lock(table_mutex);
    return table.size();
}

} // extern "C"
