/*
 * Parameter groups (options.tensor_weight_decay, options.tensor_base_lr) on
 * the CPU backend: against the reference for every algorithm in fp32 and
 * bf16, split over threads, bit for bit equal to the optimizer without lists
 * where the lists repeat weight_decay and base_lr, validated entry by entry,
 * copied at create, and recorded in checkpoints. (The same runs on the CUDA
 * backend: device_parameter_groups_test.cpp; against PyTorch parameter
 * groups: the *_groups golden trajectories.)
 */
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "checkpoint_util.h"
#include "cpu_backend.h"
#include "groups_common.h"

using fopt_precision::HostBytes;
using fopt_precision::PrecisionRun;

namespace {

class ParameterGroupsCpu : public testing::TestWithParam<fopt_precision::Case> {};

TEST_P(ParameterGroupsCpu, MatchesReference)
{
    fopt_groups::run_groups_scenario<HostBytes>(GetParam().options);
}

INSTANTIATE_TEST_SUITE_P(Cases, ParameterGroupsCpu, testing::ValuesIn(fopt_groups::group_cases(FOPT_BACKEND_CPU)),
                         fopt_precision::CaseName());

/* Three threads split tensors of different weight decay and lr mid-tensor;
 * the bits match one thread's and the reference. */
TEST(ParameterGroupsCpuThreads, SameBitsOnThreeThreads)
{
    fopt_options o = fopt_groups::group_cases(FOPT_BACKEND_CPU)[3].options; /* AdamW fp32 */
    ASSERT_EQ(o.algorithm, FOPT_ADAMW);
    static const double decays[3] = {0.5, 0.0, 0.1};
    static const double base_lrs[3] = {0.02, 0.001, 0.005};
    o.tensor_weight_decay = decays;
    o.tensor_base_lr = base_lrs;
    PrecisionRun<HostBytes> one(o, {3000, 5, 2500}, 3);
    PrecisionRun<HostBytes> three(o, {3000, 5, 2500}, 3);
    ASSERT_EQ(one.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    ASSERT_EQ(three.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    ASSERT_EQ(fopt_cpu_set_threads(three.opt(), 3), FOPT_SUCCESS);
    for (int k = 0; k < 4; k++) {
        one.step();
        three.step();
    }
    EXPECT_EQ(one.param_bytes(), three.param_bytes());
    three.expect_matches_reference();
}

/* Host tensors with fixed values, for the tests that compare two optimizers. */
struct Tensors {
    std::vector<std::vector<float>> params, grads;
    std::vector<fopt_tensor> list;
    explicit Tensors(const std::vector<size_t> &sizes)
    {
        for (size_t t = 0; t < sizes.size(); t++) {
            params.emplace_back(sizes[t]);
            grads.emplace_back(sizes[t]);
            for (size_t i = 0; i < sizes[t]; i++) {
                params[t][i] = fopt_ckpt_test::param_value(t, i);
            }
        }
        for (size_t t = 0; t < sizes.size(); t++) {
            list.push_back({params[t].data(), grads[t].data(), sizes[t]});
        }
    }
    /* Gradients of step k, then one step of opt. */
    void step(fopt_optimizer *opt, int k)
    {
        for (size_t t = 0; t < grads.size(); t++) {
            for (size_t i = 0; i < grads[t].size(); i++) {
                grads[t][i] = fopt_ckpt_test::grad_value(k, t, i);
            }
        }
        ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS) << fopt_last_error(opt);
    }
};

/* Lists that repeat weight_decay and schedule.base_lr are the same
 * optimizer, bit for bit. */
TEST(ParameterGroupsCpu, ListsOfTheSameValueEqualNoLists)
{
    for (fopt_algorithm a : {FOPT_SGD, FOPT_ADAM, FOPT_ADAMW}) {
        SCOPED_TRACE(a);
        fopt_options o = fopt_ckpt_test::config(a);
        o.weight_decay = 0.03;
        const std::vector<double> same(fopt_ckpt_test::sizes().size(), 0.03);
        const std::vector<double> same_lr(fopt_ckpt_test::sizes().size(), o.schedule.base_lr);
        Tensors plain(fopt_ckpt_test::sizes()), listed(fopt_ckpt_test::sizes());
        fopt_optimizer *a_opt = nullptr, *b_opt = nullptr;
        ASSERT_EQ(fopt_create(&a_opt, &o, plain.list.data(), plain.list.size()), FOPT_SUCCESS);
        o.tensor_weight_decay = same.data();
        o.tensor_base_lr = same_lr.data();
        ASSERT_EQ(fopt_create(&b_opt, &o, listed.list.data(), listed.list.size()), FOPT_SUCCESS);
        for (int k = 1; k <= 5; k++) {
            plain.step(a_opt, k);
            listed.step(b_opt, k);
        }
        EXPECT_EQ(plain.params, listed.params);
        fopt_destroy(a_opt);
        fopt_destroy(b_opt);
    }
}

/* Every entry is checked: the message names the first bad one. */
TEST(ParameterGroupsCpu, BadEntriesAreRejected)
{
    Tensors x({4, 4, 4});
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    for (double bad : {-1e-4, nan, inf, -inf, 2e6}) {
        SCOPED_TRACE(bad);
        const double decays[3] = {0.01, 0.0, bad};
        fopt_options o = fopt_default_options(FOPT_ADAMW);
        o.tensor_weight_decay = decays;
        fopt_optimizer *opt = nullptr;
        EXPECT_EQ(fopt_create(&opt, &o, x.list.data(), x.list.size()), FOPT_ERROR_INVALID_HYPERPARAMETER);
        EXPECT_EQ(opt, nullptr);
        EXPECT_NE(std::string(fopt_last_error(nullptr)).find("options.tensor_weight_decay[2]"), std::string::npos)
            << fopt_last_error(nullptr);
    }
    for (double bad : {-1e-4, nan, inf, -inf}) {
        SCOPED_TRACE(bad);
        const double base_lrs[3] = {0.01, bad, 0.0};
        fopt_options o = fopt_default_options(FOPT_SGD);
        o.tensor_base_lr = base_lrs;
        fopt_optimizer *opt = nullptr;
        EXPECT_EQ(fopt_create(&opt, &o, x.list.data(), x.list.size()), FOPT_ERROR_INVALID_HYPERPARAMETER);
        EXPECT_EQ(opt, nullptr);
        EXPECT_NE(std::string(fopt_last_error(nullptr)).find("options.tensor_base_lr[1]"), std::string::npos)
            << fopt_last_error(nullptr);
    }
}

/* The lists are copied at create: overwriting (or freeing) the caller's
 * arrays afterwards changes nothing. */
TEST(ParameterGroupsCpu, ListsAreCopiedAtCreate)
{
    const std::vector<size_t> sizes = fopt_ckpt_test::sizes();
    const std::vector<double> decays = {0.1, 0.0, 0.2, 0.0, 0.3};
    const std::vector<double> base_lrs = {0.01, 0.02, 0.0, 0.05, 0.04};
    std::vector<double> callers = decays, callers_lrs = base_lrs;
    fopt_options o = fopt_ckpt_test::config(FOPT_ADAMW);
    Tensors kept(sizes), overwritten(sizes);
    fopt_optimizer *a = nullptr, *b = nullptr;
    o.tensor_weight_decay = decays.data();
    o.tensor_base_lr = base_lrs.data();
    ASSERT_EQ(fopt_create(&a, &o, kept.list.data(), kept.list.size()), FOPT_SUCCESS);
    o.tensor_weight_decay = callers.data();
    o.tensor_base_lr = callers_lrs.data();
    ASSERT_EQ(fopt_create(&b, &o, overwritten.list.data(), overwritten.list.size()), FOPT_SUCCESS);
    std::fill(callers.begin(), callers.end(), 1e6);
    std::fill(callers_lrs.begin(), callers_lrs.end(), 1.0);
    callers = {};
    callers_lrs = {};
    for (int k = 1; k <= 4; k++) {
        kept.step(a, k);
        overwritten.step(b, k);
    }
    EXPECT_EQ(kept.params, overwritten.params);
    fopt_destroy(a);
    fopt_destroy(b);
}

/* A checkpoint records each tensor's weight decay and base lr: a resume with
 * the same lists continues bit for bit; a different list, or none where the
 * values differ, is a mismatch naming the tensor, and changes nothing. */
TEST(ParameterGroupsCpu, CheckpointRecordsEachTensorsGroup)
{
    fopt_ckpt_test::TempDir dir;
    const std::string path = dir.file("groups.ckpt");
    const std::vector<size_t> sizes = fopt_ckpt_test::sizes();
    const std::vector<double> decays = {0.1, 0.0, 0.2, 0.0, 0.3};
    const std::vector<double> base_lrs = {0.05, 0.01, 0.05, 0.05, 0.02};
    fopt_options o = fopt_ckpt_test::config(FOPT_ADAMW);
    o.tensor_weight_decay = decays.data();
    o.tensor_base_lr = base_lrs.data();

    Tensors whole(sizes), resumed(sizes);
    fopt_optimizer *w = nullptr, *first = nullptr;
    ASSERT_EQ(fopt_create(&w, &o, whole.list.data(), whole.list.size()), FOPT_SUCCESS);
    ASSERT_EQ(fopt_create(&first, &o, resumed.list.data(), resumed.list.size()), FOPT_SUCCESS);
    for (int k = 1; k <= 3; k++) {
        whole.step(w, k);
        resumed.step(first, k);
    }
    ASSERT_EQ(fopt_save(first, path.c_str()), FOPT_SUCCESS) << fopt_last_error(first);
    fopt_destroy(first);

    const std::vector<double> other_decays = {0.1, 0.0, 0.2, 0.01, 0.3};
    const std::vector<double> other_lrs = {0.05, 0.01, 0.05, 0.05, 0.03};
    struct Different {
        const double *decays, *base_lrs;
        const char *message;
    } cases[] = {
        {other_decays.data(), base_lrs.data(), "tensor 3 has weight_decay 0 in the checkpoint, 0.01 here"},
        {nullptr, base_lrs.data(), "tensor 0 has weight_decay 0.10000000000000001 in the checkpoint, 0.01 here"},
        {decays.data(), other_lrs.data(), "tensor 4 has base lr 0.02 in the checkpoint, 0.029999999999999999 here"},
        {decays.data(), nullptr, "tensor 1 has base lr 0.01 in the checkpoint, 0.050000000000000003 here"},
    };
    for (const Different &c : cases) {
        fopt_options different = o;
        different.tensor_weight_decay = c.decays;
        different.tensor_base_lr = c.base_lrs;
        fopt_optimizer *opt = nullptr;
        ASSERT_EQ(fopt_create(&opt, &different, resumed.list.data(), resumed.list.size()), FOPT_SUCCESS);
        const fopt_ckpt_test::Snapshot before = fopt_ckpt_test::snapshot(opt);
        EXPECT_EQ(fopt_load(opt, path.c_str()), FOPT_ERROR_CHECKPOINT_MISMATCH);
        const std::string message = fopt_last_error(opt);
        EXPECT_NE(message.find(c.message), std::string::npos) << message;
        EXPECT_TRUE(fopt_ckpt_test::snapshot(opt) == before);
        fopt_destroy(opt);
    }

    fopt_optimizer *second = nullptr;
    ASSERT_EQ(fopt_create(&second, &o, resumed.list.data(), resumed.list.size()), FOPT_SUCCESS);
    ASSERT_EQ(fopt_load(second, path.c_str()), FOPT_SUCCESS) << fopt_last_error(second);
    for (int k = 4; k <= 8; k++) {
        whole.step(w, k);
        resumed.step(second, k);
    }
    EXPECT_EQ(whole.params, resumed.params);
    fopt_destroy(w);
    fopt_destroy(second);
}

} // namespace
