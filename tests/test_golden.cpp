// Golden schedules: fopt_schedule_lr against the learning rates real PyTorch
// schedulers printed (tests/golden/schedules.txt, made by make_golden.py).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "golden_fixture.h"

namespace {

// Loaded once; a fixture that fails to parse leaves the list empty and the
// message for GoldenFixtures.SchedulesLoad to report.
std::string schedule_load_error;

const std::vector<golden::ScheduleCase> &schedule_cases()
{
    static const std::vector<golden::ScheduleCase> cases = [] {
        try {
            return golden::load_schedules();
        } catch (const std::exception &e) {
            schedule_load_error = e.what();
            return std::vector<golden::ScheduleCase>();
        }
    }();
    return cases;
}

TEST(GoldenFixtures, SchedulesLoad)
{
    const auto &cases = schedule_cases();
    ASSERT_EQ(schedule_load_error, "");
    EXPECT_GE(cases.size(), 15u);
    int kinds[6] = {0, 0, 0, 0, 0, 0};
    for (const auto &c : cases) {
        ASSERT_GE((int)c.schedule.kind, 0) << c.name;
        ASSERT_LE((int)c.schedule.kind, 5) << c.name;
        kinds[c.schedule.kind]++;
    }
    for (int k = 0; k < 6; k++) {
        EXPECT_GT(kinds[k], 0) << "no golden schedule of kind " << k;
    }
}

class GoldenSchedule : public ::testing::TestWithParam<golden::ScheduleCase> {};

// PyTorch steps most schedulers recursively (lr_t from lr_{t-1}); we evaluate
// the closed form. The two agree to a few ulps per step, so after <= 300 steps
// relative 1e-12 holds with margin. No atol: where PyTorch reaches exactly 0
// (cos(pi) = -1 in both forms), so do we.
constexpr double kScheduleRtol = 1e-12;

TEST_P(GoldenSchedule, MatchesPyTorch)
{
    const golden::ScheduleCase &c = GetParam();
    ASSERT_EQ(fopt_schedule_check(&c.schedule), FOPT_SUCCESS) << c.name << ": " << fopt_last_error(nullptr);
    int mismatches = 0;
    for (size_t t = 0; t < c.lr.size() && mismatches < 5; t++) {
        double lr = -1.0;
        ASSERT_EQ(fopt_schedule_lr(&c.schedule, (int64_t)t, &lr), FOPT_SUCCESS) << c.name;
        if (!golden::close(lr, c.lr[t], kScheduleRtol, 0.0)) {
            mismatches++;
            ADD_FAILURE() << "schedule " << c.name << " epoch " << t << ": fopt_schedule_lr = "
                          << testing::PrintToString(lr) << ", PyTorch = " << testing::PrintToString(c.lr[t])
                          << " (relative error " << (lr - c.lr[t]) / c.lr[t] << ")";
        }
    }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, GoldenSchedule, ::testing::ValuesIn(schedule_cases()),
                         [](const ::testing::TestParamInfo<golden::ScheduleCase> &param) {
                             return param.param.name;
                         });

} // namespace
