/*
 * Harness-only: 16-bit parameters and gradients add nothing to a step but
 * the same launches as fp32 (the master weights are set once at create), so
 * the step stays free of synchronization, copies and allocations.
 */
#include "device_common.h"
#include "emu_sync_common.h"
#include "precision_common.h"
#include "precision_device.h"

namespace {

TEST(DeviceEmuPrecisionSync, SixteenBitStepOnlyLaunches)
{
    auto cases = fopt_precision::precision_cases(FOPT_BACKEND_CUDA);
    cases.push_back({"stochastic_rounding", fopt_precision::stochastic_options(FOPT_BACKEND_CUDA, 1)});
    for (const auto &c : cases) {
        SCOPED_TRACE(c.name);
        fopt_options o = c.options;
        o.max_grad_norm = o.grad_scaling ? 1.0 : 0.0;
        fopt_precision::PrecisionRun<fopt_precision::DeviceBytes> run(o, {5000, 3, 0}, 1);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        ASSERT_NO_FATAL_FAILURE(fopt_emu_sync::expect_steps_only_launch(
            run.opt(), 3, o.grad_scaling ? 12u : 6u, "(stats, combine,) update, counters per step"));
    }
}

} // namespace
