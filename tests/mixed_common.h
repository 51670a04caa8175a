/*
 * Shared helpers of the gradient scaling / clipping tests
 * (tests/test_mixed_*.cpp on the CPU backend, tests/device_mixed_*.cpp on the
 * CUDA backend): a run that drives an optimizer through the public API next
 * to the CPU reference with its unscale/clip/skip helpers, feeding both the
 * same scaled gradients (optionally with an inf or NaN planted in one tensor).
 *
 * Buffer is the memory the tensors live in: HostFloats here, DeviceFloats
 * (device_common.h) for the device tests; both have get/upload/download.
 *
 * Tolerance: as in device_common.h (atol 2e-6, rtol 2e-5): the gradient
 * factor clip / scale is rounded to fp32 once per step (2^-24 relative), the
 * rest is the fp32 update the other tests already bound. Scales are powers of
 * two, so scaling the gradients is exact on both sides.
 */
#ifndef FOPT_TESTS_MIXED_COMMON_H
#define FOPT_TESTS_MIXED_COMMON_H

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint_util.h"
#include "fusedopt.h"
#include "reference_run.h"

namespace fopt_mixed {

class HostFloats {
public:
    HostFloats(size_t count, size_t shift) : data_(count + shift + 1), shift_(shift), count_(count) {}
    float *get() { return data_.data() + shift_; }
    void upload(const std::vector<float> &v) { std::copy(v.begin(), v.end(), get()); }
    std::vector<float> download() { return std::vector<float>(get(), get() + count_); }

private:
    std::vector<float> data_;
    size_t shift_;
    size_t count_;
};

using fopt_ckpt_test::Snapshot;
using fopt_ckpt_test::snapshot;
using fopt_run::Poison;

/* fopt_get_grad_norm equals `want` (the reference's, in double) to the
 * fp32 rounding and the summation order (relative 1e-6); inf and NaN alike. */
inline void expect_grad_norm(fopt_optimizer *opt, double want)
{
    double norm = -1;
    ASSERT_EQ(fopt_get_grad_norm(opt, &norm), FOPT_SUCCESS) << fopt_last_error(opt);
    if (std::isnan(want) || std::isinf(want)) {
        EXPECT_TRUE(std::isnan(want) ? std::isnan(norm) : norm == want) << "norm " << norm << ", reference " << want;
    } else {
        EXPECT_NEAR(norm, want, 1e-6 * want) << "gradient norm";
    }
}

template <class Buffer>
class MixedRun : public fopt_run::ReferenceRun {
public:
    MixedRun(const fopt_options &options, const std::vector<size_t> &sizes, unsigned seed, float grad_range = 1.0f)
        : ReferenceRun(options, sizes, seed), grad_range_(grad_range)
    {
        std::vector<fopt_tensor> tensors;
        for (size_t i = 0; i < sizes_.size(); i++) {
            const size_t n = sizes_[i];
            params_.push_back(std::make_unique<Buffer>(n, i % 3));
            grads_.push_back(std::make_unique<Buffer>(n, (i + 1) % 2));
            std::vector<float> p = random_floats(n, 1.0f);
            params_.back()->upload(p);
            ref_param_.emplace_back(p.begin(), p.end());
            tensors.push_back({params_.back()->get(), grads_.back()->get(), n});
        }
        status_ = fopt_create(&opt_, &options_, tensors.data(), tensors.size());
    }
    ~MixedRun() { fopt_destroy(opt_); }

    fopt_status create_status() const { return status_; }
    fopt_optimizer *opt() const { return opt_; }

    /* Gradients g * scale (g uniform in +-grad_range), `poison` planted in
     * element `at` of tensor `tensor`; then one step on both sides. Returns
     * whether the reference skipped it. */
    bool step(Poison poison = Poison::none, size_t tensor = 0, size_t at = 0)
    {
        std::vector<std::vector<double>> ref_grad;
        for (size_t i = 0; i < sizes_.size(); i++) {
            const std::vector<float> g = scaled_gradients(i, grad_range_, poison, tensor, at);
            grads_[i]->upload(g);
            ref_grad.emplace_back(g.begin(), g.end());
        }
        EXPECT_EQ(fopt_step(opt_), FOPT_SUCCESS) << fopt_last_error(opt_);
        return reference_step(ref_grad, ref_param_);
    }

    std::vector<std::vector<float>> params() const
    {
        std::vector<std::vector<float>> out;
        for (auto &p : params_) {
            out.push_back(p->download());
        }
        return out;
    }

    /* Parameters within tolerance, the step counter and (with grad_scaling)
     * the scale equal to the reference's. */
    void expect_matches_reference(double atol = 2e-6, double rtol = 2e-5) const
    {
        size_t bad = 0;
        for (size_t i = 0; i < sizes_.size(); i++) {
            std::vector<float> got = params_[i]->download();
            for (size_t j = 0; j < got.size(); j++) {
                const double want = ref_param_[i][j];
                const double err = std::fabs((double)got[j] - want);
                const bool both_nan = std::isnan(want) && std::isnan(got[j]);
                if (!both_nan && !(err <= atol + rtol * std::fabs(want)) && bad++ < 5) {
                    ADD_FAILURE() << "tensor " << i << " element " << j << ": got " << got[j] << ", reference "
                                  << want;
                }
            }
        }
        EXPECT_EQ(bad, 0u) << "elements out of tolerance";
        expect_counters_match(opt_);
        if (options_.grad_scaling || options_.max_grad_norm > 0 || options_.track_grad_norm) {
            expect_grad_norm(opt_, ref_grad_norm());
        }
    }

private:
    float grad_range_;
    std::vector<std::unique_ptr<Buffer>> params_;
    std::vector<std::unique_ptr<Buffer>> grads_;
    std::vector<std::vector<double>> ref_param_;
    fopt_optimizer *opt_ = nullptr;
    fopt_status status_ = FOPT_SUCCESS;
};

/* The configurations the scaling tests run: momentum SGD (first-step buffer),
 * nesterov, Adam with amsgrad, AdamW; cosine schedule, epoch every 2 steps. */
inline std::vector<std::pair<const char *, fopt_options>> scaling_configs(fopt_backend backend)
{
    std::vector<std::pair<const char *, fopt_options>> c;
    auto make = [&](const char *name, fopt_algorithm a, double lr) -> fopt_options & {
        fopt_options o = fopt_default_options(a);
        o.backend = backend;
        o.schedule.kind = FOPT_SCHEDULE_COSINE;
        o.schedule.base_lr = lr;
        o.schedule.eta_min = lr / 20;
        o.schedule.t_max = 3;
        o.steps_per_epoch = 2;
        o.grad_scaling = 1;
        o.growth_interval = 3;
        c.push_back({name, o});
        return c.back().second;
    };
    make("sgd_momentum", FOPT_SGD, 0.05).momentum = 0.9;
    fopt_options &n = make("sgd_nesterov_wd", FOPT_SGD, 0.05);
    n.momentum = 0.8;
    n.nesterov = 1;
    n.weight_decay = 0.01;
    fopt_options &a = make("adam_amsgrad", FOPT_ADAM, 0.01);
    a.amsgrad = 1;
    a.weight_decay = 0.05;
    make("adamw", FOPT_ADAMW, 0.01).maximize = 1;
    return c;
}

/* Parameter sizes: tiny, a vector tail, more than one chunk. */
inline std::vector<size_t> scaling_sizes()
{
    return {3, 0, 4097, 70};
}

/* What a skipped step leaves bit for bit: counters, last lr, every state array. */
inline void expect_unchanged_but_the_scale(const Snapshot &before, const Snapshot &after)
{
    Snapshot same_scale = after;
    same_scale.scale = before.scale;
    same_scale.growth_tracker = before.growth_tracker;
    EXPECT_TRUE(same_scale == before) << "a skipped step changed the counters or the optimizer state";
    EXPECT_EQ(after.scale, before.scale * 0.5) << "a skipped step backs the scale off";
}

/* The scenario every backend runs, per configuration: step 1 overflows (inf,
 * SGD's buffer must still start from the first good gradient), a NaN in one
 * tensor only later, enough good steps to grow the scale twice; a skipped
 * step leaves the parameters, counters and state bit for bit. */
template <class Buffer>
void run_scaling_scenario(const fopt_options &options)
{
    MixedRun<Buffer> run(options, scaling_sizes(), 5);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    const auto before = run.params();
    const Snapshot state_before = snapshot(run.opt());
    EXPECT_TRUE(run.step(Poison::inf, 2, 4096));
    EXPECT_EQ(run.params(), before) << "a skipped first step changed the parameters";
    expect_unchanged_but_the_scale(state_before, snapshot(run.opt()));
    run.expect_matches_reference();
    EXPECT_EQ(run.ref_scale(), options.init_scale / 2);
    for (int i = 0; i < 4; i++) {
        EXPECT_FALSE(run.step());
    }
    run.expect_matches_reference();
    const auto good = run.params();
    const Snapshot state_good = snapshot(run.opt());
    EXPECT_TRUE(run.step(Poison::nan, 3, 69));
    EXPECT_EQ(run.params(), good) << "a skipped step changed the parameters";
    expect_unchanged_but_the_scale(state_good, snapshot(run.opt()));
    for (int i = 0; i < 7; i++) {
        EXPECT_FALSE(run.step());
    }
    run.expect_matches_reference();
    EXPECT_EQ(run.ref_step(), 11);
    /* halved, grown once, halved at the NaN, grown twice */
    EXPECT_EQ(run.ref_scale(), options.init_scale * 2);
}

/* Clipping with and without scaling: max_grad_norm below the gradient norm
 * (clips), far above (does not), and an overflow in one tensor. */
template <class Buffer>
void run_clipping_scenario(fopt_options options)
{
    for (int scaling : {0, 1}) {
        for (double max_norm : {0.5, 1e6}) {
            SCOPED_TRACE(testing::Message() << "grad_scaling " << scaling << " max_grad_norm " << max_norm);
            options.grad_scaling = scaling;
            options.max_grad_norm = max_norm;
            MixedRun<Buffer> run(options, scaling_sizes(), 9, 2.0f);
            ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
            for (int i = 0; i < 4; i++) {
                run.step();
            }
            if (scaling) {
                EXPECT_TRUE(run.step(Poison::inf, 0, 1));
                run.step();
            }
            run.expect_matches_reference();
        }
    }
}

/* Non-finite edge cases, as PyTorch defines them:
 *  - clipping without scaling and an inf gradient: the norm is inf, the clip
 *    coefficient 0, so finite gradients count as 0 and the inf one as NaN
 *    (clip_grad_norm_), the step is not skipped;
 *  - a finite gradient that overflows when unscaled by a scale < 1 is found
 *    by GradScaler (it checks g * inv_scale), so the step is skipped. */
template <class Buffer>
void run_nonfinite_scenario(fopt_options options)
{
    {
        SCOPED_TRACE("clipping an inf gradient without scaling");
        options.grad_scaling = 0;
        options.max_grad_norm = 1.0;
        MixedRun<Buffer> run(options, scaling_sizes(), 11);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        run.step();
        EXPECT_FALSE(run.step(Poison::inf, 2, 7));
        EXPECT_TRUE(std::isnan(run.params()[2][7])) << "the inf gradient times a 0 clip coefficient";
        run.step();
        run.expect_matches_reference();
    }
    {
        SCOPED_TRACE("a gradient that overflows when unscaled");
        options.grad_scaling = 1;
        options.max_grad_norm = 0;
        options.init_scale = 0.5;
        MixedRun<Buffer> run(options, scaling_sizes(), 12);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        run.step();
        const auto before = run.params();
        EXPECT_TRUE(run.step(Poison::huge, 3, 5));
        EXPECT_EQ(run.params(), before) << "the skipped step changed the parameters";
        EXPECT_EQ(run.ref_scale(), 0.25);
        run.step();
        run.expect_matches_reference();
    }
}

/* track_grad_norm alone: the norm of every step matches the reference (inf
 * with an inf gradient, which nothing skips or clips), the parameters are
 * the same bits as without tracking, and the norm calls need one of the
 * three options. */
template <class Buffer>
void run_grad_norm_scenario(fopt_options options)
{
    options.grad_scaling = 0;
    options.max_grad_norm = 0;
    options.track_grad_norm = 0;
    MixedRun<Buffer> plain(options, scaling_sizes(), 7);
    options.track_grad_norm = 1;
    MixedRun<Buffer> tracked(options, scaling_sizes(), 7);
    ASSERT_EQ(plain.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    ASSERT_EQ(tracked.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    double norm = -1;
    const float *pointer = nullptr;
    EXPECT_EQ(fopt_get_grad_norm(tracked.opt(), &norm), FOPT_SUCCESS);
    EXPECT_EQ(norm, 0.0) << "before the first step";
    EXPECT_EQ(fopt_get_grad_norm(tracked.opt(), nullptr), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_device_grad_norm(tracked.opt(), nullptr), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_get_grad_norm(plain.opt(), &norm), FOPT_ERROR_NOT_SUPPORTED);
    EXPECT_EQ(fopt_device_grad_norm(plain.opt(), &pointer), FOPT_ERROR_NOT_SUPPORTED);
    EXPECT_NE(std::string(fopt_last_error(plain.opt())).find("track_grad_norm"), std::string::npos);
    for (int k = 0; k < 4; k++) {
        plain.step();
        tracked.step();
        tracked.expect_matches_reference();
    }
    EXPECT_EQ(plain.params(), tracked.params()) << "tracking the norm changed the update";
    tracked.step(Poison::inf, 2, 7);
    EXPECT_EQ(tracked.ref_grad_norm(), std::numeric_limits<double>::infinity());
    expect_grad_norm(tracked.opt(), tracked.ref_grad_norm());
}

} // namespace fopt_mixed

#endif /* FOPT_TESTS_MIXED_COMMON_H */
