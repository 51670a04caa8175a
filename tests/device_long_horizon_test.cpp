/*
 * Long horizons: the learning rate the kernel computes from the device
 * counters (fopt_get_last_lr after a step at a set epoch) against PyTorch's
 * closed forms written out here in double, independently of the library's
 * schedule code, over epochs [0, 1e7] with T_max = T_0 = 1e6 (the epochs
 * around every multiple of T_max, where a recursive or fp32 form would break
 * down, and 400 spread points) and at epoch 2^40 and its neighbours.
 * Tolerance: 1e-6 relative (an fp32 counter or phase would be off by far
 * more). Runs on the harness (emu), where the kernel's schedule uses the host
 * cos, and on a GPU, where it uses cospi.
 */
#include <cmath>
#include <cstdint>
#include <vector>

#include "device_common.h"

using fopt_test::DeviceFloats;

namespace {

constexpr int64_t kPeriod = 1000000;
constexpr int64_t kHorizon = 10000000;

std::vector<int64_t> sample_epochs()
{
    std::vector<int64_t> e = {0, 1, 2, kHorizon - 1, kHorizon};
    for (int64_t m = kPeriod; m <= kHorizon; m += kPeriod) {
        for (int64_t d = -2; d <= 2; d++) {
            e.push_back(m + d);
        }
    }
    uint64_t x = 0x9E3779B97F4A7C15ull; /* xorshift: spread points, fixed across runs */
    for (int i = 0; i < 400; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        e.push_back(static_cast<int64_t>(x % static_cast<uint64_t>(kHorizon + 1)));
    }
    const int64_t far = int64_t{1} << 40;
    for (int64_t d = -1; d <= 1; d++) {
        e.push_back(far + d);
    }
    return e;
}

/* PyTorch's closed forms (CosineAnnealingLR._get_closed_form_lr,
 * CosineAnnealingWarmRestarts.step(epoch), LinearLR's), in double. */
double closed_form_lr(const fopt_schedule &s, int64_t epoch)
{
    const double pi = 3.14159265358979323846, t = (double)epoch;
    auto cosine = [&](double peak, double t_cur, double t_i) {
        return s.eta_min + (peak - s.eta_min) * (1 + std::cos(pi * t_cur / t_i)) / 2;
    };
    switch (s.kind) {
    case FOPT_SCHEDULE_COSINE:
        return cosine(s.base_lr, t, (double)s.t_max);
    case FOPT_SCHEDULE_COSINE_RESTARTS: {
        const double t0 = (double)s.t_0, mult = (double)s.t_mult;
        if (s.t_mult == 1) {
            const double n = std::floor(t / t0);
            return cosine(s.base_lr * std::pow(s.restart_decay, n), t - n * t0, t0);
        }
        const double n = std::floor(std::log(t / t0 * (mult - 1) + 1) / std::log(mult));
        const double t_cur = t - t0 * (std::pow(mult, n) - 1) / (mult - 1);
        return cosine(s.base_lr * std::pow(s.restart_decay, n), t_cur, t0 * std::pow(mult, n));
    }
    case FOPT_SCHEDULE_WARMUP_COSINE: {
        const double w = (double)s.warmup_steps;
        if (t < w) {
            return s.base_lr * (s.warmup_start_factor + (1 - s.warmup_start_factor) * t / w);
        }
        return cosine(s.base_lr, t - w, (double)(s.t_max - s.warmup_steps));
    }
    default:
        return s.base_lr;
    }
}

void check_schedule(const fopt_schedule &s)
{
    ASSERT_EQ(fopt_schedule_check(&s), FOPT_SUCCESS) << fopt_last_error(nullptr);
    DeviceFloats param(1, 0), grad(1, 0);
    param.upload({1.0f});
    grad.upload({0.0f});
    fopt_options o = fopt_default_options(FOPT_SGD);
    o.backend = FOPT_BACKEND_CUDA;
    o.schedule = s;
    fopt_tensor t = {param.get(), grad.get(), 1};
    fopt_optimizer *opt = nullptr;
    ASSERT_EQ(fopt_create(&opt, &o, &t, 1), FOPT_SUCCESS) << fopt_last_error(nullptr);
    for (int64_t epoch : sample_epochs()) {
        ASSERT_EQ(fopt_set_epoch(opt, epoch), FOPT_SUCCESS);
        ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS) << fopt_last_error(opt);
        double device = -1;
        ASSERT_EQ(fopt_get_last_lr(opt, &device), FOPT_SUCCESS) << fopt_last_error(opt);
        const double want = closed_form_lr(s, epoch);
        EXPECT_NEAR(device, want, 1e-6 * std::fabs(want)) << "epoch " << epoch;
    }
    fopt_destroy(opt);
}

fopt_schedule base(fopt_schedule_kind kind)
{
    fopt_schedule s = fopt_default_schedule();
    s.kind = kind;
    s.base_lr = 0.1;
    s.eta_min = 1e-4;
    s.t_max = kPeriod;
    s.t_0 = kPeriod;
    return s;
}

TEST(DeviceLongHorizon, Cosine)
{
    FOPT_REQUIRE_DEVICE();
    check_schedule(base(FOPT_SCHEDULE_COSINE));
}

TEST(DeviceLongHorizon, RestartsConstantCycles)
{
    FOPT_REQUIRE_DEVICE();
    fopt_schedule s = base(FOPT_SCHEDULE_COSINE_RESTARTS);
    s.restart_decay = 0.9;
    check_schedule(s);
}

TEST(DeviceLongHorizon, RestartsGrowingCycles)
{
    FOPT_REQUIRE_DEVICE();
    fopt_schedule s = base(FOPT_SCHEDULE_COSINE_RESTARTS);
    s.t_0 = kPeriod / 4;
    s.t_mult = 2;
    check_schedule(s);
}

TEST(DeviceLongHorizon, WarmupCosine)
{
    FOPT_REQUIRE_DEVICE();
    fopt_schedule s = base(FOPT_SCHEDULE_WARMUP_COSINE);
    s.warmup_steps = 10000;
    check_schedule(s);
}

}  // namespace
