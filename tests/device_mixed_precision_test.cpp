/*
 * 16-bit parameters (fp32 master weights) and gradients on the CUDA backend
 * against the reference (scenarios in precision_common.h), and the master
 * weights set by the conversion kernel at create. Runs on the harness (emu)
 * and a GPU (gpu).
 */
#include "device_common.h"
#include "precision_common.h"
#include "precision_device.h"

using fopt_precision::DeviceBytes;
using fopt_precision::PrecisionRun;

namespace {

class DeviceMixedPrecision : public testing::TestWithParam<fopt_precision::Case> {};

TEST_P(DeviceMixedPrecision, MatchesReference)
{
    FOPT_REQUIRE_DEVICE();
    fopt_precision::run_precision_scenario<DeviceBytes>(GetParam().options);
}

INSTANTIATE_TEST_SUITE_P(Cases, DeviceMixedPrecision,
                         testing::ValuesIn(fopt_precision::precision_cases(FOPT_BACKEND_CUDA)),
                         fopt_precision::CaseName());

/* The same steps on both backends give the same master weights to fp32
 * tolerance and parameters within one 16-bit rounding of each other. */
TEST(DeviceMixedPrecisionBackends, CudaAgreesWithCpu)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = fopt_precision::precision_cases(FOPT_BACKEND_CUDA)[7].options; /* Adam bf16/bf16, scaled */
    const std::vector<size_t> sizes = fopt_precision::precision_sizes();
    PrecisionRun<DeviceBytes> device(o, sizes, 4);
    o.backend = FOPT_BACKEND_CPU;
    PrecisionRun<fopt_precision::HostBytes> host(o, sizes, 4);
    ASSERT_EQ(device.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    ASSERT_EQ(host.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    EXPECT_EQ(device.master(0), host.master(0)) << "master weights at create";
    for (int k = 0; k < 6; k++) {
        device.step(k == 2 ? fopt_precision::Poison::inf : fopt_precision::Poison::none, 1, 2);
        host.step(k == 2 ? fopt_precision::Poison::inf : fopt_precision::Poison::none, 1, 2);
    }
    for (size_t t = 0; t < sizes.size(); t++) {
        const std::vector<float> a = device.master(t), b = host.master(t);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); i++) {
            ASSERT_NEAR(a[i], b[i], 1e-6 + 1e-5 * std::fabs(b[i])) << "tensor " << t << " element " << i;
        }
    }
    device.expect_matches_reference();
}

/* Stochastic rounding gives the CPU backend's bits (same fp32 values, same
 * hash of seed, step and element index). */
TEST(DeviceStochasticRounding, SameBitsAsCpu)
{
    FOPT_REQUIRE_DEVICE();
    const std::vector<size_t> sizes = fopt_precision::precision_sizes();
    PrecisionRun<DeviceBytes> device(fopt_precision::stochastic_options(FOPT_BACKEND_CUDA, 9), sizes, 3);
    PrecisionRun<fopt_precision::HostBytes> host(fopt_precision::stochastic_options(FOPT_BACKEND_CPU, 9), sizes, 3);
    ASSERT_EQ(device.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    ASSERT_EQ(host.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    for (int k = 0; k < 6; k++) {
        device.step();
        host.step();
    }
    EXPECT_EQ(device.param_bytes(), host.param_bytes());
}

} // namespace
