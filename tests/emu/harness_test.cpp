/* The launcher and the block scheduler: kernels give what a GPU gives. */
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "emu_test_util.h"
#include "harness_kernels.h"

namespace {

using HarnessTest = EmuTest;
using HarnessDeathTest = EmuTest;

std::vector<float> ramp(size_t n, int mod, int offset)
{
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = (float)((int)(i % (size_t)mod) - offset);
    return v;
}

TEST_F(HarnessTest, GridStrideElementwiseMatchesHostLoop)
{
    const size_t sizes[] = {0, 1, 4095, (1u << 20) + 3};
    const unsigned grids[] = {1, 3, 132};
    for (size_t n : sizes)
        for (unsigned grid : grids) {
            std::vector<float> x = ramp(n, 7, 3), y = ramp(n, 5, 0), want = y;
            for (size_t i = 0; i < n; ++i)
                want[i] += 0.5f * x[i];
            DeviceBuffer<float> dx(x), dy(y);
            ASSERT_EQ(harness::axpy(grid, 256, n, 0.5f, dx.get(), dy.get()), cudaSuccess);
            EXPECT_EQ(dy.read(), want) << "n=" << n << " grid=" << grid;
        }
}

TEST_F(HarnessTest, ThreadAndBlockIndicesCoverMultiDimensionalLaunches)
{
    const dim3 grid(3, 2, 2), block(8, 4, 2);
    const size_t total = 3 * 2 * 2 * 8 * 4 * 2;
    DeviceBuffer<unsigned> out(total);
    ASSERT_EQ(harness::thread_ids(grid, block, out.get()), cudaSuccess);
    std::vector<unsigned> want(total);
    std::iota(want.begin(), want.end(), 0u);
    EXPECT_EQ(out.read(), want);
}

TEST_F(HarnessTest, SharedMemoryBlockReductionIsExact)
{
    const size_t n = 100003;
    std::vector<long long> x(n);
    for (size_t i = 0; i < n; ++i)
        x[i] = (long long)(i * 2654435761u % 1000003) - 500000;
    for (unsigned block : {32u, 256u, 1024u}) {
        const unsigned grid = 7;
        DeviceBuffer<long long> dx(x), out(grid);
        ASSERT_EQ(harness::block_sum(grid, block, n, dx.get(), out.get()), cudaSuccess);
        std::vector<long long> want(grid, 0);
        for (size_t i = 0; i < n; ++i)
            want[i / block % grid] += x[i];
        EXPECT_EQ(out.read(), want) << "block=" << block;
    }
}

TEST_F(HarnessTest, WarpShuffleReductionsAreExact)
{
    const unsigned grid = 3, block = 128, warps = grid * block / 32;
    std::vector<int> v(grid * block);
    for (size_t i = 0; i < v.size(); ++i)
        v[i] = (int)(i * i % 1009) - 300;
    DeviceBuffer<int> dv(v), xor_out(warps), down_out(warps);
    ASSERT_EQ(harness::warp_sums(grid, block, dv.get(), xor_out.get(), down_out.get()),
              cudaSuccess);
    std::vector<int> want(warps, 0);
    for (size_t i = 0; i < v.size(); ++i)
        want[i / 32] += v[i];
    EXPECT_EQ(xor_out.read(), want);
    EXPECT_EQ(down_out.read(), want);
}

TEST_F(HarnessTest, ShflSyncHonoursWidthSegments)
{
    const unsigned block = 64;
    std::vector<double> v(block);
    for (unsigned i = 0; i < block; ++i)
        v[i] = 0.25 * i;
    for (int width : {32, 8, 1}) {
        DeviceBuffer<double> dv(v), out(block);
        ASSERT_EQ(harness::shfl_rotate(block, width, dv.get(), out.get()), cudaSuccess);
        std::vector<double> want(block);
        for (unsigned t = 0; t < block; ++t) {
            unsigned lane = t % 32, base = lane / width * width;
            want[t] = v[t - lane + base + (lane + 1) % width];
        }
        EXPECT_EQ(out.read(), want) << "width=" << width;
    }
}

TEST_F(HarnessTest, VotesSeeEveryLaneOfTheirWarp)
{
    std::vector<int> v(96, 1);
    v[3] = 0;                          /* warp 0: all but lane 3 */
    for (int i = 32; i < 64; ++i)      /* warp 1: none */
        v[i] = -1;
    DeviceBuffer<int> dv(v), any(3), all(3);
    DeviceBuffer<unsigned> ballot(3);
    ASSERT_EQ(harness::votes(96, dv.get(), ballot.get(), any.get(), all.get()), cudaSuccess);
    EXPECT_EQ(ballot.read(), (std::vector<unsigned>{0xfffffff7u, 0u, 0xffffffffu}));
    EXPECT_EQ(any.read(), (std::vector<int>{1, 0, 1}));
    EXPECT_EQ(all.read(), (std::vector<int>{0, 0, 1}));
}

TEST_F(HarnessTest, ShuffledBlockOrderKeepsOrderIndependentResults)
{
    const size_t n = 65537;
    std::vector<long long> x(n);
    for (size_t i = 0; i < n; ++i)
        x[i] = (long long)(i % 97) * 3 - 100;
    DeviceBuffer<long long> dx(x), forward(13), shuffled(13);
    ASSERT_EQ(harness::block_sum(13, 128, n, dx.get(), forward.get()), cudaSuccess);
    fopt_emu_set_block_order(12345);
    ASSERT_EQ(harness::block_sum(13, 128, n, dx.get(), shuffled.get()), cudaSuccess);
    EXPECT_EQ(forward.read(), shuffled.read());
}

TEST_F(HarnessTest, BlockOrderIsForwardByDefaultAndSeededOtherwise)
{
    const unsigned grid = 64;
    std::vector<unsigned> identity(grid);
    std::iota(identity.begin(), identity.end(), 0u);
    auto run = [&](unsigned seed) {
        fopt_emu_set_block_order(seed);
        DeviceBuffer<unsigned> counter(std::vector<unsigned>{0}), out(grid);
        EXPECT_EQ(harness::block_order(grid, counter.get(), out.get()), cudaSuccess);
        return out.read();
    };
    EXPECT_EQ(run(0), identity);
    std::vector<unsigned> a = run(7), b = run(7), c = run(8);
    EXPECT_NE(a, identity);
    EXPECT_EQ(a, b) << "same seed, same order";
    EXPECT_NE(a, c);
    std::sort(a.begin(), a.end());
    EXPECT_EQ(a, identity) << "every block runs exactly once";
}

TEST_F(HarnessTest, BadLaunchConfigurationFailsLikeCuda)
{
    DeviceBuffer<float> d(1);
    const struct {
        dim3 grid, block;
    } bad[] = {{dim3(1), dim3(0)},    {dim3(1), dim3(1025)},   {dim3(0), dim3(32)},
               {dim3(1, 0), dim3(32)}, {dim3(1), dim3(32, 32, 2)}, {dim3(1), dim3(1, 1, 65)}};
    for (const auto &c : bad) {
        fopt_emu_reset_counters();
        fopt_emu_launch(c.grid, c.block, 0, nullptr, [] { FAIL() << "a bad launch ran"; });
        EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
        EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
        EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "reading the error clears it";
        fopt_emu_counters counters;
        fopt_emu_get_counters(&counters);
        EXPECT_EQ(counters.launches, 0u);
    }
    EXPECT_EQ(harness::axpy(1, 1024, 1, 1.0f, d.get(), d.get()), cudaSuccess);
}

TEST_F(HarnessTest, ElementwiseMillionTiming)
{
    const size_t n = 1u << 20;
    DeviceBuffer<float> x(ramp(n, 7, 3)), y(ramp(n, 5, 0));
    auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(harness::axpy(1024, 256, n, 2.0f, x.get(), y.get()), cudaSuccess);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    std::printf("[ timing   ] elementwise kernel, 1M floats, grid 1024 x 256: %.1f ms\n", ms);
    RecordProperty("elementwise_1M_ms", std::to_string(ms));
    EXPECT_LT(ms, 10000.0) << "pathologically slow: threads switch context per element?";
}

TEST_F(HarnessDeathTest, ThreadsExitingPastABarrierAreDetected)
{
    EXPECT_DEATH(harness::divergent_barrier(64, 16), "Divergent __syncthreads");
}

TEST_F(HarnessDeathTest, ThreadsAtDifferentBarriersAreDetected)
{
    DeviceBuffer<int> out(64);
    EXPECT_DEATH(harness::split_barrier(64, out.get()), "divergent __syncthreads");
}

TEST_F(HarnessDeathTest, ShuffleFromAMissingLaneIsDetected)
{
    DeviceBuffer<int> out(32);
    EXPECT_EQ(harness::shfl_down_16(32, out.get()), cudaSuccess);
    EXPECT_DEATH(harness::shfl_down_16(20, out.get()), "reads lane 20, which does not take part");
}

TEST_F(HarnessDeathTest, BarrierOutsideAKernelIsDetected)
{
    EXPECT_DEATH(__syncthreads(), "__syncthreads called outside a kernel");
}

} // namespace
