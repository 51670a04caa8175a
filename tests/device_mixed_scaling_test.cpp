/*
 * Gradient scaling and clipping on the CUDA backend against the reference
 * (scenarios in mixed_common.h). Runs on the harness (emu) and a GPU (gpu).
 */
#include "device_common.h"
#include "mixed_common.h"

using fopt_test::DeviceFloats;

namespace {

TEST(DeviceMixedScaling, SkipsBacksOffAndGrowsLikeReference)
{
    FOPT_REQUIRE_DEVICE();
    for (const auto &c : fopt_mixed::scaling_configs(FOPT_BACKEND_CUDA)) {
        SCOPED_TRACE(c.first);
        fopt_mixed::run_scaling_scenario<DeviceFloats>(c.second);
    }
}

TEST(DeviceMixedScaling, ClippingLikeReference)
{
    FOPT_REQUIRE_DEVICE();
    for (const auto &c : fopt_mixed::scaling_configs(FOPT_BACKEND_CUDA)) {
        SCOPED_TRACE(c.first);
        fopt_mixed::run_clipping_scenario<DeviceFloats>(c.second);
    }
}

TEST(DeviceMixedScaling, NonFiniteEdgeCasesLikePyTorch)
{
    FOPT_REQUIRE_DEVICE();
    for (const auto &c : fopt_mixed::scaling_configs(FOPT_BACKEND_CUDA)) {
        SCOPED_TRACE(c.first);
        fopt_mixed::run_nonfinite_scenario<DeviceFloats>(c.second);
    }
}

TEST(DeviceMixedScaling, GradNormTracking)
{
    FOPT_REQUIRE_DEVICE();
    for (const auto &c : fopt_mixed::scaling_configs(FOPT_BACKEND_CUDA)) {
        SCOPED_TRACE(c.first);
        fopt_mixed::run_grad_norm_scenario<DeviceFloats>(c.second);
    }
}

/* The norm pointer is device memory and follows each step. */
TEST(DeviceMixedScaling, DeviceGradNorm)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = fopt_mixed::scaling_configs(FOPT_BACKEND_CUDA)[3].second;
    o.max_grad_norm = 0.5;
    fopt_mixed::MixedRun<DeviceFloats> run(o, {4100, 3}, 3);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    const float *norm = nullptr;
    ASSERT_EQ(fopt_device_grad_norm(run.opt(), &norm), FOPT_SUCCESS);
    run.step();
    float host = -1;
    ASSERT_EQ(cudaMemcpy(&host, norm, sizeof host, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT_NEAR(host, run.ref_grad_norm(), 1e-6 * run.ref_grad_norm());
    run.expect_matches_reference();
}

/* The loss scale pointer is device memory and follows the scale. */
TEST(DeviceMixedScaling, DeviceLossScale)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = fopt_mixed::scaling_configs(FOPT_BACKEND_CUDA)[2].second;
    fopt_mixed::MixedRun<DeviceFloats> run(o, {5000, 3}, 2);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    const float *scale = nullptr;
    ASSERT_EQ(fopt_device_loss_scale(run.opt(), &scale), FOPT_SUCCESS);
    run.step(fopt_mixed::Poison::inf, 1, 2);
    float host = 0;
    ASSERT_EQ(cudaMemcpy(&host, scale, sizeof host, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT_EQ(host, 32768.0f);
    run.expect_matches_reference();
}

} // namespace
