// Schedules: closed forms against hand-computed values, validation errors.
#include <cmath>

#include <gtest/gtest.h>

#include "fusedopt.h"

namespace {

fopt_schedule cosine(double base, double eta_min, int64_t t_max)
{
    fopt_schedule s = fopt_default_schedule();
    s.kind = FOPT_SCHEDULE_COSINE;
    s.base_lr = base;
    s.eta_min = eta_min;
    s.t_max = t_max;
    return s;
}

double lr_at(const fopt_schedule &s, int64_t epoch)
{
    double lr = -1.0;
    EXPECT_EQ(fopt_schedule_lr(&s, epoch, &lr), FOPT_SUCCESS) << fopt_last_error(nullptr);
    return lr;
}

TEST(Schedule, CosineMirrorsBackAfterTmax)
{
    fopt_schedule s = cosine(0.1, 0.01, 5);
    EXPECT_DOUBLE_EQ(lr_at(s, 0), 0.1);
    EXPECT_DOUBLE_EQ(lr_at(s, 5), 0.01);
    EXPECT_DOUBLE_EQ(lr_at(s, 10), 0.1);
    for (int t = 0; t <= 5; t++) {
        EXPECT_NEAR(lr_at(s, 5 - t), lr_at(s, 5 + t), 1e-15) << t;
    }
    EXPECT_NEAR(lr_at(s, 1), 0.01 + 0.09 * (1 + std::cos(M_PI / 5)) / 2, 1e-15);
}

TEST(Schedule, RestartsWithMultiplierAndDecay)
{
    fopt_schedule s = fopt_default_schedule();
    s.kind = FOPT_SCHEDULE_COSINE_RESTARTS;
    s.base_lr = 1.0;
    s.t_0 = 2;
    s.t_mult = 2;
    s.restart_decay = 0.5;
    // cycles: [0,2) [2,6) [6,14)
    EXPECT_DOUBLE_EQ(lr_at(s, 0), 1.0);
    EXPECT_DOUBLE_EQ(lr_at(s, 1), 0.5);
    EXPECT_DOUBLE_EQ(lr_at(s, 2), 0.5);
    EXPECT_NEAR(lr_at(s, 4), 0.25, 1e-15);
    EXPECT_DOUBLE_EQ(lr_at(s, 6), 0.25);
}

TEST(Schedule, WarmupThenCosine)
{
    fopt_schedule s = cosine(1.0, 0.0, 14);
    s.kind = FOPT_SCHEDULE_WARMUP_COSINE;
    s.warmup_steps = 4;
    s.warmup_start_factor = 0.2;
    EXPECT_DOUBLE_EQ(lr_at(s, 0), 0.2);
    EXPECT_DOUBLE_EQ(lr_at(s, 2), 0.6);
    EXPECT_DOUBLE_EQ(lr_at(s, 4), 1.0);
    EXPECT_NEAR(lr_at(s, 9), 0.5, 1e-15);
    EXPECT_NEAR(lr_at(s, 14), 0.0, 1e-15);
}

TEST(Schedule, StepDecays)
{
    fopt_schedule s = fopt_default_schedule();
    s.kind = FOPT_SCHEDULE_STEP;
    s.base_lr = 0.8;
    s.step_size = 3;
    s.gamma = 0.5;
    EXPECT_EQ(lr_at(s, 0), 0.8);
    EXPECT_EQ(lr_at(s, 2), 0.8);
    EXPECT_EQ(lr_at(s, 3), 0.4);
    EXPECT_EQ(lr_at(s, 8), 0.2);
    EXPECT_EQ(lr_at(s, (int64_t)1 << 40), 0.0); /* underflows to 0, never NaN */
    s.gamma = 1.0;
    EXPECT_EQ(lr_at(s, (int64_t)1 << 40), 0.8);
}

TEST(Schedule, WarmupThenLinearDecayThenFlat)
{
    fopt_schedule s = fopt_default_schedule();
    s.kind = FOPT_SCHEDULE_WARMUP_LINEAR;
    s.base_lr = 1.0;
    s.eta_min = 0.2;
    s.t_max = 12;
    s.warmup_steps = 4;
    s.warmup_start_factor = 0.2;
    EXPECT_DOUBLE_EQ(lr_at(s, 0), 0.2);
    EXPECT_DOUBLE_EQ(lr_at(s, 2), 0.6);
    EXPECT_DOUBLE_EQ(lr_at(s, 4), 1.0);
    EXPECT_DOUBLE_EQ(lr_at(s, 8), 0.6);
    EXPECT_DOUBLE_EQ(lr_at(s, 12), 0.2);
    EXPECT_DOUBLE_EQ(lr_at(s, (int64_t)1 << 50), 0.2);
    s.warmup_steps = 0; /* decay from the first epoch */
    EXPECT_DOUBLE_EQ(lr_at(s, 0), 1.0);
    EXPECT_DOUBLE_EQ(lr_at(s, 6), 0.6);
}

TEST(Schedule, HugeEpochsStayAccurate)
{
    fopt_schedule s = cosine(1.0, 0.0, 1000000);
    const int64_t epoch = (int64_t)1 << 40;
    const int64_t phase = epoch % 2000000;
    EXPECT_NEAR(lr_at(s, epoch), (1 + std::cos(M_PI * phase / 1e6)) / 2, 1e-15);
}

struct BadSchedule {
    const char *what;
    void (*mutate)(fopt_schedule *);
    fopt_status expected;
};

TEST(Schedule, RejectsBadFields)
{
    const BadSchedule cases[] = {
        {"nan lr", [](fopt_schedule *s) { s->base_lr = NAN; }, FOPT_ERROR_INVALID_HYPERPARAMETER},
        {"negative lr", [](fopt_schedule *s) { s->base_lr = -1; }, FOPT_ERROR_INVALID_HYPERPARAMETER},
        {"t_max 0", [](fopt_schedule *s) { s->t_max = 0; }, FOPT_ERROR_INVALID_SCHEDULE},
        {"eta_min inf", [](fopt_schedule *s) { s->eta_min = INFINITY; }, FOPT_ERROR_INVALID_SCHEDULE},
        {"bad kind", [](fopt_schedule *s) { s->kind = (fopt_schedule_kind)42; }, FOPT_ERROR_INVALID_ENUM},
        {"t_0 0", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_COSINE_RESTARTS; s->t_0 = 0; },
         FOPT_ERROR_INVALID_SCHEDULE},
        {"t_mult 0", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_COSINE_RESTARTS; s->t_mult = 0; },
         FOPT_ERROR_INVALID_SCHEDULE},
        {"decay 0", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_COSINE_RESTARTS; s->restart_decay = 0; },
         FOPT_ERROR_INVALID_SCHEDULE},
        {"warmup too long", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_WARMUP_COSINE; s->warmup_steps = 10; },
         FOPT_ERROR_INVALID_SCHEDULE},
        {"warmup factor 0", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_WARMUP_COSINE; s->warmup_steps = 2;
                                                   s->warmup_start_factor = 0; },
         FOPT_ERROR_INVALID_SCHEDULE},
        {"linear warmup too long", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_WARMUP_LINEAR; s->warmup_steps = 10; },
         FOPT_ERROR_INVALID_SCHEDULE},
        {"linear eta_min nan", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_WARMUP_LINEAR; s->eta_min = NAN; },
         FOPT_ERROR_INVALID_SCHEDULE},
        {"step_size 0", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_STEP; s->step_size = 0; },
         FOPT_ERROR_INVALID_SCHEDULE},
        {"gamma 0", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_STEP; s->gamma = 0; }, FOPT_ERROR_INVALID_SCHEDULE},
        {"gamma above 1", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_STEP; s->gamma = 1.5; },
         FOPT_ERROR_INVALID_SCHEDULE},
        {"gamma nan", [](fopt_schedule *s) { s->kind = FOPT_SCHEDULE_STEP; s->gamma = NAN; },
         FOPT_ERROR_INVALID_SCHEDULE},
    };
    for (const BadSchedule &c : cases) {
        fopt_schedule s = cosine(0.1, 0.0, 10);
        c.mutate(&s);
        double lr = 123.0;
        EXPECT_EQ(fopt_schedule_check(&s), c.expected) << c.what;
        EXPECT_EQ(fopt_schedule_lr(&s, 0, &lr), c.expected) << c.what;
        EXPECT_EQ(lr, 123.0) << c.what;
        EXPECT_STRNE(fopt_last_error(nullptr), "") << c.what;
    }
    fopt_schedule ok = cosine(0.1, 0.0, 10);
    double lr = 0;
    EXPECT_EQ(fopt_schedule_lr(&ok, -1, &lr), FOPT_ERROR_INVALID_SCHEDULE);
    EXPECT_EQ(fopt_schedule_lr(&ok, 0, nullptr), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_schedule_lr(nullptr, 0, &lr), FOPT_ERROR_NULL_POINTER);
}

} // namespace
