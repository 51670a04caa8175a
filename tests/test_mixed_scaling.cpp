/*
 * Gradient scaling and clipping on the CPU backend against the reference
 * (scenarios in mixed_common.h), the option validation and the scale API.
 */
#include "mixed_common.h"

using fopt_mixed::HostFloats;

namespace {

TEST(MixedScalingCpu, SkipsBacksOffAndGrowsLikeReference)
{
    for (const auto &c : fopt_mixed::scaling_configs(FOPT_BACKEND_CPU)) {
        SCOPED_TRACE(c.first);
        fopt_mixed::run_scaling_scenario<HostFloats>(c.second);
    }
}

TEST(MixedScalingCpu, ClippingLikeReference)
{
    for (const auto &c : fopt_mixed::scaling_configs(FOPT_BACKEND_CPU)) {
        SCOPED_TRACE(c.first);
        fopt_mixed::run_clipping_scenario<HostFloats>(c.second);
    }
}

TEST(MixedScalingCpu, NonFiniteEdgeCasesLikePyTorch)
{
    for (const auto &c : fopt_mixed::scaling_configs(FOPT_BACKEND_CPU)) {
        SCOPED_TRACE(c.first);
        fopt_mixed::run_nonfinite_scenario<HostFloats>(c.second);
    }
}

TEST(MixedScalingCpu, GradNormTracking)
{
    for (const auto &c : fopt_mixed::scaling_configs(FOPT_BACKEND_CPU)) {
        SCOPED_TRACE(c.first);
        fopt_mixed::run_grad_norm_scenario<HostFloats>(c.second);
    }
}

/* The norm pointer is host memory on the CPU backend and follows each step. */
TEST(MixedScalingCpu, GradNormPointerFollowsTheSteps)
{
    fopt_options o = fopt_mixed::scaling_configs(FOPT_BACKEND_CPU)[3].second; /* AdamW, scaled */
    o.max_grad_norm = 0.5;
    fopt_mixed::MixedRun<HostFloats> run(o, {4100, 3}, 3);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS);
    const float *norm = nullptr;
    ASSERT_EQ(fopt_device_grad_norm(run.opt(), &norm), FOPT_SUCCESS);
    for (int k = 0; k < 3; k++) {
        run.step();
        EXPECT_NEAR(*norm, run.ref_grad_norm(), 1e-6 * run.ref_grad_norm());
    }
    run.step(fopt_mixed::Poison::nan, 0, 1); /* skipped: the norm is NaN, as clip_grad_norm_ returns */
    EXPECT_TRUE(std::isnan(*norm));
    run.expect_matches_reference();
}

TEST(MixedScalingCpu, LossScalePointerFollowsTheScale)
{
    fopt_options o = fopt_mixed::scaling_configs(FOPT_BACKEND_CPU)[0].second;
    o.init_scale = 1024;
    fopt_mixed::MixedRun<HostFloats> run(o, {8}, 1);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS);
    const float *scale = nullptr;
    ASSERT_EQ(fopt_device_loss_scale(run.opt(), &scale), FOPT_SUCCESS);
    EXPECT_EQ(*scale, 1024.0f);
    run.step(fopt_mixed::Poison::inf);
    EXPECT_EQ(*scale, 512.0f);
}

TEST(MixedScalingCpu, ScaleApiNeedsGradScaling)
{
    fopt_options o = fopt_default_options(FOPT_SGD);
    o.max_grad_norm = 1.0; /* clipping alone has no loss scale */
    fopt_mixed::MixedRun<HostFloats> run(o, {8}, 1);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS);
    double scale = 0;
    const float *pointer = nullptr;
    EXPECT_EQ(fopt_get_scale(run.opt(), &scale), FOPT_ERROR_NOT_SUPPORTED);
    EXPECT_EQ(fopt_device_loss_scale(run.opt(), &pointer), FOPT_ERROR_NOT_SUPPORTED);
    EXPECT_NE(std::string(fopt_last_error(run.opt())).find("grad_scaling"), std::string::npos);
    EXPECT_EQ(fopt_get_scale(run.opt(), nullptr), FOPT_ERROR_NULL_POINTER);
}

TEST(MixedScalingCpu, ValidationNamesTheField)
{
    struct Case {
        const char *field;
        void (*set)(fopt_options &);
    };
    const Case cases[] = {
        {"init_scale", [](fopt_options &o) { o.init_scale = 0; }},
        {"init_scale", [](fopt_options &o) { o.init_scale = INFINITY; }},
        {"growth_factor", [](fopt_options &o) { o.growth_factor = 1.0; }},
        {"backoff_factor", [](fopt_options &o) { o.backoff_factor = 1.0; }},
        {"backoff_factor", [](fopt_options &o) { o.backoff_factor = 0.0; }},
        {"growth_interval", [](fopt_options &o) { o.growth_interval = 0; }},
        {"max_grad_norm", [](fopt_options &o) { o.max_grad_norm = -1; }},
        {"max_grad_norm", [](fopt_options &o) { o.max_grad_norm = NAN; }},
    };
    std::vector<float> p(4), g(4);
    fopt_tensor t = {p.data(), g.data(), 4};
    for (const Case &c : cases) {
        fopt_options o = fopt_default_options(FOPT_ADAM);
        o.grad_scaling = 1;
        c.set(o);
        fopt_optimizer *opt = nullptr;
        EXPECT_EQ(fopt_create(&opt, &o, &t, 1), FOPT_ERROR_INVALID_HYPERPARAMETER) << c.field;
        EXPECT_NE(std::string(fopt_last_error(nullptr)).find(c.field), std::string::npos) << fopt_last_error(nullptr);
    }
    /* The scale fields are not looked at without grad_scaling. */
    fopt_options o = fopt_default_options(FOPT_ADAM);
    o.init_scale = 0;
    fopt_optimizer *opt = nullptr;
    EXPECT_EQ(fopt_create(&opt, &o, &t, 1), FOPT_SUCCESS);
    fopt_destroy(opt);
}

} // namespace
