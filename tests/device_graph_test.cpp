/*
 * CUDA graphs: one captured optimizer step replayed N times does what N
 * eager steps do, because the step reads lr and bias corrections from the
 * device counters instead of baking host values into the launch. Runs on a
 * GPU (label gpu) and on the harness's graph emulation (label emu).
 */
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

} // namespace
