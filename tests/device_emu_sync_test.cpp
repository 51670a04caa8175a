/*
 * Harness-only checks of what a step costs on the host side: fopt_step,
 * fopt_scheduler_step and fopt_set_epoch make no synchronization, no
 * transfer in either direction and no allocation, only launches; the chunk
 * tables are uploaded once, at create; destroy frees everything.
 */
#include "device_common.h"
#include "fopt_emu.h"

namespace {

fopt_emu_counters counters_now()
{
    fopt_emu_counters c;
    fopt_emu_get_counters(&c);
    return c;
}

void expect_only_launches(const fopt_emu_counters &c, unsigned long long launches, const char *what)
{
    EXPECT_EQ(c.syncs, 0u) << what;
    EXPECT_EQ(c.d2h_copies, 0u) << what;
    EXPECT_EQ(c.h2d_copies, 0u) << what;
    EXPECT_EQ(c.allocations, 0u) << what;
    EXPECT_EQ(c.frees, 0u) << what;
    EXPECT_EQ(c.launches, launches) << what;
}

TEST(DeviceEmuSync, StepSchedulerStepAndSetEpochOnlyLaunch)
{
    for (const fopt_test::Config &c : fopt_test::all_configs()) {
        SCOPED_TRACE(c.name);
        fopt_test::DeviceRun run(c.options, {{5000, 0, 0}, {3, 1, 0}, {0, 0, 0}}, 1);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        run.new_gradients();
        fopt_emu_reset_counters();
        for (int i = 0; i < 10; i++) {
            ASSERT_EQ(fopt_step(run.opt()), FOPT_SUCCESS);
        }
        expect_only_launches(counters_now(), 20, "10 x fopt_step: update + counter kernel each");
        fopt_emu_reset_counters();
        ASSERT_EQ(fopt_scheduler_step(run.opt()), FOPT_SUCCESS);
        expect_only_launches(counters_now(), 1, "fopt_scheduler_step");
        fopt_emu_reset_counters();
        ASSERT_EQ(fopt_set_epoch(run.opt(), 5), FOPT_SUCCESS);
        expect_only_launches(counters_now(), 1, "fopt_set_epoch");
    }
}

TEST(DeviceEmuSync, TablesUploadedOnceAtCreate)
{
    fopt_test::DeviceFloats p(70000, 0), g(70000, 0);
    std::vector<fopt_tensor> tensors;
    for (size_t i = 0; i < 200; i++) {
        tensors.push_back({p.get() + i * 350, g.get() + i * 350, 350});
    }
    fopt_options o = fopt_test::base_options(FOPT_ADAM, 0.01);
    const size_t live_before = fopt_emu_live_allocations();
    fopt_emu_reset_counters();
    fopt_optimizer *opt = nullptr;
    ASSERT_EQ(fopt_create(&opt, &o, tensors.data(), tensors.size()), FOPT_SUCCESS) << fopt_last_error(nullptr);
    fopt_emu_counters c = counters_now();
    EXPECT_EQ(c.h2d_copies, 2u) << "tensor table + chunk table";
    EXPECT_EQ(c.d2h_copies, 0u);
    EXPECT_EQ(c.allocations, 5u) << "exp_avg, exp_avg_sq, tables, counters";
    fopt_emu_reset_counters();
    for (int i = 0; i < 50; i++) {
        ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS);
    }
    c = counters_now();
    EXPECT_EQ(c.h2d_copies, 0u);
    EXPECT_EQ(c.allocations, 0u);
    fopt_destroy(opt);
    EXPECT_EQ(fopt_emu_live_allocations(), live_before) << "destroy leaks device memory";
}

TEST(DeviceEmuSync, NoDeviceMeansBackendUnavailable)
{
    std::vector<float> p(8), g(8);
    fopt_tensor t = {p.data(), g.data(), 8};
    fopt_options o = fopt_test::base_options(FOPT_SGD, 0.1);
    fopt_emu_set_device_count(0);
    fopt_optimizer *opt = nullptr;
    EXPECT_EQ(fopt_create(&opt, &o, &t, 1), FOPT_ERROR_BACKEND_UNAVAILABLE);
    o.backend = FOPT_BACKEND_AUTO;
    ASSERT_EQ(fopt_create(&opt, &o, &t, 1), FOPT_SUCCESS) << fopt_last_error(nullptr);
    fopt_backend backend = FOPT_BACKEND_AUTO;
    EXPECT_EQ(fopt_get_backend(opt, &backend), FOPT_SUCCESS);
    EXPECT_EQ(backend, FOPT_BACKEND_CPU);
    fopt_destroy(opt);
    fopt_emu_set_device_count(-1);
}

} // namespace
