/* Schedule defaults, validation and host evaluation (double precision). */
#include <math.h>

#include "internal.h"
#include "schedule_eval.h"

/* Periods are doubled and multiplied in int64: keep them far from overflow. */
#define FOPT_MAX_PERIOD ((int64_t)1 << 60)

fopt_schedule fopt_default_schedule(void)
{
    fopt_schedule s;
    s.kind = FOPT_SCHEDULE_CONSTANT;
    s.base_lr = 1e-3;
    s.eta_min = 0.0;
    s.t_max = 1;
    s.t_0 = 1;
    s.t_mult = 1;
    s.restart_decay = 1.0;
    s.warmup_steps = 0;
    s.warmup_start_factor = 1.0 / 3.0;
    s.step_size = 1;
    s.gamma = 0.1;
    return s;
}

static int is_nonnegative_finite(double x)
{
    return isfinite(x) && x >= 0.0;
}

static fopt_status check_period(fopt_optimizer *opt, const char *name, int64_t value)
{
    if (value < 1 || value > FOPT_MAX_PERIOD) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_SCHEDULE,
                         "schedule.%s must be in [1, 2^60], got %lld", name, (long long)value);
    }
    return FOPT_SUCCESS;
}

fopt_status fopt_validate_schedule(fopt_optimizer *opt, const fopt_schedule *s)
{
    fopt_status status;
    if (!s) {
        return fopt_fail(opt, FOPT_ERROR_NULL_POINTER, "schedule is NULL");
    }
    if (!is_nonnegative_finite(s->base_lr)) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_HYPERPARAMETER,
                         "schedule.base_lr (the learning rate) must be finite and >= 0, got %g", s->base_lr);
    }
    switch (s->kind) {
    case FOPT_SCHEDULE_CONSTANT:
        return FOPT_SUCCESS;
    case FOPT_SCHEDULE_STEP:
        if ((status = check_period(opt, "step_size", s->step_size)) != FOPT_SUCCESS) {
            return status;
        }
        if (!(s->gamma > 0.0 && s->gamma <= 1.0)) {
            return fopt_fail(opt, FOPT_ERROR_INVALID_SCHEDULE, "schedule.gamma must be in (0, 1], got %g", s->gamma);
        }
        return FOPT_SUCCESS;
    case FOPT_SCHEDULE_COSINE:
    case FOPT_SCHEDULE_COSINE_RESTARTS:
    case FOPT_SCHEDULE_WARMUP_COSINE:
    case FOPT_SCHEDULE_WARMUP_LINEAR:
        break;
    default:
        return fopt_fail(opt, FOPT_ERROR_INVALID_ENUM, "schedule.kind %d is not a fopt_schedule_kind", (int)s->kind);
    }
    if (!is_nonnegative_finite(s->eta_min)) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_SCHEDULE, "schedule.eta_min must be finite and >= 0, got %g", s->eta_min);
    }
    if (s->kind == FOPT_SCHEDULE_COSINE) {
        return check_period(opt, "t_max", s->t_max);
    }
    if (s->kind == FOPT_SCHEDULE_COSINE_RESTARTS) {
        if ((status = check_period(opt, "t_0", s->t_0)) != FOPT_SUCCESS) {
            return status;
        }
        if (s->t_mult < 1 || s->t_mult > 1000000) {
            return fopt_fail(opt, FOPT_ERROR_INVALID_SCHEDULE,
                             "schedule.t_mult must be an integer in [1, 1e6], got %lld", (long long)s->t_mult);
        }
        /* A factor above 1 would grow the peaks without bound (to an infinite lr). */
        if (!(s->restart_decay > 0.0 && s->restart_decay <= 1.0)) {
            return fopt_fail(opt, FOPT_ERROR_INVALID_SCHEDULE,
                             "schedule.restart_decay must be in (0, 1], got %g", s->restart_decay);
        }
        return FOPT_SUCCESS;
    }
    if ((status = check_period(opt, "t_max", s->t_max)) != FOPT_SUCCESS) {
        return status;
    }
    if (s->warmup_steps < 0 || s->warmup_steps >= s->t_max) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_SCHEDULE,
                         "schedule.warmup_steps must be in [0, t_max) (t_max counts the whole schedule), "
                         "got %lld with t_max %lld", (long long)s->warmup_steps, (long long)s->t_max);
    }
    if (!(isfinite(s->warmup_start_factor) && s->warmup_start_factor > 0.0 && s->warmup_start_factor <= 1.0)) {
        return fopt_fail(opt, FOPT_ERROR_INVALID_SCHEDULE,
                         "schedule.warmup_start_factor must be in (0, 1], got %g", s->warmup_start_factor);
    }
    return FOPT_SUCCESS;
}

fopt_status fopt_schedule_check(const fopt_schedule *schedule)
{
    fopt_status status = fopt_validate_schedule(NULL, schedule);
    if (status == FOPT_SUCCESS) {
        fopt_clear_error(NULL);
    }
    return status;
}

fopt_status fopt_schedule_lr(const fopt_schedule *schedule, int64_t epoch, double *lr)
{
    fopt_status status;
    if (!lr) {
        return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "lr (output) is NULL");
    }
    if ((status = fopt_validate_schedule(NULL, schedule)) != FOPT_SUCCESS) {
        return status;
    }
    if (epoch < 0) {
        return fopt_fail(NULL, FOPT_ERROR_INVALID_SCHEDULE, "epoch must be >= 0, got %lld", (long long)epoch);
    }
    *lr = fopt_schedule_eval(schedule, epoch);
    fopt_clear_error(NULL);
    return FOPT_SUCCESS;
}
