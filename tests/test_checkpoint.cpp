// Checkpoints on the CPU backend: bit-identical resume, atomic saves, and
// every kind of bad file rejected without touching the live optimizer.
#include <signal.h>
#include <sys/resource.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoint_util.h"

using namespace fopt_ckpt_test;

namespace {

/* Host parameters and gradients for sizes(), plus an optimizer over them. */
struct Model {
    std::vector<std::vector<float>> params, grads;
    fopt_optimizer *opt = nullptr;

    Model(const fopt_options &o, const std::vector<size_t> &numels = sizes())
    {
        std::vector<fopt_tensor> tensors;
        for (size_t t = 0; t < numels.size(); t++) {
            params.emplace_back(numels[t]);
            grads.emplace_back(numels[t]);
            for (size_t i = 0; i < numels[t]; i++) {
                params[t][i] = param_value(t, i);
            }
        }
        for (size_t t = 0; t < numels.size(); t++) {
            tensors.push_back({params[t].data(), grads[t].data(), numels[t]});
        }
        EXPECT_EQ(fopt_create(&opt, &o, tensors.data(), tensors.size()), FOPT_SUCCESS) << fopt_last_error(nullptr);
    }
    ~Model() { fopt_destroy(opt); }
    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;

    /* Optimizer steps first+1 .. last, with the gradients of each step. */
    void run(int first, int last)
    {
        for (int k = first + 1; k <= last; k++) {
            for (size_t t = 0; t < grads.size(); t++) {
                for (size_t i = 0; i < grads[t].size(); i++) {
                    grads[t][i] = grad_value(k, t, i);
                }
            }
            ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS) << fopt_last_error(opt);
        }
    }
};

bool bitwise_equal(const std::vector<std::vector<float>> &a, const std::vector<std::vector<float>> &b)
{
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t t = 0; t < a.size(); t++) {
        if (a[t].size() != b[t].size() ||
            (!a[t].empty() && std::memcmp(a[t].data(), b[t].data(), a[t].size() * sizeof(float)) != 0)) {
            return false;
        }
    }
    return true;
}

struct ResumeCase {
    fopt_algorithm algorithm;
    int save_at; /* 3: mid-warmup; 12: mid-cosine (warmup is 5 of 20) */
};

class Resume : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(Resume, IsBitIdenticalToAnUninterruptedRun)
{
    const ResumeCase c = GetParam();
    const int end = 30; /* past t_max: the cosine rises again */
    TempDir dir;
    const std::string path = dir.file("ckpt.fopt");
    const fopt_options o = config(c.algorithm);

    Model straight(o);
    straight.run(0, c.save_at);
    ASSERT_EQ(fopt_save(straight.opt, path.c_str()), FOPT_SUCCESS) << fopt_last_error(straight.opt);
    const auto params_at_save = straight.params;
    straight.run(c.save_at, end);

    Model resumed(o);
    resumed.params = params_at_save; /* same buffers: assignment keeps the storage */
    ASSERT_EQ(fopt_load(resumed.opt, path.c_str()), FOPT_SUCCESS) << fopt_last_error(resumed.opt);
    int64_t step = 0, epoch = 0;
    ASSERT_EQ(fopt_get_counters(resumed.opt, &step, &epoch), FOPT_SUCCESS);
    EXPECT_EQ(step, c.save_at);
    EXPECT_EQ(epoch, c.save_at);
    resumed.run(c.save_at, end);

    EXPECT_TRUE(bitwise_equal(straight.params, resumed.params));
    EXPECT_TRUE(snapshot(straight.opt) == snapshot(resumed.opt));
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"ckpt.fopt"}) << "no temporary file left behind";
}

std::string resume_name(const ::testing::TestParamInfo<ResumeCase> &param_info)
{
    static const char *const kNames[] = {"", "SgdMomentum", "AdamAmsgrad", "AdamW", "Adagrad", "RmspropCentered"};
    return std::string(kNames[param_info.param.algorithm]) + "_SaveAt" + std::to_string(param_info.param.save_at);
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, Resume,
                         ::testing::Values(ResumeCase{FOPT_SGD, 3}, ResumeCase{FOPT_SGD, 12},
                                           ResumeCase{FOPT_ADAM, 3}, ResumeCase{FOPT_ADAM, 12},
                                           ResumeCase{FOPT_ADAMW, 3}, ResumeCase{FOPT_ADAMW, 12},
                                           ResumeCase{FOPT_ADAGRAD, 3}, ResumeCase{FOPT_ADAGRAD, 12},
                                           ResumeCase{FOPT_RMSPROP, 3}, ResumeCase{FOPT_RMSPROP, 12}),
                         resume_name);

TEST(Checkpoint, SavingTwiceReplacesTheFileAndLoadRestoresLastLr)
{
    TempDir dir;
    const std::string path = dir.file("c");
    Model a(config(FOPT_ADAMW));
    a.run(0, 2);
    ASSERT_EQ(fopt_save(a.opt, path.c_str()), FOPT_SUCCESS);
    a.run(2, 7);
    ASSERT_EQ(fopt_save(a.opt, path.c_str()), FOPT_SUCCESS);
    Model b(config(FOPT_ADAMW));
    ASSERT_EQ(fopt_load(b.opt, path.c_str()), FOPT_SUCCESS);
    EXPECT_TRUE(snapshot(a.opt) == snapshot(b.opt));
    double lr_a = 0, lr_b = 0;
    ASSERT_EQ(fopt_get_last_lr(a.opt, &lr_a), FOPT_SUCCESS);
    ASSERT_EQ(fopt_get_last_lr(b.opt, &lr_b), FOPT_SUCCESS);
    EXPECT_EQ(lr_a, lr_b);
    EXPECT_EQ(dir.entries().size(), 1u);
}

TEST(Checkpoint, SgdWithoutMomentumHasNoStateAndStillRoundTrips)
{
    TempDir dir;
    fopt_options o = config(FOPT_SGD);
    o.momentum = 0;
    o.dampening = 0;
    Model a(o);
    a.run(0, 4);
    ASSERT_EQ(fopt_save(a.opt, dir.file("c").c_str()), FOPT_SUCCESS);
    Model b(o);
    ASSERT_EQ(fopt_load(b.opt, dir.file("c").c_str()), FOPT_SUCCESS);
    EXPECT_TRUE(snapshot(a.opt) == snapshot(b.opt));
}

TEST(Checkpoint, ResumeWithGradientClippingIsBitIdentical)
{
    TempDir dir;
    fopt_options o = config(FOPT_ADAMW);
    o.max_grad_norm = 0.3;
    Model straight(o);
    straight.run(0, 6);
    ASSERT_EQ(fopt_save(straight.opt, dir.file("c").c_str()), FOPT_SUCCESS) << fopt_last_error(straight.opt);
    const auto at_save = straight.params;
    straight.run(6, 15);
    Model resumed(o);
    resumed.params = at_save;
    ASSERT_EQ(fopt_load(resumed.opt, dir.file("c").c_str()), FOPT_SUCCESS) << fopt_last_error(resumed.opt);
    resumed.run(6, 15);
    EXPECT_TRUE(bitwise_equal(straight.params, resumed.params));
}

TEST(Checkpoint, ResumeWithGradScalingRestoresScaleAndGrowthTracker)
{
    TempDir dir;
    fopt_options o = config(FOPT_ADAM);
    o.grad_scaling = 1;
    o.init_scale = 1024;
    o.growth_interval = 3;
    Model straight(o);
    straight.run(0, 4); /* 3 good steps grow the scale to 2048, the 4th starts a new interval */
    straight.grads[0][0] = INFINITY;
    ASSERT_EQ(fopt_step(straight.opt), FOPT_SUCCESS); /* skipped: scale back to 1024, tracker 0 */
    straight.run(4, 6);
    ASSERT_EQ(fopt_save(straight.opt, dir.file("c").c_str()), FOPT_SUCCESS) << fopt_last_error(straight.opt);
    const Snapshot saved = snapshot(straight.opt);
    EXPECT_EQ(saved.scale, 1024.0);
    EXPECT_EQ(saved.growth_tracker, 2);
    const auto at_save = straight.params;
    straight.run(6, 15); /* the next good step completes the interval: a wrong tracker shows here */

    Model resumed(o);
    resumed.params = at_save;
    ASSERT_EQ(fopt_load(resumed.opt, dir.file("c").c_str()), FOPT_SUCCESS) << fopt_last_error(resumed.opt);
    EXPECT_TRUE(snapshot(resumed.opt) == saved);
    resumed.run(6, 15);
    EXPECT_TRUE(bitwise_equal(straight.params, resumed.params));
    EXPECT_TRUE(snapshot(resumed.opt) == snapshot(straight.opt));
}

/* A victim optimizer with non-trivial state, a control with the same history,
 * and the check that a failed load left the victim exactly as the control. */
class BadFile : public ::testing::Test {
protected:
    void SetUp() override
    {
        victim = std::make_unique<Model>(config(FOPT_ADAM));
        control = std::make_unique<Model>(config(FOPT_ADAM));
        victim->run(0, 4);
        control->run(0, 4);
        Model donor(config(FOPT_ADAM)); /* a valid checkpoint of a different history */
        donor.run(0, 9);
        ASSERT_EQ(fopt_save(donor.opt, good.c_str()), FOPT_SUCCESS);
        bytes = read_bytes(good);
        ASSERT_GT(bytes.size(), 100u);
        before = snapshot(victim->opt);
    }

    /* Loads `b` into the victim; expects `status` and an unchanged victim. */
    void expect_rejected(const Bytes &b, fopt_status status, const char *needle, bool step_after = false)
    {
        write_bytes(bad, b);
        expect_load_fails(bad, status, needle, step_after);
    }

    void expect_load_fails(const std::string &path, fopt_status status, const char *needle, bool step_after)
    {
        const fopt_status got = fopt_load(victim->opt, path.c_str());
        EXPECT_EQ(got, status) << fopt_status_string(got) << ": " << fopt_last_error(victim->opt);
        const std::string message = fopt_last_error(victim->opt);
        EXPECT_FALSE(message.empty());
        if (needle) {
            EXPECT_NE(message.find(needle), std::string::npos) << message;
        }
        ASSERT_TRUE(snapshot(victim->opt) == before) << "a failed load changed the optimizer: " << message;
        EXPECT_TRUE(bitwise_equal(victim->params, control->params));
        if (step_after) {
            victim->run(4, 5);
            control->run(4, 5);
            EXPECT_TRUE(bitwise_equal(victim->params, control->params));
            EXPECT_TRUE(snapshot(victim->opt) == snapshot(control->opt));
            before = snapshot(victim->opt);
        }
    }

    TempDir dir;
    std::string good = dir.file("good.fopt"), bad = dir.file("bad.fopt");
    Bytes bytes;
    Snapshot before;
    std::unique_ptr<Model> victim, control;
};

TEST_F(BadFile, EveryTruncationIsCorrupt)
{
    for (size_t n = 0; n < bytes.size(); n++) {
        SCOPED_TRACE("truncated to " + std::to_string(n) + " bytes");
        Bytes b(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        expect_rejected(b, FOPT_ERROR_CHECKPOINT_CORRUPT, nullptr);
        if (HasFatalFailure()) {
            return;
        }
    }
    victim->run(4, 5);
    control->run(4, 5);
    EXPECT_TRUE(bitwise_equal(victim->params, control->params));
}

TEST_F(BadFile, EveryBitFlipIsRejected)
{
    for (size_t bit = 0; bit < bytes.size() * 8; bit++) {
        Bytes b = bytes;
        b[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
        const bool in_version = bit / 8 >= 8 && bit / 8 < 12;
        SCOPED_TRACE("bit " + std::to_string(bit));
        expect_rejected(b, in_version ? FOPT_ERROR_CHECKPOINT_VERSION : FOPT_ERROR_CHECKPOINT_CORRUPT, nullptr);
        if (HasFatalFailure()) {
            return;
        }
    }
}

TEST_F(BadFile, TrailingBytesAreCorrupt)
{
    Bytes b = bytes;
    b.push_back(0);
    expect_rejected(b, FOPT_ERROR_CHECKPOINT_CORRUPT, "size mismatch", true);
}

TEST_F(BadFile, WrongMagic)
{
    Bytes b = bytes;
    b[0] = 'X';
    expect_rejected(b, FOPT_ERROR_CHECKPOINT_CORRUPT, "magic", true);
    expect_rejected(Bytes{'h', 'e', 'l', 'l', 'o'}, FOPT_ERROR_CHECKPOINT_CORRUPT, "magic");
}

TEST_F(BadFile, WrongVersion)
{
    Bytes b = bytes;
    fopt_put_u32(&b[8], FOPT_CKPT_VERSION + 1);
    fopt_put_u32(&b[b.size() - 4], fopt_crc32(0, b.data(), b.size() - 4));
    expect_rejected(b, FOPT_ERROR_CHECKPOINT_VERSION, "version 2", true);
    fopt_put_u32(&b[8], 0);
    expect_rejected(b, FOPT_ERROR_CHECKPOINT_VERSION, "version 0");
}

TEST_F(BadFile, SectionChecksumIsCheckedOnItsOwn)
{
    Bytes b = bytes;
    const size_t cntr = section_offset(b, "CNTR");
    ASSERT_NE(cntr, 0u);
    b[cntr + 16] ^= 1; /* the step; then only the file CRC is fixed */
    fopt_put_u32(&b[b.size() - 4], fopt_crc32(0, b.data(), b.size() - 4));
    expect_rejected(b, FOPT_ERROR_CHECKPOINT_CORRUPT, "section CNTR: checksum", true);
}

TEST_F(BadFile, NegativeCounterIsCorrupt)
{
    Bytes b = bytes;
    const size_t cntr = section_offset(b, "CNTR");
    fopt_put_u64(&b[cntr + 16], static_cast<uint64_t>(-5));
    fix_crcs(b, cntr);
    expect_rejected(b, FOPT_ERROR_CHECKPOINT_CORRUPT, "invalid step");
}

TEST_F(BadFile, InvalidLossScaleIsCorrupt)
{
    const double scales[] = {0.0, -1.0, (double)INFINITY, (double)NAN, 1e39};
    for (double scale : scales) {
        Bytes b = bytes;
        const size_t cntr = section_offset(b, "CNTR");
        ASSERT_NE(cntr, 0u);
        fopt_put_f64(&b[cntr + 16 + 24], scale);
        fix_crcs(b, cntr);
        expect_rejected(b, FOPT_ERROR_CHECKPOINT_CORRUPT, "invalid loss scale");
    }
}

TEST_F(BadFile, WrongTensorSizes)
{
    Bytes b = bytes;
    const size_t tens = section_offset(b, "TENS");
    fopt_put_u64(&b[tens + 16 + 16 + FOPT_CKPT_TENSOR_BYTES], 18); /* tensor 1: 17 -> 18 */
    fix_crcs(b, tens);
    expect_rejected(b, FOPT_ERROR_CHECKPOINT_MISMATCH, "tensor 1 has 18 elements", true);
}

TEST_F(BadFile, OtherOptimizersAreMismatches)
{
    struct Other {
        const char *what;
        fopt_options options;
        std::vector<size_t> numels;
    };
    fopt_options adamw = config(FOPT_ADAMW);
    adamw.weight_decay = config(FOPT_ADAM).weight_decay;
    fopt_options no_amsgrad = config(FOPT_ADAM);
    no_amsgrad.amsgrad = 0;
    fopt_options beta2 = config(FOPT_ADAM);
    beta2.beta2 = 0.99;
    fopt_options t_max = config(FOPT_ADAM);
    t_max.schedule.t_max = 21;
    fopt_options kind = config(FOPT_ADAM);
    kind.schedule.kind = FOPT_SCHEDULE_COSINE;
    fopt_options clip = config(FOPT_ADAM);
    clip.max_grad_norm = 0.5;
    fopt_options grads16 = config(FOPT_ADAM);
    grads16.grad_dtype = FOPT_BFLOAT16;
    const Other others[] = {
        {"options.algorithm is 2", adamw, sizes()},
        {"options.amsgrad", no_amsgrad, sizes()},
        {"options.beta2", beta2, sizes()},
        {"options.schedule.t_max", t_max, sizes()},
        {"options.schedule.kind", kind, sizes()},
        {"options.max_grad_norm", clip, sizes()},
        {"options.grad_dtype is 0 in the checkpoint, 1 here", grads16, sizes()},
        {"this optimizer 4", config(FOPT_ADAM), {5, 17, 0, 64}},
        {"tensor 3 has 64 elements in the checkpoint, 65 here", config(FOPT_ADAM), {5, 17, 0, 65, 3}},
    };
    for (const Other &other : others) {
        SCOPED_TRACE(other.what);
        Model m(other.options, other.numels);
        m.run(0, 2);
        const Snapshot s = snapshot(m.opt);
        EXPECT_EQ(fopt_load(m.opt, good.c_str()), FOPT_ERROR_CHECKPOINT_MISMATCH);
        EXPECT_NE(std::string(fopt_last_error(m.opt)).find(other.what), std::string::npos) << fopt_last_error(m.opt);
        EXPECT_TRUE(snapshot(m.opt) == s);
    }
}

TEST_F(BadFile, MissingFileAndDirectoryAreIoErrors)
{
    expect_load_fails(dir.file("does-not-exist"), FOPT_ERROR_IO, "No such file", false);
    expect_load_fails(dir.path(), FOPT_ERROR_IO, "not a regular file", true);
    ASSERT_EQ(mkfifo(dir.file("fifo").c_str(), 0600), 0);
    expect_load_fails(dir.file("fifo"), FOPT_ERROR_IO, "not a regular file", false);
    EXPECT_EQ(fopt_load(victim->opt, nullptr), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_load(nullptr, good.c_str()), FOPT_ERROR_NULL_POINTER);
}

TEST(CheckpointSave, FailuresAreIoErrorsAndLeaveNoFiles)
{
    TempDir dir;
    Model m(config(FOPT_SGD));
    m.run(0, 3);
    const Snapshot s = snapshot(m.opt);
    /* The directory does not exist. */
    EXPECT_EQ(fopt_save(m.opt, dir.file("missing/ckpt").c_str()), FOPT_ERROR_IO);
    EXPECT_NE(std::string(fopt_last_error(m.opt)).find("No such file"), std::string::npos) << fopt_last_error(m.opt);
    /* The path is a directory: the rename fails; the temporary file is removed. */
    ASSERT_EQ(mkdir(dir.file("sub").c_str(), 0700), 0);
    EXPECT_EQ(fopt_save(m.opt, dir.file("sub").c_str()), FOPT_ERROR_IO);
    EXPECT_NE(std::string(fopt_last_error(m.opt)).find("rename"), std::string::npos) << fopt_last_error(m.opt);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"sub"});
    (void)rmdir(dir.file("sub").c_str());
    EXPECT_EQ(fopt_save(m.opt, ""), FOPT_ERROR_IO);
    EXPECT_EQ(fopt_save(m.opt, nullptr), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_save(nullptr, "x"), FOPT_ERROR_NULL_POINTER);
    EXPECT_TRUE(snapshot(m.opt) == s);
}

TEST(CheckpointSave, AFailedWriteLeavesTheOldCheckpointIntact)
{
    TempDir dir;
    const std::string path = dir.file("ckpt");
    Model small(config(FOPT_ADAM));
    small.run(0, 2);
    ASSERT_EQ(fopt_save(small.opt, path.c_str()), FOPT_SUCCESS);
    const Bytes old = read_bytes(path);
    /* A larger optimizer whose file cannot be written: a file size limit
     * makes write fail with EFBIG even for root. */
    Model big(config(FOPT_ADAM), {100000});
    big.run(0, 1);
    struct rlimit saved;
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
    struct rlimit limited = saved;
    limited.rlim_cur = 64 * 1024;
    void (*handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
    const fopt_status status = fopt_save(big.opt, path.c_str());
    const std::string message = fopt_last_error(big.opt);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, handler);
    EXPECT_EQ(status, FOPT_ERROR_IO);
    EXPECT_NE(message.find("too large"), std::string::npos) << message;
    EXPECT_EQ(read_bytes(path), old);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"ckpt"});
}

TEST(CheckpointFormat, Crc32MatchesTheStandardCheckValue)
{
    EXPECT_EQ(fopt_crc32(0, "123456789", 9), 0xCBF43926u);
    EXPECT_EQ(fopt_crc32(fopt_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    EXPECT_EQ(fopt_crc32(0, "", 0), 0u);
}

TEST(CheckpointFormat, HeaderIsLittleEndianAndSelfDescribing)
{
    TempDir dir;
    Model m(config(FOPT_ADAMW));
    ASSERT_EQ(fopt_save(m.opt, dir.file("c").c_str()), FOPT_SUCCESS);
    const Bytes b = read_bytes(dir.file("c"));
    ASSERT_GE(b.size(), 24u);
    EXPECT_EQ(std::memcmp(b.data(), "FOPTCKPT", 8), 0);
    EXPECT_EQ(b[8], 2);
    EXPECT_EQ(b[9] | b[10] | b[11], 0);
    EXPECT_EQ(fopt_get_u64(&b[16]), b.size());
    const size_t opts = section_offset(b, "OPTS");
    EXPECT_EQ(opts, 24u);
    const std::string text(b.begin(), b.end());
    EXPECT_NE(text.find("schedule.warmup_steps"), std::string::npos);
    const size_t stat = section_offset(b, "STAT");
    ASSERT_NE(stat, 0u);
    EXPECT_EQ(fopt_get_u64(&b[stat + 8]), 2u * (5 + 17 + 0 + 64 + 3) * sizeof(float));
}

}  // namespace
