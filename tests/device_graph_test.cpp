/*
 * CUDA graphs: one captured optimizer step replayed N times does what N
 * eager steps do, because the step reads lr and bias corrections from the
 * device counters instead of baking host values into the launch. Runs on a
 * GPU (label gpu) and on the harness's graph emulation (label emu).
 */
#include <cstring>

#include "device_common.h"

using fopt_test::DeviceFloats;

namespace {

struct Model {
    DeviceFloats param{5003, 1};
    DeviceFloats grad{5003, 0};
    fopt_optimizer *opt = nullptr;

    Model(fopt_options o, cudaStream_t stream, const std::vector<float> &p, const std::vector<float> &g)
    {
        param.upload(p);
        grad.upload(g);
        /* The non-blocking stream does not wait for the legacy stream's copies. */
        EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        o.stream = stream;
        fopt_tensor t = {param.get(), grad.get(), 5003};
        EXPECT_EQ(fopt_create(&opt, &o, &t, 1), FOPT_SUCCESS) << fopt_last_error(nullptr);
    }
    ~Model() { fopt_destroy(opt); }
};

TEST(DeviceGraph, ReplayedStepEqualsEagerSteps)
{
    FOPT_REQUIRE_DEVICE();
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> p(5003), g(5003);
    for (size_t i = 0; i < p.size(); i++) {
        p[i] = dist(rng);
        g[i] = dist(rng);
    }
    fopt_options o = fopt_test::base_options(FOPT_ADAMW, 0.01);
    o.amsgrad = 1;
    o.steps_per_epoch = 3;
    cudaStream_t stream = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    {
        Model eager(o, stream, p, g);
        Model graphed(o, stream, p, g);
        ASSERT_TRUE(eager.opt && graphed.opt);
        const int n = 25;
        for (int i = 0; i < n; i++) {
            ASSERT_EQ(fopt_step(eager.opt), FOPT_SUCCESS);
        }
        cudaGraph_t graph = nullptr;
        cudaGraphExec_t exec = nullptr;
        ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
        ASSERT_EQ(fopt_step(graphed.opt), FOPT_SUCCESS) << fopt_last_error(graphed.opt);
        ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
        ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
        for (int i = 0; i < n; i++) {
            ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
        }
        ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
        EXPECT_EQ(graphed.param.download(), eager.param.download()) << "replays differ from eager steps";
        int64_t s1 = -1, e1 = -1, s2 = -2, e2 = -2;
        double lr1 = -1, lr2 = -2;
        ASSERT_EQ(fopt_get_counters(eager.opt, &s1, &e1), FOPT_SUCCESS);
        ASSERT_EQ(fopt_get_counters(graphed.opt, &s2, &e2), FOPT_SUCCESS);
        ASSERT_EQ(fopt_get_last_lr(eager.opt, &lr1), FOPT_SUCCESS);
        ASSERT_EQ(fopt_get_last_lr(graphed.opt, &lr2), FOPT_SUCCESS);
        EXPECT_EQ(s2, n);
        EXPECT_EQ(s1, s2);
        EXPECT_EQ(e1, e2);
        EXPECT_EQ(lr1, lr2);
        EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
        EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
    }
    EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

/* The same with bf16 parameters and gradients, fp32 master weights, loss
 * scaling and clipping: replay i uploads gradients i (an inf at replay 4) as
 * eager step i does, and the parameters, counters and loss scale agree bit
 * for bit, so the skip, the unscale and the clip all happen on the device. */
TEST(DeviceGraph, MixedPrecisionScaledClippedReplayEqualsEager)
{
    FOPT_REQUIRE_DEVICE();
    const size_t n = 4099;
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    auto bf16 = [](float x) {
        uint32_t bits;
        std::memcpy(&bits, &x, sizeof bits);
        return (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    };
    std::vector<uint16_t> p(n);
    for (uint16_t &x : p) {
        x = bf16(dist(rng));
    }
    const int steps = 12;
    std::vector<std::vector<uint16_t>> grads(steps, std::vector<uint16_t>(n));
    for (auto &g : grads) {
        for (uint16_t &x : g) {
            x = bf16(dist(rng) * 1024.0f);
        }
    }
    grads[4][17] = 0x7F80; /* +inf: that step is skipped */
    fopt_options o = fopt_test::base_options(FOPT_ADAMW, 0.01);
    o.param_dtype = FOPT_BFLOAT16;
    o.grad_dtype = FOPT_BFLOAT16;
    o.grad_scaling = 1;
    o.init_scale = 1024;
    o.growth_interval = 3;
    o.max_grad_norm = 5.0;
    o.steps_per_epoch = 2;
    cudaStream_t stream = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    struct Side {
        void *param = nullptr, *grad = nullptr;
        fopt_optimizer *opt = nullptr;
    } eager, graphed;
    for (Side *side : {&eager, &graphed}) {
        ASSERT_EQ(cudaMalloc(&side->param, n * 2), cudaSuccess);
        ASSERT_EQ(cudaMalloc(&side->grad, n * 2), cudaSuccess);
        ASSERT_EQ(cudaMemcpy(side->param, p.data(), n * 2, cudaMemcpyHostToDevice), cudaSuccess);
        o.stream = stream;
        fopt_tensor t = {side->param, side->grad, n};
        ASSERT_EQ(fopt_create(&side->opt, &o, &t, 1), FOPT_SUCCESS) << fopt_last_error(nullptr);
    }
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
    ASSERT_EQ(fopt_step(graphed.opt), FOPT_SUCCESS) << fopt_last_error(graphed.opt);
    ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
    ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    for (int i = 0; i < steps; i++) {
        ASSERT_EQ(cudaMemcpy(eager.grad, grads[i].data(), n * 2, cudaMemcpyHostToDevice), cudaSuccess);
        ASSERT_EQ(cudaMemcpy(graphed.grad, grads[i].data(), n * 2, cudaMemcpyHostToDevice), cudaSuccess);
        ASSERT_EQ(fopt_step(eager.opt), FOPT_SUCCESS);
        ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
        ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    }
    std::vector<uint16_t> a(n), b(n);
    ASSERT_EQ(cudaMemcpy(a.data(), eager.param, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(b.data(), graphed.param, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT_EQ(a, b) << "replays differ from eager steps";
    EXPECT_NE(a, p) << "the steps changed nothing";
    int64_t s1 = -1, e1 = -1, s2 = -2, e2 = -2;
    double scale1 = -1, scale2 = -2;
    ASSERT_EQ(fopt_get_counters(eager.opt, &s1, &e1), FOPT_SUCCESS);
    ASSERT_EQ(fopt_get_counters(graphed.opt, &s2, &e2), FOPT_SUCCESS);
    ASSERT_EQ(fopt_get_scale(eager.opt, &scale1), FOPT_SUCCESS);
    ASSERT_EQ(fopt_get_scale(graphed.opt, &scale2), FOPT_SUCCESS);
    EXPECT_EQ(s2, steps - 1) << "one step skipped";
    EXPECT_EQ(s1, s2);
    EXPECT_EQ(e1, e2);
    EXPECT_EQ(scale1, scale2);
    /* grown after 3 good steps, halved at the inf, grown after 3 and 6 more */
    EXPECT_EQ(scale2, 4096.0);
    EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
    EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
    for (Side *side : {&eager, &graphed}) {
        fopt_destroy(side->opt);
        EXPECT_EQ(cudaFree(side->param), cudaSuccess);
        EXPECT_EQ(cudaFree(side->grad), cudaSuccess);
    }
    EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

} // namespace
