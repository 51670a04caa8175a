/*
 * Shared check of the harness-only sync tests (tests/device_emu_*_sync_test.cpp):
 * a step stays capturable in a CUDA graph when it only launches kernels.
 */
#ifndef FOPT_TESTS_EMU_SYNC_COMMON_H
#define FOPT_TESTS_EMU_SYNC_COMMON_H

#include <gtest/gtest.h>

#include "fopt_emu.h"
#include "fusedopt.h"

namespace fopt_emu_sync {

/* Takes `steps` steps of opt with the harness's counters reset first; they
 * make `launches` launches (`what` names them) and no synchronization, copy,
 * allocation or free. Call through ASSERT_NO_FATAL_FAILURE. */
inline void expect_steps_only_launch(fopt_optimizer *opt, int steps, unsigned launches, const char *what)
{
    fopt_emu_reset_counters();
    for (int i = 0; i < steps; i++) {
        ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS);
    }
    fopt_emu_counters n;
    fopt_emu_get_counters(&n);
    EXPECT_EQ(n.syncs, 0u);
    EXPECT_EQ(n.d2h_copies, 0u);
    EXPECT_EQ(n.h2d_copies, 0u);
    EXPECT_EQ(n.allocations, 0u);
    EXPECT_EQ(n.frees, 0u);
    EXPECT_EQ(n.launches, launches) << what;
}

} // namespace fopt_emu_sync

#endif /* FOPT_TESTS_EMU_SYNC_COMMON_H */
