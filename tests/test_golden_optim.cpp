// Golden optimizer trajectories: 25 steps of every SGD / Adam / AdamW option
// combination under a cosine schedule, as real PyTorch (float64, single-tensor
// path) computed them (tests/golden/optimizers.txt, made by make_golden.py).
// Each trajectory runs through the double CPU reference and the fp32 CPU backend.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "golden_fixture.h"
#include "reference.h"

namespace {

std::string trajectory_load_error;

const golden::Trajectories &trajectories()
{
    static const golden::Trajectories all = [] {
        try {
            return golden::load_trajectories();
        } catch (const std::exception &e) {
            trajectory_load_error = e.what();
            return golden::Trajectories();
        }
    }();
    return all;
}

// The parameter is an index into trajectories().cases (the inputs are shared).
std::vector<size_t> case_indices()
{
    std::vector<size_t> idx(trajectories().cases.size());
    for (size_t i = 0; i < idx.size(); i++) {
        idx[i] = i;
    }
    return idx;
}

TEST(GoldenFixtures, TrajectoriesLoad)
{
    const golden::Trajectories &all = trajectories();
    ASSERT_EQ(trajectory_load_error, "");
    EXPECT_EQ(all.inputs.grad.size(), 25u);
    int per_algorithm[6] = {0, 0, 0, 0, 0, 0};
    int decay_groups = 0, lr_groups = 0;
    for (const auto &c : all.cases) {
        per_algorithm[c.options.algorithm]++;
        if (c.options.tensor_weight_decay) {
            decay_groups++;
            EXPECT_EQ(c.options.tensor_weight_decay, c.tensor_weight_decay.data()) << c.name;
            EXPECT_EQ(c.tensor_weight_decay.size(), all.inputs.numel.size()) << c.name;
        }
        if (c.options.tensor_base_lr) {
            lr_groups++;
            EXPECT_EQ(c.options.tensor_base_lr, c.tensor_base_lr.data()) << c.name;
            EXPECT_EQ(c.tensor_base_lr.size(), all.inputs.numel.size()) << c.name;
        }
    }
    EXPECT_EQ(per_algorithm[FOPT_SGD], 19);
    EXPECT_EQ(per_algorithm[FOPT_ADAGRAD], 18);
    EXPECT_EQ(per_algorithm[FOPT_RMSPROP], 17);
    EXPECT_EQ(decay_groups, 9);
    EXPECT_EQ(lr_groups, 4);
    EXPECT_GE(per_algorithm[FOPT_ADAM], 8);
    EXPECT_GE(per_algorithm[FOPT_ADAMW], 8);
}

// Learning rates: the closed form against PyTorch's recursive scheduler (see test_golden.cpp).
constexpr double kLrRtol = 1e-12;

// Reference (double) vs PyTorch (double): the same algorithm, differing only in
// the order of a few roundings per step, so 1e-10 relative over 25 steps is
// loose. atol covers elements that pass near 0, where a relative bound on
// rounding noise of ~1e-17 absolute would be meaningless.
constexpr double kRefRtol = 1e-10;
constexpr double kRefAtol = 1e-14;

// CPU backend (fp32 params, grads, state) vs PyTorch (double): each step rounds
// params of magnitude ~1 to fp32 (half an ulp, ~6e-8) and uses fp32 moments;
// over 25 steps that stays below ~2e-6 absolute on O(1) params. rtol 1e-5 with
// atol 1e-6 leaves margin yet catches any formula error (a wrong term moves
// params by >= lr * |grad| * 1e-2 ~ 1e-5 within a few steps).
constexpr double kFp32Rtol = 1e-5;
constexpr double kFp32Atol = 1e-6;

// Records a failure per mismatching element of `param` after step k; returns
// false if any mismatched, so the caller stops at the first diverging step.
bool compare_step(const char *path, const golden::TrajectoryCase &c, size_t k,
                  const std::vector<size_t> &numel, const std::vector<double> &param, double rtol,
                  double atol)
{
    const std::vector<double> &want = c.steps[k - 1].param;
    bool ok = true;
    size_t i = 0;
    for (size_t t = 0; t < numel.size(); t++) {
        for (size_t e = 0; e < numel[t]; e++, i++) {
            if (!golden::close(param[i], want[i], rtol, atol)) {
                ok = false;
                ADD_FAILURE() << path << " " << c.name << " step " << k << " tensor " << t << " element " << e
                              << ": got " << testing::PrintToString(param[i]) << ", PyTorch "
                              << testing::PrintToString(want[i]) << " (|diff| " << std::abs(param[i] - want[i])
                              << " > " << atol + rtol * std::abs(want[i]) << ")";
            }
        }
    }
    return ok;
}

class GoldenTrajectory : public ::testing::TestWithParam<size_t> {
protected:
    const golden::Inputs &inputs() const { return trajectories().inputs; }
    const golden::TrajectoryCase &the_case() const { return trajectories().cases[GetParam()]; }
};

TEST_P(GoldenTrajectory, ReferenceMatchesPyTorch)
{
    const golden::TrajectoryCase &c = the_case();
    const golden::Inputs &x = inputs();
    std::vector<double> param = x.init;
    // One state block per tensor: momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq.
    std::vector<std::vector<double>> state(x.numel.size() * 4);
    std::vector<fopt_reference_state> states(x.numel.size());
    for (size_t t = 0; t < x.numel.size(); t++) {
        for (size_t a = 0; a < 4; a++) {
            state[t * 4 + a].assign(x.numel[t], fopt_reference_initial_state(&c.options, (int)a));
        }
        states[t] = {state[t * 4].data(), state[t * 4 + 1].data(), state[t * 4 + 2].data(),
                     state[t * 4 + 3].data()};
    }
    for (size_t k = 1; k <= c.steps.size(); k++) {
        double lr = -1.0;
        ASSERT_EQ(fopt_schedule_lr(&c.options.schedule, (int64_t)k - 1, &lr), FOPT_SUCCESS) << c.name;
        ASSERT_TRUE(golden::close(lr, c.steps[k - 1].lr, kLrRtol, 0.0))
            << c.name << " step " << k << ": lr " << lr << ", PyTorch " << c.steps[k - 1].lr;
        size_t offset = 0;
        for (size_t t = 0; t < x.numel.size(); t++) {
            const fopt_options tensor_options = fopt_reference_tensor_options(&c.options, t);
            double tensor_lr = -1.0;
            ASSERT_EQ(fopt_schedule_lr(&tensor_options.schedule, (int64_t)k - 1, &tensor_lr), FOPT_SUCCESS);
            fopt_reference_step(&tensor_options, tensor_lr, (int64_t)k, x.numel[t], param.data() + offset,
                                x.grad[k - 1].data() + offset, &states[t]);
            offset += x.numel[t];
        }
        if (!compare_step("reference", c, k, x.numel, param, kRefRtol, kRefAtol)) {
            return;
        }
    }
}

TEST_P(GoldenTrajectory, CpuBackendMatchesPyTorch)
{
    const golden::TrajectoryCase &c = the_case();
    const golden::Inputs &x = inputs();
    std::vector<float> param(x.init.begin(), x.init.end());
    std::vector<float> grad(x.total());
    std::vector<fopt_tensor> tensors;
    size_t offset = 0;
    for (size_t n : x.numel) {
        tensors.push_back({param.data() + offset, grad.data() + offset, n});
        offset += n;
    }
    fopt_options o = c.options;
    o.backend = FOPT_BACKEND_CPU;
    o.steps_per_epoch = 1; // scheduler.step() after every optimizer.step()
    fopt_optimizer *opt = nullptr;
    ASSERT_EQ(fopt_create(&opt, &o, tensors.data(), tensors.size()), FOPT_SUCCESS)
        << c.name << ": " << fopt_last_error(nullptr);
    for (size_t k = 1; k <= c.steps.size(); k++) {
        for (size_t i = 0; i < grad.size(); i++) {
            grad[i] = (float)x.grad[k - 1][i];
        }
        ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS) << c.name << ": " << fopt_last_error(opt);
        double lr = -1.0;
        ASSERT_EQ(fopt_get_last_lr(opt, &lr), FOPT_SUCCESS);
        EXPECT_TRUE(golden::close(lr, c.steps[k - 1].lr, kLrRtol, 0.0))
            << c.name << " step " << k << ": last lr " << lr << ", PyTorch " << c.steps[k - 1].lr;
        std::vector<double> got(param.begin(), param.end());
        if (!compare_step("cpu backend", c, k, x.numel, got, kFp32Rtol, kFp32Atol)) {
            break;
        }
    }
    int64_t step = -1, epoch = -1;
    EXPECT_EQ(fopt_get_counters(opt, &step, &epoch), FOPT_SUCCESS);
    EXPECT_EQ(step, (int64_t)c.steps.size());
    EXPECT_EQ(epoch, (int64_t)c.steps.size());
    fopt_destroy(opt);
}

INSTANTIATE_TEST_SUITE_P(PyTorch, GoldenTrajectory, ::testing::ValuesIn(case_indices()),
                         [](const ::testing::TestParamInfo<size_t> &param) {
                             return trajectories().cases[param.param].name;
                         });

} // namespace
