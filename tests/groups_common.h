/*
 * Parameter groups: per-tensor weight decay and base lr
 * (options.tensor_weight_decay, options.tensor_base_lr), shared by the CPU test
 * (test_weight_decay_groups.cpp) and the CUDA backend test
 * (device_weight_decay_groups_test.cpp): the mixed-precision runs of
 * precision_common.h (every tensor shifted so both the vector and the scalar
 * path run) against the reference, which steps each tensor with its own
 * weight decay and lr (fopt_reference_tensor_options).
 *
 * options.weight_decay (0.2) and schedule.base_lr differ from every
 * per-tensor value and the values differ between neighbouring tensors, so a
 * path that ignores a list, drops weight decay or takes a neighbour's value
 * fails the tolerance.
 */
#ifndef FOPT_TESTS_GROUPS_COMMON_H
#define FOPT_TESTS_GROUPS_COMMON_H

#include <string>
#include <vector>

#include "precision_common.h"

namespace fopt_groups {

/* One weight decay per tensor of fopt_precision::precision_sizes() (six). */
inline const double *group_weight_decays()
{
    static const double decays[6] = {0.0, 0.3, 0.5, 0.0, 0.05, 1.0};
    return decays;
}

/* Base lrs per tensor for a schedule base lr of 0.05 (SGD) or 0.01 (Adam):
 * 2, 0.5, 1.5, 0.01 (below eta_min = base / 20) and 0 (the tensor then
 * follows eta_min * (1 - h)) and 3 times it. */
inline const double *group_base_lrs(fopt_algorithm algorithm)
{
    static const double sgd[6] = {0.1, 0.025, 0.075, 0.0005, 0.0, 0.15};
    static const double adam[6] = {0.02, 0.005, 0.015, 0.0001, 0.0, 0.03};
    return algorithm == FOPT_SGD ? sgd : adam;
}

/* Momentum SGD with nesterov, plain SGD, Adam with amsgrad and AdamW, each
 * with fp32 and with bf16 parameters (master weights) and gradients, with
 * per-tensor weight decay alone and with per-tensor base lrs too; the cosine
 * schedule of the precision cases. */
inline std::vector<fopt_precision::Case> group_cases(fopt_backend backend)
{
    static const char *const names[4] = {"sgd_nesterov", "sgd", "adam_amsgrad", "adamw"};
    std::vector<fopt_precision::Case> cases;
    for (int index = 0; index < 16; index++) {
        const int variant = index % 4;
        const fopt_dtype dtype = index / 4 % 2 ? FOPT_BFLOAT16 : FOPT_FLOAT32;
        const bool with_lrs = index >= 8;
        const fopt_algorithm a = variant < 2 ? FOPT_SGD : variant == 2 ? FOPT_ADAM : FOPT_ADAMW;
        fopt_options o = fopt_default_options(a);
        o.backend = backend;
        o.param_dtype = dtype;
        o.grad_dtype = dtype;
        o.schedule.kind = FOPT_SCHEDULE_COSINE;
        o.schedule.base_lr = a == FOPT_SGD ? 0.05 : 0.01;
        o.schedule.eta_min = o.schedule.base_lr / 20;
        o.schedule.t_max = 7;
        o.steps_per_epoch = 2;
        o.weight_decay = 0.2;
        o.tensor_weight_decay = group_weight_decays();
        o.tensor_base_lr = with_lrs ? group_base_lrs(a) : nullptr;
        o.momentum = variant == 0 ? 0.9 : 0.0;
        o.nesterov = variant == 0;
        o.amsgrad = a == FOPT_ADAM;
        cases.push_back({std::string(names[variant]) + (dtype == FOPT_FLOAT32 ? "_fp32" : "_bf16") +
                             (with_lrs ? "_decay_lr" : "_decay"),
                         o});
    }
    return cases;
}

/* Eight steps on both sides, then every parameter (and master weight) within
 * the precision tests' tolerance of the reference. */
template <class Buffer>
void run_groups_scenario(const fopt_options &options)
{
    fopt_precision::PrecisionRun<Buffer> run(options, fopt_precision::precision_sizes(), 17);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    for (int k = 0; k < 8; k++) {
        EXPECT_FALSE(run.step());
    }
    run.expect_matches_reference();
}

} // namespace fopt_groups

#endif /* FOPT_TESTS_GROUPS_COMMON_H */
