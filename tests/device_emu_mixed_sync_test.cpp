/*
 * Harness-only: gradient scaling and clipping add launches to a step (the
 * pre-pass and its combine) but no synchronization, copy or allocation, so
 * the step stays capturable in a CUDA graph.
 */
#include "device_common.h"
#include "fopt_emu.h"
#include "mixed_common.h"

namespace {

TEST(DeviceEmuMixedSync, ScaledAndClippedStepOnlyLaunches)
{
    for (auto c : fopt_mixed::scaling_configs(FOPT_BACKEND_CUDA)) {
        SCOPED_TRACE(c.first);
        c.second.max_grad_norm = 1.0;
        fopt_mixed::MixedRun<fopt_test::DeviceFloats> run(c.second, {5000, 3, 0}, 1);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        fopt_emu_reset_counters();
        for (int i = 0; i < 5; i++) {
            ASSERT_EQ(fopt_step(run.opt()), FOPT_SUCCESS);
        }
        fopt_emu_counters n;
        fopt_emu_get_counters(&n);
        EXPECT_EQ(n.syncs, 0u);
        EXPECT_EQ(n.d2h_copies, 0u);
        EXPECT_EQ(n.h2d_copies, 0u);
        EXPECT_EQ(n.allocations, 0u);
        EXPECT_EQ(n.frees, 0u);
        EXPECT_EQ(n.launches, 20u) << "stats, combine, update, counters per step";
    }
}

} // namespace
