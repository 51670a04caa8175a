/*
 * Harness-only: gradient scaling and clipping add launches to a step (the
 * pre-pass and its combine) but no synchronization, copy or allocation, so
 * the step stays capturable in a CUDA graph.
 */
#include "device_common.h"
#include "emu_sync_common.h"
#include "mixed_common.h"

namespace {

TEST(DeviceEmuMixedSync, ScaledAndClippedStepOnlyLaunches)
{
    for (auto c : fopt_mixed::scaling_configs(FOPT_BACKEND_CUDA)) {
        SCOPED_TRACE(c.first);
        c.second.max_grad_norm = 1.0;
        fopt_mixed::MixedRun<fopt_test::DeviceFloats> run(c.second, {5000, 3, 0}, 1);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        ASSERT_NO_FATAL_FAILURE(
            fopt_emu_sync::expect_steps_only_launch(run.opt(), 5, 20u, "stats, combine, update, counters per step"));
    }
}

} // namespace
