/*
 * The learning rate the kernel evaluates on the device, from the device
 * counters: fopt_get_last_lr after every step against fopt_schedule_lr at
 * the epoch the reference tracks, and the counters themselves, over 60 steps
 * with steps_per_epoch, scheduler steps and a set_epoch. Runs on the harness
 * (label emu) and on a GPU (label gpu).
 *
 * The device evaluates cosines with cospi, the host with cos: the two may
 * differ in the last bits, hence the relative tolerance of 1e-12 on lr.
 */
#include "device_common.h"

using fopt_test::DeviceRun;

namespace {

void expect_lr_near(double got, double want)
{
    EXPECT_NEAR(got, want, 1e-12 * std::fabs(want) + 1e-300) << "device lr " << got << ", host " << want;
}

void run_schedule(fopt_options o)
{
    DeviceRun run(o, {{37, 0, 0}, {4099, 1, 0}}, 21);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    double lr = -1, lr0 = -1;
    ASSERT_EQ(fopt_get_last_lr(run.opt(), &lr), FOPT_SUCCESS);
    ASSERT_EQ(fopt_schedule_lr(&o.schedule, 0, &lr0), FOPT_SUCCESS);
    expect_lr_near(lr, lr0);
    for (int i = 1; i <= 60; i++) {
        run.step();
        if (i % 9 == 0) {
            run.scheduler_step();
        }
        if (i == 40) {
            run.set_epoch(3);
        }
        int64_t step = -1, epoch = -1;
        ASSERT_EQ(fopt_get_last_lr(run.opt(), &lr), FOPT_SUCCESS);
        ASSERT_EQ(fopt_get_counters(run.opt(), &step, &epoch), FOPT_SUCCESS);
        expect_lr_near(lr, run.ref_last_lr());
        EXPECT_EQ(step, run.ref_step());
        EXPECT_EQ(epoch, run.ref_epoch()) << "after step " << i;
    }
    /* 60 fp32 steps: three times the 20-step tolerance of device_common.h. */
    run.expect_params_close(3 * fopt_test::kDefaultAtol, 3 * fopt_test::kDefaultRtol);
}

TEST(DeviceSchedule, CosineLrAndCountersOver60Steps)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = fopt_test::base_options(FOPT_SGD, 0.1);
    o.momentum = 0.9;
    o.schedule.t_max = 7;
    o.steps_per_epoch = 4;
    run_schedule(o);
}

TEST(DeviceSchedule, WarmRestartsAdamW)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = fopt_test::base_options(FOPT_ADAMW, 0.01);
    o.schedule.kind = FOPT_SCHEDULE_COSINE_RESTARTS;
    o.schedule.t_0 = 2;
    o.schedule.t_mult = 2;
    o.schedule.restart_decay = 0.5;
    o.steps_per_epoch = 3;
    run_schedule(o);
}

TEST(DeviceSchedule, WarmupCosineAdamStartsBelowBase)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = fopt_test::base_options(FOPT_ADAM, 0.01);
    o.schedule.kind = FOPT_SCHEDULE_WARMUP_COSINE;
    o.schedule.t_max = 12;
    o.schedule.warmup_steps = 4;
    o.steps_per_epoch = 2;
    run_schedule(o);
}

TEST(DeviceSchedule, StepDecayNesterov)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = fopt_test::base_options(FOPT_SGD, 0.1);
    o.momentum = 0.9;
    o.nesterov = 1;
    o.schedule.kind = FOPT_SCHEDULE_STEP;
    o.schedule.step_size = 3;
    o.schedule.gamma = 0.7;
    o.steps_per_epoch = 2;
    run_schedule(o);
}

TEST(DeviceSchedule, WarmupLinearAdamWReachesEtaMin)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = fopt_test::base_options(FOPT_ADAMW, 0.01);
    o.schedule.kind = FOPT_SCHEDULE_WARMUP_LINEAR;
    o.schedule.t_max = 14;
    o.schedule.warmup_steps = 3;
    o.schedule.warmup_start_factor = 0.1;
    o.steps_per_epoch = 3; /* 60 steps pass t_max: the lr stays at eta_min */
    run_schedule(o);
}

/* Epoch counters far beyond 2^24 (where an fp32 counter would saturate). */
TEST(DeviceSchedule, LargeEpochUsesClosedForm)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = fopt_test::base_options(FOPT_SGD, 0.1);
    o.schedule.t_max = 1000;
    o.steps_per_epoch = 0;
    DeviceRun run(o, {{8, 0, 0}}, 4);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    const int64_t epoch = (int64_t(1) << 40) + 123;
    run.set_epoch(epoch);
    run.step();
    double lr = -1;
    ASSERT_EQ(fopt_get_last_lr(run.opt(), &lr), FOPT_SUCCESS);
    expect_lr_near(lr, run.ref_last_lr());
    run.expect_params_close();
}

} // namespace
