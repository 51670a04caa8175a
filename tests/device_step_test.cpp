/*
 * The CUDA backend against the CPU reference, through the public API:
 * every configuration, sizes around the vector width and the chunk size,
 * empty tensors, misaligned pointers, many tensors, one large tensor.
 * Runs on the CPU execution harness (label emu) and on a GPU (label gpu).
 */
#include "device_common.h"

using fopt_test::all_configs;
using fopt_test::Config;
using fopt_test::DeviceRun;
using fopt_test::TensorSpec;

namespace {

class DeviceStep : public ::testing::TestWithParam<Config> {};

std::string config_name(const ::testing::TestParamInfo<Config> &info)
{
    return info.param.name;
}

/* The sizes the brief names, each its own tensor (numel 0 among them), all aligned. */
const std::vector<TensorSpec> kSizes = {{0, 0, 0}, {1, 0, 0},    {3, 0, 0},     {4, 0, 0},
                                        {5, 0, 0}, {4095, 0, 0}, {65537, 0, 0}, {4097, 0, 0}};

TEST_P(DeviceStep, SizesMatchReference)
{
    FOPT_REQUIRE_DEVICE();
    for (unsigned seed : {1u, 2u}) {
        DeviceRun run(GetParam().options, kSizes, seed);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        for (int i = 0; i < 8; i++) {
            run.step();
        }
        run.expect_params_close();
    }
}

/* Misaligned param only, grad only, both (equally and differently). */
TEST_P(DeviceStep, MisalignedPointersMatchReference)
{
    FOPT_REQUIRE_DEVICE();
    const std::vector<TensorSpec> specs = {{4095, 1, 0}, {4097, 0, 2}, {9000, 3, 3}, {5, 1, 2}, {4100, 2, 0}};
    DeviceRun run(GetParam().options, specs, 3);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    for (int i = 0; i < 6; i++) {
        run.step();
    }
    run.expect_params_close();
}

INSTANTIATE_TEST_SUITE_P(AllConfigs, DeviceStep, ::testing::ValuesIn(all_configs()), config_name);

/* 120 tensors of mixed sizes (empty, tiny, around chunk boundaries), some misaligned. */
TEST(DeviceStepMany, ManyTensorsMatchReference)
{
    FOPT_REQUIRE_DEVICE();
    std::mt19937 rng(7);
    std::vector<TensorSpec> specs;
    const size_t sizes[] = {0, 1, 2, 3, 7, 16, 100, 4095, 4096, 4097, 8192, 12289};
    for (int i = 0; i < 120; i++) {
        specs.push_back({sizes[rng() % 12], rng() % 4 == 0 ? 1u : 0u, rng() % 5 == 0 ? 2u : 0u});
    }
    for (const Config &c : all_configs()) {
        if (c.name != "sgd_nesterov_wd" && c.name != "adamw_amsgrad") {
            continue;
        }
        SCOPED_TRACE(c.name);
        DeviceRun run(c.options, specs, 11);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        for (int i = 0; i < 5; i++) {
            run.step();
        }
        run.expect_params_close();
    }
}

/* One tensor of 1M + 3 elements: many chunks and a 3-element tail. */
TEST(DeviceStepLarge, MillionPlusThreeMatchesReference)
{
    FOPT_REQUIRE_DEVICE();
    for (const Config &c : all_configs()) {
        if (c.name != "sgd_momentum_dampening_wd" && c.name != "adam_amsgrad_maximize") {
            continue;
        }
        SCOPED_TRACE(c.name);
        DeviceRun run(c.options, {{(1u << 20) + 3, 0, 0}}, 5);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        for (int i = 0; i < 3; i++) {
            run.step();
        }
        run.expect_params_close();
    }
}

/* Host memory handed to the CUDA backend is refused. */
TEST(DeviceStepErrors, HostPointersAreRejected)
{
    FOPT_REQUIRE_DEVICE();
    std::vector<float> p(16), g(16);
    fopt_tensor t = {p.data(), g.data(), p.size()};
    fopt_options o = fopt_test::base_options(FOPT_SGD, 0.1);
    fopt_optimizer *opt = nullptr;
    EXPECT_EQ(fopt_create(&opt, &o, &t, 1), FOPT_ERROR_INVALID_POINTER);
    EXPECT_EQ(opt, nullptr);
}

/* Only empty tensors: nothing to update, counters and lr still advance. */
TEST(DeviceStepErrors, EmptyTensorsOnly)
{
    FOPT_REQUIRE_DEVICE();
    fopt_test::DeviceFloats p(0, 0), g(0, 0);
    fopt_tensor t[2] = {{p.get(), g.get(), 0}, {p.get(), g.get(), 0}};
    fopt_options o = fopt_test::base_options(FOPT_ADAM, 0.1);
    fopt_optimizer *opt = nullptr;
    ASSERT_EQ(fopt_create(&opt, &o, t, 2), FOPT_SUCCESS) << fopt_last_error(nullptr);
    EXPECT_EQ(fopt_step(opt), FOPT_SUCCESS);
    EXPECT_EQ(fopt_step(opt), FOPT_SUCCESS);
    int64_t step = -1, epoch = -1;
    double lr = 0;
    EXPECT_EQ(fopt_get_counters(opt, &step, &epoch), FOPT_SUCCESS);
    EXPECT_EQ(fopt_get_last_lr(opt, &lr), FOPT_SUCCESS);
    EXPECT_EQ(step, 2);
    EXPECT_EQ(epoch, 1);
    EXPECT_DOUBLE_EQ(lr, 0.1);
    fopt_destroy(opt);
}

} // namespace
