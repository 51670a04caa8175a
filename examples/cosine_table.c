/*
 * cosine_table: the classic PyTorch CosineAnnealingLR example, with fusedopt.
 *
 * PyTorch:
 *     opt = torch.optim.SGD(params, lr=0.1)
 *     sched = CosineAnnealingLR(opt, T_max=5, eta_min=0.01)
 *     for step in range(1, 11):
 *         opt.step(); sched.step()
 *         print(step, sched.get_last_lr())
 *
 * Row k of the table is the learning rate after k scheduler steps:
 *     lr(k) = eta_min + (lr - eta_min) * (1 + cos(pi * k / T_max)) / 2
 * Note that it does not restart after T_max = 5: cosine annealing has period
 * 2 * T_max, so the rate climbs back to 0.1 at k = 10 (for restarts use
 * FOPT_SCHEDULE_COSINE_RESTARTS).
 *
 * The output is the same table as
 *     fusedopt schedule --lr 0.1 --t-max 5 --eta-min 0.01 --steps 10
 */
#include <stdio.h>

#include "fusedopt.h"

static int check(fopt_status status, const char *what, const fopt_optimizer *opt)
{
    if (status != FOPT_SUCCESS) {
        fprintf(stderr, "cosine_table: %s: %s: %s\n", what, fopt_status_string(status), fopt_last_error(opt));
    }
    return status != FOPT_SUCCESS;
}

int main(void)
{
    /* A one-element "model" in host memory, so the CPU backend runs it. */
    float param = 1.0f, grad = 0.5f;
    fopt_tensor tensor = {&param, &grad, 1};

    fopt_options options = fopt_default_options(FOPT_SGD);
    options.schedule.kind = FOPT_SCHEDULE_COSINE;
    options.schedule.base_lr = 0.1;
    options.schedule.t_max = 5;
    options.schedule.eta_min = 0.01;
    /* steps_per_epoch stays 0: only fopt_scheduler_step moves the schedule,
     * exactly like calling scheduler.step() once per epoch in PyTorch. */

    fopt_optimizer *opt = NULL;
    if (check(fopt_create(&opt, &options, &tensor, 1), "fopt_create", NULL)) {
        return 1;
    }
    int failed = 0;
    printf("Step | Learning Rate\n");
    for (int k = 1; k <= 10 && !failed; k++) {
        double used = 0.0, expected = 0.0, next = 0.0;
        int64_t epoch = 0;
        failed = check(fopt_step(opt), "fopt_step", opt) ||                 /* opt.step()   */
                 check(fopt_get_last_lr(opt, &used), "fopt_get_last_lr", opt) ||
                 check(fopt_scheduler_step(opt), "fopt_scheduler_step", opt) || /* sched.step() */
                 check(fopt_get_counters(opt, NULL, &epoch), "fopt_get_counters", opt) ||
                 check(fopt_schedule_lr(&options.schedule, epoch, &next), "fopt_schedule_lr", NULL) ||
                 check(fopt_schedule_lr(&options.schedule, k - 1, &expected), "fopt_schedule_lr", NULL);
        if (failed) {
            break;
        }
        /* fopt_get_last_lr is the rate the step just used: lr(k - 1). The
         * table shows PyTorch's get_last_lr() after sched.step(): lr(k). */
        if (used != expected) {
            fprintf(stderr, "cosine_table: step %d used lr %.17g, expected lr(%d) = %.17g\n", k, used, k - 1,
                    expected);
            failed = 1;
            break;
        }
        printf("%4d | %.5f\n", k, next);
    }
    fopt_destroy(opt);
    return failed;
}
