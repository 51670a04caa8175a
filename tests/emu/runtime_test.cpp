/* The emulated runtime: memory, pointer kinds, counters, streams, capture. */
#include <cstdint>
#include <cstring>

#include "emu_test_util.h"
#include "harness_kernels.h"

extern "C" int emu_c_api_roundtrip(void);

namespace {

using RuntimeTest = EmuTest;

fopt_emu_counters counters_now()
{
    fopt_emu_counters c;
    fopt_emu_get_counters(&c);
    return c;
}

TEST_F(RuntimeTest, DeviceMemoryIsAlignedAndKnownInside)
{
    void *p = nullptr, *q = nullptr;
    ASSERT_EQ(cudaMalloc(&p, 1000), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&q, 3), cudaSuccess);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 256, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 256, 0u);
    EXPECT_EQ(fopt_emu_live_allocations(), 2u);

    cudaPointerAttributes a;
    for (size_t offset : {0, 1, 999}) {
        ASSERT_EQ(cudaPointerGetAttributes(&a, static_cast<char *>(p) + offset), cudaSuccess);
        EXPECT_EQ(a.type, cudaMemoryTypeDevice) << offset;
        EXPECT_EQ(a.devicePointer, static_cast<char *>(p) + offset);
        EXPECT_EQ(a.hostPointer, nullptr);
        EXPECT_EQ(a.device, 0);
    }
    int on_stack = 0;
    ASSERT_EQ(cudaPointerGetAttributes(&a, &on_stack), cudaSuccess);
    EXPECT_EQ(a.type, cudaMemoryTypeUnregistered);
    if (static_cast<char *>(p) + 1000 != q) {
        ASSERT_EQ(cudaPointerGetAttributes(&a, static_cast<char *>(p) + 1000), cudaSuccess);
        EXPECT_EQ(a.type, cudaMemoryTypeUnregistered) << "one past the end is outside";
    }

    void *pinned = nullptr;
    ASSERT_EQ(cudaMallocHost(&pinned, 64), cudaSuccess);
    ASSERT_EQ(cudaPointerGetAttributes(&a, pinned), cudaSuccess);
    EXPECT_EQ(a.type, cudaMemoryTypeHost);
    EXPECT_EQ(a.hostPointer, pinned);
    EXPECT_EQ(cudaFree(pinned), cudaErrorInvalidValue) << "pinned memory needs cudaFreeHost";
    EXPECT_EQ(cudaFreeHost(pinned), cudaSuccess);

    EXPECT_EQ(cudaFree(static_cast<char *>(p) + 8), cudaErrorInvalidValue);
    EXPECT_EQ(cudaFree(&on_stack), cudaErrorInvalidValue);
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
    EXPECT_EQ(cudaFree(p), cudaSuccess);
    EXPECT_EQ(cudaFree(p), cudaErrorInvalidValue) << "double free";
    EXPECT_EQ(cudaFree(q), cudaSuccess);
    EXPECT_EQ(cudaFree(nullptr), cudaSuccess);

    void *empty = &on_stack;
    EXPECT_EQ(cudaMalloc(&empty, 0), cudaSuccess);
    EXPECT_EQ(empty, nullptr);
    EXPECT_EQ(cudaMalloc(&empty, SIZE_MAX), cudaErrorMemoryAllocation);
    (void)cudaGetLastError();
}

TEST_F(RuntimeTest, CopiesAreCheckedAgainstTheirKind)
{
    DeviceBuffer<int> d(4);
    int host[4] = {1, 2, 3, 4}, back[4] = {};
    EXPECT_EQ(cudaMemcpy(d.get(), host, sizeof host, cudaMemcpyHostToDevice), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(back, d.get(), sizeof back, cudaMemcpyDefault), cudaSuccess);
    EXPECT_EQ(std::memcmp(host, back, sizeof host), 0);
    EXPECT_EQ(cudaMemcpy(d.get(), host, sizeof host + 1, cudaMemcpyHostToDevice),
              cudaErrorInvalidValue) << "overruns the allocation";
    EXPECT_EQ(cudaMemcpy(back, host, sizeof host, cudaMemcpyHostToDevice), cudaErrorInvalidValue)
        << "destination is not device memory";
    EXPECT_EQ(cudaMemcpy(d.get(), host, sizeof host, cudaMemcpyDeviceToHost),
              cudaErrorInvalidValue) << "direction reversed";
    EXPECT_EQ(cudaMemset(d.get() + 1, 0, 3 * sizeof(int)), cudaSuccess);
    EXPECT_EQ(d.read(), (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(cudaMemset(host, 0, sizeof host), cudaErrorInvalidValue);
    (void)cudaGetLastError();
}

TEST_F(RuntimeTest, CountersCountSyncsTransfersAllocationsAndLaunches)
{
    cudaStream_t s;
    ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
    std::vector<float> host(16, 1.0f);
    fopt_emu_reset_counters();
    {
        DeviceBuffer<float> x(host), y(16); /* 2 allocations, 1 blocking H2D */
        ASSERT_EQ(cudaMemcpyAsync(y.get(), host.data(), 64, cudaMemcpyHostToDevice, s),
                  cudaSuccess);
        ASSERT_EQ(harness::axpy(1, 32, 16, 1.0f, x.get(), y.get(), s), cudaSuccess);
        ASSERT_EQ(harness::axpy(1, 32, 16, 1.0f, x.get(), y.get(), s), cudaSuccess);
        ASSERT_EQ(cudaMemcpyAsync(host.data(), y.get(), 64, cudaMemcpyDeviceToHost, s),
                  cudaSuccess);
        ASSERT_EQ(cudaMemcpy(y.get(), x.get(), 64, cudaMemcpyDeviceToDevice), cudaSuccess);
        ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    }
    EXPECT_EQ(host[0], 3.0f);
    fopt_emu_counters c = counters_now();
    EXPECT_EQ(c.allocations, 2u);
    EXPECT_EQ(c.frees, 2u);
    EXPECT_EQ(c.h2d_copies, 2u);
    EXPECT_EQ(c.d2h_copies, 1u);
    EXPECT_EQ(c.launches, 2u);
    EXPECT_EQ(c.syncs, 4u) << "2 blocking cudaMemcpy, 1 stream sync, 1 device sync";
    fopt_emu_reset_counters();
    c = counters_now();
    EXPECT_EQ(c.syncs + c.d2h_copies + c.h2d_copies + c.allocations + c.frees + c.launches, 0u);
    EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
}

TEST_F(RuntimeTest, GraphCaptureRecordsAndReplays)
{
    cudaStream_t s;
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    DeviceBuffer<float> x(std::vector<float>(100, 1.0f)), y(std::vector<float>(100, 0.0f));
    DeviceBuffer<int> marker(1);
    float last = -1.0f;

    fopt_emu_reset_counters();
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ASSERT_EQ(cudaMemsetAsync(marker.get(), 0, sizeof(int), s), cudaSuccess);
    ASSERT_EQ(harness::axpy(2, 64, 100, 2.0f, x.get(), y.get(), s), cudaSuccess);
    ASSERT_EQ(cudaMemcpyAsync(&last, y.get() + 99, sizeof last, cudaMemcpyDeviceToHost, s),
              cudaSuccess);
    cudaGraph_t graph;
    ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
    EXPECT_EQ(y.read()[0], 0.0f) << "captured work must not run";
    EXPECT_EQ(last, -1.0f);
    EXPECT_EQ(counters_now().launches, 0u);

    cudaGraphExec_t exec;
    ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess) << "the executable keeps its own copy";
    fopt_emu_reset_counters();
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    fopt_emu_counters c = counters_now();
    EXPECT_EQ(c.launches, 3u);
    EXPECT_EQ(c.d2h_copies, 3u);
    EXPECT_EQ(c.syncs + c.allocations + c.frees, 0u);
    EXPECT_EQ(last, 6.0f);
    EXPECT_EQ(y.read(), std::vector<float>(100, 6.0f));
    EXPECT_EQ(marker.read()[0], 0);
    EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
    EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
}

TEST_F(RuntimeTest, ProhibitedCallsInvalidateACapture)
{
    cudaStream_t s;
    ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal),
              cudaErrorStreamCaptureUnsupported) << "the legacy stream cannot capture";

    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaErrorIllegalState);
    EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorIllegalState) << "no longer capturing";

    void *p = nullptr;
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_EQ(cudaMalloc(&p, 16), cudaErrorStreamCaptureUnsupported);
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);

    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorStreamCaptureUnsupported);
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);

    DeviceBuffer<int> d(1);
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_EQ(cudaMemsetAsync(d.get(), 0, 4, nullptr), cudaErrorStreamCaptureImplicit)
        << "legacy-stream work next to a capturing blocking stream";
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);

    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), cudaSuccess);
    EXPECT_EQ(cudaMalloc(&p, 16), cudaSuccess) << "relaxed mode allows allocation";
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
    EXPECT_EQ(cudaFree(p), cudaSuccess);
    EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
    EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
    EXPECT_EQ(cudaStreamDestroy(s), cudaErrorInvalidResourceHandle);
    (void)cudaGetLastError();
}

TEST_F(RuntimeTest, EventsTimeRecordedWork)
{
    cudaEvent_t start, stop, untimed;
    ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
    ASSERT_EQ(cudaEventCreateWithFlags(&stop, cudaEventBlockingSync), cudaSuccess);
    ASSERT_EQ(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming), cudaSuccess);
    float ms = -1.0f;
    EXPECT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaErrorInvalidResourceHandle)
        << "not recorded yet";
    ASSERT_EQ(cudaEventRecord(start), cudaSuccess);
    ASSERT_EQ(cudaEventRecord(stop, nullptr), cudaSuccess);
    ASSERT_EQ(cudaEventRecord(untimed), cudaSuccess);
    ASSERT_EQ(cudaEventSynchronize(stop), cudaSuccess);
    ASSERT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
    EXPECT_GE(ms, 0.0f);
    EXPECT_EQ(cudaEventElapsedTime(&ms, start, untimed), cudaErrorInvalidResourceHandle);
    for (cudaEvent_t e : {start, stop, untimed})
        EXPECT_EQ(cudaEventDestroy(e), cudaSuccess);
    (void)cudaGetLastError();
}

TEST_F(RuntimeTest, DevicesAndPropertiesFollowTheHooks)
{
    int count = -1, sms = 0, device = -1;
    ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
    EXPECT_EQ(count, 1);
    cudaDeviceProp prop;
    ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
    EXPECT_EQ(prop.multiProcessorCount, 132);
    EXPECT_EQ(prop.maxThreadsPerBlock, 1024);
    EXPECT_GT(prop.totalGlobalMem, 0u);
    EXPECT_GT(prop.l2CacheSize, 0);
    EXPECT_STRNE(prop.name, "");
    fopt_emu_set_sm_count(2);
    ASSERT_EQ(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), cudaSuccess);
    EXPECT_EQ(sms, 2);
    fopt_emu_set_sm_count(0);
    ASSERT_EQ(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), cudaSuccess);
    EXPECT_EQ(sms, 132);
    ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
    EXPECT_EQ(device, 0);
    EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
    EXPECT_EQ(cudaGetDeviceProperties(&prop, 1), cudaErrorInvalidDevice);

    fopt_emu_set_device_count(0);
    EXPECT_EQ(cudaGetDeviceCount(&count), cudaErrorNoDevice);
    EXPECT_EQ(count, 0);
    void *p = &count;
    EXPECT_EQ(cudaMalloc(&p, 4), cudaErrorNoDevice);
    cudaStream_t s;
    EXPECT_EQ(cudaStreamCreate(&s), cudaErrorNoDevice);
    EXPECT_EQ(cudaGetLastError(), cudaErrorNoDevice);
    fopt_emu_launch(dim3(1), dim3(1), 0, nullptr, [] { FAIL() << "ran without a device"; });
    EXPECT_EQ(cudaGetLastError(), cudaErrorNoDevice);
}

TEST_F(RuntimeTest, ErrorsHaveNamesAndText)
{
    EXPECT_STREQ(cudaGetErrorName(cudaErrorInvalidConfiguration), "cudaErrorInvalidConfiguration");
    EXPECT_STREQ(cudaGetErrorString(cudaSuccess), "no error");
    EXPECT_STREQ(cudaGetErrorString(static_cast<cudaError_t>(12345)), "unrecognized error code");
}

TEST_F(RuntimeTest, HeadersAndHooksWorkFromC) { EXPECT_EQ(emu_c_api_roundtrip(), 0); }

} // namespace
