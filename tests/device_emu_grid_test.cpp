/*
 * Harness-only: the grid-stride walk is correct for any grid and block
 * order. With one SM the backend launches 4 blocks, so every block walks
 * many chunks; shuffled block orders change which block takes which chunk.
 */
#include "device_common.h"
#include "fopt_emu.h"

namespace {

const std::vector<fopt_test::TensorSpec> kSpecs = {
    {70001, 0, 0}, {4097, 1, 0}, {0, 0, 0}, {5, 0, 3}, {12288, 0, 0}, {33, 2, 2}};

class DeviceEmuGrid : public ::testing::Test {
protected:
    void TearDown() override
    {
        fopt_emu_set_sm_count(0);
        fopt_emu_set_block_order(0);
    }
};

TEST_F(DeviceEmuGrid, OneSmGridStrideLoops)
{
    fopt_emu_set_sm_count(1);
    for (const fopt_test::Config &c : fopt_test::all_configs()) {
        SCOPED_TRACE(c.name);
        fopt_test::DeviceRun run(c.options, kSpecs, 2);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        for (int i = 0; i < 4; i++) {
            run.step();
        }
        run.expect_params_close();
    }
}

TEST_F(DeviceEmuGrid, ShuffledBlockOrders)
{
    for (unsigned seed : {1u, 77u, 12345u}) {
        SCOPED_TRACE(seed);
        fopt_emu_set_block_order(seed);
        fopt_emu_set_sm_count(seed % 3 + 1);
        fopt_test::Config c = fopt_test::all_configs()[seed % 12];
        fopt_test::DeviceRun run(c.options, kSpecs, seed);
        ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
        for (int i = 0; i < 4; i++) {
            run.step();
            double lr = 0;
            ASSERT_EQ(fopt_get_last_lr(run.opt(), &lr), FOPT_SUCCESS);
            EXPECT_DOUBLE_EQ(lr, run.ref_last_lr()) << "last_lr is written by block 0 whatever the order";
        }
        run.expect_params_close();
    }
}

} // namespace
