/* Kernel launches: configuration checks, stream ordering, block order. */
#include <utility>
#include <vector>

#include "emu_internal.h"

namespace {

std::atomic<unsigned> block_order_seed{0};

cudaError_t check_config(dim3 grid, dim3 block)
{
    unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64)
        return cudaErrorInvalidConfiguration;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 0x7fffffffu || grid.y > 65535 ||
        grid.z > 65535)
        return cudaErrorInvalidConfiguration;
    return cudaSuccess;
}

/* splitmix64: a seeded, portable sequence for the block permutation */
unsigned long long next_random(unsigned long long &state)
{
    unsigned long long z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

} // namespace

namespace fopt_emu {

void run_grid(dim3 grid, dim3 block, const std::function<void()> &body)
{
    if (in_kernel())
        fatal("a kernel launch from inside a kernel is not supported");
    ++counters.launches;
    gridDim = grid;
    blockDim = block;
    unsigned nthreads = block.x * block.y * block.z;
    unsigned long long nblocks = (unsigned long long)grid.x * grid.y * grid.z;
    auto run = [&](unsigned long long b) {
        blockIdx.x = (unsigned)(b % grid.x);
        blockIdx.y = (unsigned)(b / grid.x % grid.y);
        blockIdx.z = (unsigned)(b / grid.x / grid.y);
        run_block(nthreads, body);
    };
    unsigned seed = block_order_seed.load();
    if (seed == 0) {
        for (unsigned long long b = 0; b < nblocks; ++b)
            run(b);
        return;
    }
    std::vector<unsigned long long> order(nblocks);
    for (unsigned long long b = 0; b < nblocks; ++b)
        order[b] = b;
    unsigned long long state = seed;
    for (unsigned long long i = nblocks; i > 1; --i) /* Fisher-Yates */
        std::swap(order[i - 1], order[next_random(state) % i]);
    for (unsigned long long b : order)
        run(b);
}

} // namespace fopt_emu

void fopt_emu_launch(dim3 grid, dim3 block, size_t shmem, cudaStream_t stream,
                     const std::function<void()> &body)
{
    using namespace fopt_emu;
    if (shmem != 0)
        fatal("launch with %zu bytes of dynamic shared memory: not emulated, pass 0", shmem);
    if (no_device()) {
        record(cudaErrorNoDevice);
        return;
    }
    cudaError_t e = check_config(grid, block);
    if (e == cudaSuccess)
        e = enqueue(stream, [grid, block, body] { run_grid(grid, block, body); });
    record(e);
}

extern "C" void fopt_emu_set_block_order(unsigned seed) { block_order_seed = seed; }
