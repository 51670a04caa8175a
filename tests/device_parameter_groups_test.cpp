/*
 * Parameter groups (options.tensor_weight_decay, options.tensor_base_lr) on
 * the CUDA backend against the reference (scenario in groups_common.h): the
 * kernels apply each chunk's tensor's weight decay and lr. Runs on the
 * harness (emu) and a GPU (gpu).
 */
#include "device_common.h"
#include "groups_common.h"
#include "precision_device.h"

using fopt_precision::DeviceBytes;

namespace {

class DeviceParameterGroups : public testing::TestWithParam<fopt_precision::Case> {};

TEST_P(DeviceParameterGroups, MatchesReference)
{
    FOPT_REQUIRE_DEVICE();
    fopt_groups::run_groups_scenario<DeviceBytes>(GetParam().options);
}

INSTANTIATE_TEST_SUITE_P(Cases, DeviceParameterGroups,
                         testing::ValuesIn(fopt_groups::group_cases(FOPT_BACKEND_CUDA)),
                         fopt_precision::CaseName());

} // namespace
