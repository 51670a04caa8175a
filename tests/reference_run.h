/*
 * What the runs that drive an optimizer through the public API next to the
 * CPU reference share (MixedRun in mixed_common.h, PrecisionRun in
 * precision_common.h; random_floats also TestRun in device_common.h):
 * random floats drawn from the run's seed, the gradients of a step scaled
 * and optionally poisoned, the reference's side of a step with gradient
 * scaling and clipping (unscale, clip, skip, schedule, update, epoch, loss
 * scale), and the check of the optimizer's counters and scale against it.
 */
#ifndef FOPT_TESTS_REFERENCE_RUN_H
#define FOPT_TESTS_REFERENCE_RUN_H

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "fusedopt.h"
#include "reference.h"

namespace fopt_run {

/* What a run's step plants in the gradients. */
/* huge: FLT_MAX, finite as given but inf once unscaled by a loss scale < 1. */
enum class Poison { none, inf, nan, huge };

/* n floats uniform in +-range, drawn from rng. */
inline std::vector<float> random_floats(std::mt19937 &rng, size_t n, float range)
{
    std::uniform_real_distribution<float> dist(-range, range);
    std::vector<float> v(n);
    for (float &x : v) {
        x = dist(rng);
    }
    return v;
}

/* The reference's side of a run over tensors of `sizes`, seeded with `seed`. */
class ReferenceRun {
public:
    int64_t ref_step() const { return step_; }
    double ref_scale() const { return scale_; }
    /* The global norm of the unscaled gradients of the most recent step. */
    double ref_grad_norm() const { return grad_norm_; }

protected:
    ReferenceRun(const fopt_options &options, const std::vector<size_t> &sizes, unsigned seed)
        : options_(options), sizes_(sizes), rng_(seed), scale_(options.grad_scaling ? options.init_scale : 1.0)
    {
        for (int a = 0; a < 4; a++) {
            for (size_t n : sizes_) {
                ref_state_[a].emplace_back(n, fopt_reference_initial_state(&options, a));
            }
        }
    }

    std::vector<float> random_floats(size_t n, float range) { return fopt_run::random_floats(rng_, n, range); }

    /* The gradients of tensor i for the next step: uniform in +-range times
     * the scale, `poison` planted in element `at` when i == tensor. */
    std::vector<float> scaled_gradients(size_t i, float range, Poison poison, size_t tensor, size_t at)
    {
        std::vector<float> g = random_floats(sizes_[i], range);
        for (float &x : g) {
            x *= (float)scale_;
        }
        if (poison != Poison::none && i == tensor) {
            g.at(at) = poison == Poison::inf    ? std::numeric_limits<float>::infinity()
                       : poison == Poison::huge ? std::numeric_limits<float>::max()
                                                : std::numeric_limits<float>::quiet_NaN();
        }
        return g;
    }

    /* One reference step over `grads` (what the optimizer saw; unscaled and
     * clipped here in place) updating `params`; returns whether it skipped. */
    bool reference_step(std::vector<std::vector<double>> &grads, std::vector<std::vector<double>> &params)
    {
        std::vector<double *> pointers;
        for (auto &g : grads) {
            pointers.push_back(g.data());
        }
        const int skipped =
            fopt_reference_unscale_clip(&options_, scale_, sizes_.size(), sizes_.data(), pointers.data(), &grad_norm_);
        if (!skipped) {
            step_ += 1;
            for (size_t i = 0; i < sizes_.size(); i++) {
                fopt_reference_state st = {ref_state_[0][i].data(), ref_state_[1][i].data(),
                                           ref_state_[2][i].data(), ref_state_[3][i].data()};
                const fopt_options tensor_options = fopt_reference_tensor_options(&options_, i);
                double lr = 0;
                EXPECT_EQ(fopt_schedule_lr(&tensor_options.schedule, epoch_, &lr), FOPT_SUCCESS);
                fopt_reference_step(&tensor_options, lr, step_, sizes_[i], params[i].data(), grads[i].data(), &st);
            }
            if (options_.steps_per_epoch > 0 && step_ % options_.steps_per_epoch == 0) {
                epoch_ += 1;
            }
        }
        if (options_.grad_scaling) {
            fopt_reference_update_scale(&options_, skipped, &scale_, &tracker_);
        }
        return skipped != 0;
    }

    /* opt's step and epoch counters and (with grad_scaling) its scale equal the reference's. */
    void expect_counters_match(fopt_optimizer *opt) const
    {
        int64_t step = -1, epoch = -1;
        EXPECT_EQ(fopt_get_counters(opt, &step, &epoch), FOPT_SUCCESS);
        EXPECT_EQ(step, step_);
        EXPECT_EQ(epoch, epoch_);
        if (options_.grad_scaling) {
            double scale = 0;
            EXPECT_EQ(fopt_get_scale(opt, &scale), FOPT_SUCCESS);
            EXPECT_EQ(scale, scale_);
        }
    }

    fopt_options options_;
    std::vector<size_t> sizes_;
    std::mt19937 rng_;
    std::vector<std::vector<double>> ref_state_[4];
    double scale_;
    double grad_norm_ = 0;
    int64_t tracker_ = 0;
    int64_t step_ = 0;
    int64_t epoch_ = 0;
};

} // namespace fopt_run

#endif /* FOPT_TESTS_REFERENCE_RUN_H */
