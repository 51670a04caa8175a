// Checkpoints on the CUDA backend (harness and real GPU): bit-identical
// resume, files that move between backends byte for byte, and bad files
// that change nothing in device memory.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint_util.h"
#include "device_common.h"

using namespace fopt_ckpt_test;
using fopt_test::DeviceFloats;

namespace {

/* Device (or host) parameters and gradients for sizes(), misaligned on the
 * device, and an optimizer over them. */
struct Model {
    bool device;
    std::vector<size_t> numels = sizes();
    std::vector<std::unique_ptr<DeviceFloats>> dparams, dgrads;
    std::vector<std::vector<float>> hparams, hgrads;
    fopt_optimizer *opt = nullptr;

    Model(fopt_options o, bool on_device) : device(on_device)
    {
        o.backend = device ? FOPT_BACKEND_CUDA : FOPT_BACKEND_CPU;
        std::vector<fopt_tensor> tensors;
        for (size_t t = 0; t < numels.size(); t++) {
            std::vector<float> p(numels[t]);
            for (size_t i = 0; i < p.size(); i++) {
                p[i] = param_value(t, i);
            }
            hparams.push_back(p);
            hgrads.emplace_back(numels[t]);
            if (device) {
                dparams.push_back(std::make_unique<DeviceFloats>(numels[t], t % 3));
                dgrads.push_back(std::make_unique<DeviceFloats>(numels[t], (t + 1) % 4));
                dparams.back()->upload(p);
                tensors.push_back({dparams.back()->get(), dgrads.back()->get(), numels[t]});
            }
        }
        for (size_t t = 0; t < numels.size() && !device; t++) {
            tensors.push_back({hparams[t].data(), hgrads[t].data(), numels[t]});
        }
        EXPECT_EQ(fopt_create(&opt, &o, tensors.data(), tensors.size()), FOPT_SUCCESS) << fopt_last_error(nullptr);
    }
    ~Model() { fopt_destroy(opt); }
    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;

    void run(int first, int last)
    {
        for (int k = first + 1; k <= last; k++) {
            for (size_t t = 0; t < numels.size(); t++) {
                for (size_t i = 0; i < numels[t]; i++) {
                    hgrads[t][i] = grad_value(k, t, i);
                }
                if (device) {
                    dgrads[t]->upload(hgrads[t]);
                }
            }
            ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS) << fopt_last_error(opt);
        }
    }
    std::vector<std::vector<float>> params() const
    {
        if (!device) {
            return hparams;
        }
        std::vector<std::vector<float>> p;
        for (const auto &d : dparams) {
            p.push_back(d->download());
        }
        return p;
    }
    void set_params(const std::vector<std::vector<float>> &p)
    {
        for (size_t t = 0; t < p.size(); t++) {
            if (device) {
                dparams[t]->upload(p[t]);
            } else {
                hparams[t] = p[t];
            }
        }
    }
};

struct Case {
    fopt_algorithm algorithm;
    int save_at;
};

class DeviceCheckpoint : public ::testing::TestWithParam<Case> {};

TEST_P(DeviceCheckpoint, ResumeIsBitIdentical)
{
    FOPT_REQUIRE_DEVICE();
    const Case c = GetParam();
    const int end = 24;
    TempDir dir;
    const std::string path = dir.file("ckpt");
    Model straight(config(c.algorithm), true);
    straight.run(0, c.save_at);
    ASSERT_EQ(fopt_save(straight.opt, path.c_str()), FOPT_SUCCESS) << fopt_last_error(straight.opt);
    const auto at_save = straight.params();
    straight.run(c.save_at, end);

    Model resumed(config(c.algorithm), true);
    resumed.set_params(at_save);
    ASSERT_EQ(fopt_load(resumed.opt, path.c_str()), FOPT_SUCCESS) << fopt_last_error(resumed.opt);
    resumed.run(c.save_at, end);
    EXPECT_EQ(straight.params(), resumed.params());
    EXPECT_TRUE(snapshot(straight.opt) == snapshot(resumed.opt));
}

std::string case_name(const ::testing::TestParamInfo<Case> &param_info)
{
    static const char *const kNames[] = {"", "SgdMomentum", "AdamAmsgrad", "AdamW"};
    return std::string(kNames[param_info.param.algorithm]) + "_SaveAt" + std::to_string(param_info.param.save_at);
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, DeviceCheckpoint,
                         ::testing::Values(Case{FOPT_SGD, 3}, Case{FOPT_SGD, 12}, Case{FOPT_ADAM, 3},
                                           Case{FOPT_ADAM, 12}, Case{FOPT_ADAMW, 3}, Case{FOPT_ADAMW, 12}),
                         case_name);

TEST(DeviceCheckpointScaling, ResumeRestoresScaleAndGrowthTracker)
{
    FOPT_REQUIRE_DEVICE();
    fopt_options o = config(FOPT_ADAMW);
    o.grad_scaling = 1;
    o.init_scale = 1024;
    o.growth_interval = 3;
    TempDir dir;
    const std::string path = dir.file("ckpt");
    Model straight(o, true);
    straight.run(0, 4);
    straight.hgrads[1][0] = INFINITY; /* one overflowing step: skipped, the scale backs off */
    straight.dgrads[1]->upload(straight.hgrads[1]);
    ASSERT_EQ(fopt_step(straight.opt), FOPT_SUCCESS);
    straight.run(4, 6);
    ASSERT_EQ(fopt_save(straight.opt, path.c_str()), FOPT_SUCCESS) << fopt_last_error(straight.opt);
    const Snapshot saved = snapshot(straight.opt);
    EXPECT_EQ(saved.scale, 1024.0);
    EXPECT_EQ(saved.growth_tracker, 2);
    const auto at_save = straight.params();
    straight.run(6, 15);

    Model resumed(o, true);
    resumed.set_params(at_save);
    ASSERT_EQ(fopt_load(resumed.opt, path.c_str()), FOPT_SUCCESS) << fopt_last_error(resumed.opt);
    EXPECT_TRUE(snapshot(resumed.opt) == saved);
    resumed.run(6, 15);
    EXPECT_EQ(straight.params(), resumed.params());
    EXPECT_TRUE(snapshot(straight.opt) == snapshot(resumed.opt));
}

TEST(DeviceCheckpointPortable, FilesMoveBetweenBackendsByteForByte)
{
    FOPT_REQUIRE_DEVICE();
    TempDir dir;
    Model cpu(config(FOPT_ADAM), false);
    cpu.run(0, 7);
    ASSERT_EQ(fopt_save(cpu.opt, dir.file("cpu").c_str()), FOPT_SUCCESS);
    Model gpu(config(FOPT_ADAM), true);
    ASSERT_EQ(fopt_load(gpu.opt, dir.file("cpu").c_str()), FOPT_SUCCESS) << fopt_last_error(gpu.opt);
    ASSERT_EQ(fopt_save(gpu.opt, dir.file("gpu").c_str()), FOPT_SUCCESS) << fopt_last_error(gpu.opt);
    EXPECT_EQ(read_bytes(dir.file("cpu")), read_bytes(dir.file("gpu")));
    EXPECT_TRUE(snapshot(cpu.opt) == snapshot(gpu.opt));
}

TEST(DeviceCheckpointBadFile, RejectedFilesChangeNothingOnTheDevice)
{
    FOPT_REQUIRE_DEVICE();
    TempDir dir;
    Model donor(config(FOPT_ADAMW), true);
    donor.run(0, 9);
    ASSERT_EQ(fopt_save(donor.opt, dir.file("good").c_str()), FOPT_SUCCESS);
    const Bytes good = read_bytes(dir.file("good"));
    Model victim(config(FOPT_ADAMW), true), control(config(FOPT_ADAMW), true);
    victim.run(0, 4);
    control.run(0, 4);
    const Snapshot before = snapshot(victim.opt);
    for (size_t n = 0; n < good.size(); n += 7) {
        write_bytes(dir.file("bad"), Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)));
        ASSERT_EQ(fopt_load(victim.opt, dir.file("bad").c_str()), FOPT_ERROR_CHECKPOINT_CORRUPT) << n;
    }
    for (size_t byte = 12; byte < good.size(); byte += 5) {
        Bytes b = good;
        b[byte] ^= 0x10;
        write_bytes(dir.file("bad"), b);
        ASSERT_EQ(fopt_load(victim.opt, dir.file("bad").c_str()), FOPT_ERROR_CHECKPOINT_CORRUPT) << byte;
    }
    EXPECT_EQ(fopt_load(victim.opt, dir.file("missing").c_str()), FOPT_ERROR_IO);
    EXPECT_NE(std::string(fopt_last_error(victim.opt)).find("No such file"), std::string::npos);
    EXPECT_TRUE(snapshot(victim.opt) == before);
    victim.run(4, 6);
    control.run(4, 6);
    EXPECT_EQ(victim.params(), control.params());
    EXPECT_TRUE(snapshot(victim.opt) == snapshot(control.opt));
}

}  // namespace
