// A table of bad inputs across the API and the `fusedopt` tool: each gets its
// specific status (or exit code 2) and a message naming what is wrong, and
// nothing changes. Extends tests/test_optimizer.cpp and tests/test_cli.cpp
// (their cases are not repeated here).
#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoint_util.h"

using namespace fopt_ckpt_test;

namespace {

/* A valid SGD-momentum optimizer with state, over two host tensors. */
struct Live {
    std::vector<float> p0 = std::vector<float>(6, 1.0f), g0 = std::vector<float>(6, 0.5f);
    std::vector<float> p1 = std::vector<float>(3, -1.0f), g1 = std::vector<float>(3, 0.25f);
    fopt_tensor tensors[2] = {{p0.data(), g0.data(), 6}, {p1.data(), g1.data(), 3}};
    fopt_optimizer *opt = nullptr;
    Live()
    {
        fopt_options o = config(FOPT_SGD);
        EXPECT_EQ(fopt_create(&opt, &o, tensors, 2), FOPT_SUCCESS) << fopt_last_error(nullptr);
        EXPECT_EQ(fopt_step(opt), FOPT_SUCCESS);
        EXPECT_EQ(fopt_step(opt), FOPT_SUCCESS);
    }
    ~Live() { fopt_destroy(opt); }
};

/* Mutates valid create arguments into bad ones. */
using Mutation = std::function<void(fopt_options *, fopt_tensor *, size_t *)>;

struct BadCreate {
    const char *what;
    Mutation mutate;
    fopt_status expected;
    const char *needle;
};

fopt_options base(fopt_algorithm a, fopt_schedule_kind kind)
{
    fopt_options o = fopt_default_options(a);
    o.schedule.kind = kind;
    o.schedule.t_max = 10;
    o.schedule.t_0 = 4;
    o.schedule.t_mult = 2;
    o.schedule.warmup_steps = 3;
    return o;
}

TEST(BadInputs, CreateTable)
{
    const auto adam = [](fopt_options *o) { *o = base(FOPT_ADAM, FOPT_SCHEDULE_COSINE); };
    const auto sgd = [](fopt_options *o) { *o = base(FOPT_SGD, FOPT_SCHEDULE_COSINE); };
    const auto restarts = [](fopt_options *o) { *o = base(FOPT_ADAMW, FOPT_SCHEDULE_COSINE_RESTARTS); };
    const auto warmup = [](fopt_options *o) { *o = base(FOPT_ADAMW, FOPT_SCHEDULE_WARMUP_COSINE); };
    const size_t half = (size_t)1 << 59;
    const BadCreate cases[] = {
        {"num_tensors huge", [](fopt_options *, fopt_tensor *, size_t *n) { *n = SIZE_MAX / 2; },
         FOPT_ERROR_INVALID_SIZE, "too large"},
        {"sum of sizes overflows", [=](fopt_options *, fopt_tensor *t, size_t *) { t[0].numel = t[1].numel = half + 1; },
         FOPT_ERROR_INVALID_SIZE, "tensors[1]: total number of elements overflows"},
        {"second tensor without param", [](fopt_options *, fopt_tensor *t, size_t *) { t[1].param = nullptr; },
         FOPT_ERROR_NULL_POINTER, "tensors[1].param"},
        {"algorithm 0", [](fopt_options *o, fopt_tensor *, size_t *) { o->algorithm = (fopt_algorithm)0; },
         FOPT_ERROR_INVALID_ENUM, "algorithm 0"},
        {"beta1 nan", [=](fopt_options *o, fopt_tensor *, size_t *) { adam(o); o->beta1 = NAN; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "beta1"},
        {"beta1 negative", [=](fopt_options *o, fopt_tensor *, size_t *) { adam(o); o->beta1 = -0.1; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "beta1"},
        {"beta2 = 1", [=](fopt_options *o, fopt_tensor *, size_t *) { adam(o); o->beta2 = 1.0; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "beta2"},
        {"beta2 inf", [=](fopt_options *o, fopt_tensor *, size_t *) { adam(o); o->beta2 = INFINITY; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "beta2"},
        {"eps nan", [=](fopt_options *o, fopt_tensor *, size_t *) { adam(o); o->eps = NAN; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "eps"},
        {"eps inf", [=](fopt_options *o, fopt_tensor *, size_t *) { adam(o); o->eps = INFINITY; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "eps"},
        {"weight_decay negative", [](fopt_options *o, fopt_tensor *, size_t *) { o->weight_decay = -1e-4; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "weight_decay"},
        {"weight_decay nan", [](fopt_options *o, fopt_tensor *, size_t *) { o->weight_decay = NAN; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "weight_decay"},
        {"weight_decay huge", [](fopt_options *o, fopt_tensor *, size_t *) { o->weight_decay = 1e7; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "weight_decay"},
        {"tensor_weight_decay entry negative",
         [](fopt_options *o, fopt_tensor *, size_t *) {
             static const double decays[2] = {0.1, -0.1};
             o->tensor_weight_decay = decays;
         },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "tensor_weight_decay[1]"},
        {"tensor_weight_decay entry nan",
         [](fopt_options *o, fopt_tensor *, size_t *) {
             static const double decays[2] = {NAN, 0.1};
             o->tensor_weight_decay = decays;
         },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "tensor_weight_decay[0]"},
        {"adagrad lr_decay negative",
         [](fopt_options *o, fopt_tensor *, size_t *) {
             *o = fopt_default_options(FOPT_ADAGRAD);
             o->lr_decay = -0.1;
         },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "lr_decay"},
        {"adagrad initial_accumulator_value nan",
         [](fopt_options *o, fopt_tensor *, size_t *) {
             *o = fopt_default_options(FOPT_ADAGRAD);
             o->initial_accumulator_value = NAN;
         },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "initial_accumulator_value"},
        {"adagrad eps negative",
         [](fopt_options *o, fopt_tensor *, size_t *) {
             *o = fopt_default_options(FOPT_ADAGRAD);
             o->eps = -1e-10;
         },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "eps"},
        {"rmsprop alpha above 1",
         [](fopt_options *o, fopt_tensor *, size_t *) {
             *o = fopt_default_options(FOPT_RMSPROP);
             o->alpha = 1.5;
         },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "alpha"},
        {"rmsprop momentum nan",
         [](fopt_options *o, fopt_tensor *, size_t *) {
             *o = fopt_default_options(FOPT_RMSPROP);
             o->momentum = NAN;
         },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "momentum"},
        {"step schedule gamma above 1",
         [](fopt_options *o, fopt_tensor *, size_t *) {
             o->schedule.kind = FOPT_SCHEDULE_STEP;
             o->schedule.gamma = 2.0;
         },
         FOPT_ERROR_INVALID_SCHEDULE, "gamma"},
        {"tensor_base_lr entry inf",
         [](fopt_options *o, fopt_tensor *, size_t *) {
             static const double base_lrs[2] = {0.1, INFINITY};
             o->tensor_base_lr = base_lrs;
         },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "tensor_base_lr[1]"},
        {"momentum nan", [=](fopt_options *o, fopt_tensor *, size_t *) { sgd(o); o->momentum = NAN; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "momentum"},
        {"momentum inf", [=](fopt_options *o, fopt_tensor *, size_t *) { sgd(o); o->momentum = INFINITY; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "momentum"},
        {"dampening negative", [=](fopt_options *o, fopt_tensor *, size_t *) { sgd(o); o->dampening = -0.5; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "dampening"},
        {"dampening nan", [=](fopt_options *o, fopt_tensor *, size_t *) { sgd(o); o->dampening = NAN; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "dampening"},
        {"base_lr inf", [](fopt_options *o, fopt_tensor *, size_t *) { o->schedule.base_lr = INFINITY; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "base_lr"},
        {"eta_min negative", [](fopt_options *o, fopt_tensor *, size_t *) { o->schedule.eta_min = -1e-3; },
         FOPT_ERROR_INVALID_SCHEDULE, "eta_min"},
        {"eta_min nan", [](fopt_options *o, fopt_tensor *, size_t *) { o->schedule.eta_min = NAN; },
         FOPT_ERROR_INVALID_SCHEDULE, "eta_min"},
        {"schedule kind 7", [](fopt_options *o, fopt_tensor *, size_t *) { o->schedule.kind = (fopt_schedule_kind)7; },
         FOPT_ERROR_INVALID_ENUM, "schedule.kind"},
        {"cosine t_max negative", [](fopt_options *o, fopt_tensor *, size_t *) { o->schedule.t_max = -5; },
         FOPT_ERROR_INVALID_SCHEDULE, "t_max"},
        {"cosine t_max > 2^60", [](fopt_options *o, fopt_tensor *, size_t *) { o->schedule.t_max = INT64_MAX; },
         FOPT_ERROR_INVALID_SCHEDULE, "t_max"},
        {"T_0 = 0", [=](fopt_options *o, fopt_tensor *, size_t *) { restarts(o); o->schedule.t_0 = 0; },
         FOPT_ERROR_INVALID_SCHEDULE, "t_0"},
        {"T_0 negative", [=](fopt_options *o, fopt_tensor *, size_t *) { restarts(o); o->schedule.t_0 = -3; },
         FOPT_ERROR_INVALID_SCHEDULE, "t_0"},
        {"T_mult = 0", [=](fopt_options *o, fopt_tensor *, size_t *) { restarts(o); o->schedule.t_mult = 0; },
         FOPT_ERROR_INVALID_SCHEDULE, "t_mult"},
        {"T_mult too big", [=](fopt_options *o, fopt_tensor *, size_t *) { restarts(o); o->schedule.t_mult = 2000000; },
         FOPT_ERROR_INVALID_SCHEDULE, "t_mult"},
        {"restart_decay 0", [=](fopt_options *o, fopt_tensor *, size_t *) { restarts(o); o->schedule.restart_decay = 0; },
         FOPT_ERROR_INVALID_SCHEDULE, "restart_decay"},
        {"restart_decay above 1 (peaks would grow to an infinite lr)",
         [=](fopt_options *o, fopt_tensor *, size_t *) { restarts(o); o->schedule.restart_decay = 2.0; },
         FOPT_ERROR_INVALID_SCHEDULE, "restart_decay must be in (0, 1]"},
        {"restart_decay nan",
         [=](fopt_options *o, fopt_tensor *, size_t *) { restarts(o); o->schedule.restart_decay = NAN; },
         FOPT_ERROR_INVALID_SCHEDULE, "restart_decay"},
        {"warmup t_max 0", [=](fopt_options *o, fopt_tensor *, size_t *) { warmup(o); o->schedule.t_max = 0; },
         FOPT_ERROR_INVALID_SCHEDULE, "t_max"},
        {"warmup as long as the schedule",
         [=](fopt_options *o, fopt_tensor *, size_t *) { warmup(o); o->schedule.warmup_steps = 10; },
         FOPT_ERROR_INVALID_SCHEDULE, "warmup_steps"},
        {"warmup longer than the schedule",
         [=](fopt_options *o, fopt_tensor *, size_t *) { warmup(o); o->schedule.warmup_steps = 11; },
         FOPT_ERROR_INVALID_SCHEDULE, "warmup_steps"},
        {"warmup negative", [=](fopt_options *o, fopt_tensor *, size_t *) { warmup(o); o->schedule.warmup_steps = -1; },
         FOPT_ERROR_INVALID_SCHEDULE, "warmup_steps"},
        {"warmup_start_factor 0",
         [=](fopt_options *o, fopt_tensor *, size_t *) { warmup(o); o->schedule.warmup_start_factor = 0; },
         FOPT_ERROR_INVALID_SCHEDULE, "warmup_start_factor"},
        {"warmup_start_factor > 1",
         [=](fopt_options *o, fopt_tensor *, size_t *) { warmup(o); o->schedule.warmup_start_factor = 1.5; },
         FOPT_ERROR_INVALID_SCHEDULE, "warmup_start_factor"},
    };
    for (const BadCreate &c : cases) {
        SCOPED_TRACE(c.what);
        std::vector<float> p(4, 1.0f), g(4, 0.5f);
        fopt_tensor t[2] = {{p.data(), g.data(), 2}, {p.data() + 2, g.data() + 2, 2}};
        size_t n = 2;
        fopt_options o = base(FOPT_ADAMW, FOPT_SCHEDULE_COSINE);
        c.mutate(&o, t, &n);
        fopt_optimizer *opt = reinterpret_cast<fopt_optimizer *>(0x1);
        EXPECT_EQ(fopt_create(&opt, &o, t, n), c.expected) << fopt_last_error(nullptr);
        EXPECT_EQ(opt, reinterpret_cast<fopt_optimizer *>(0x1)) << "output touched";
        EXPECT_NE(std::strstr(fopt_last_error(nullptr), c.needle), nullptr) << fopt_last_error(nullptr);
        EXPECT_EQ(p, std::vector<float>(4, 1.0f));
    }
}

/* A call on a live optimizer that must fail and change nothing. */
struct BadCall {
    const char *what;
    std::function<fopt_status(fopt_optimizer *, const TempDir &)> call;
    fopt_status expected;
    const char *needle; /* in fopt_last_error(opt), or of NULL where the call had no handle */
    bool handle_message;
};

/* A valid checkpoint of the Live configuration, edited by `edit`. */
std::string bad_checkpoint(const TempDir &dir, const std::function<void(Bytes &)> &edit)
{
    Live other;
    const std::string good = dir.file("good"), bad = dir.file("bad");
    EXPECT_EQ(fopt_save(other.opt, good.c_str()), FOPT_SUCCESS);
    Bytes b = read_bytes(good);
    edit(b);
    write_bytes(bad, b);
    return bad;
}

TEST(BadInputs, CallTable)
{
    const BadCall cases[] = {
        {"set_epoch INT64_MIN", [](fopt_optimizer *o, const TempDir &) { return fopt_set_epoch(o, INT64_MIN); },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "epoch must be in [0, 2^62]", true},
        {"set_epoch above 2^62", [](fopt_optimizer *o, const TempDir &) { return fopt_set_epoch(o, INT64_MAX); },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "epoch must be in [0, 2^62]", true},
        {"set_epoch NULL", [](fopt_optimizer *, const TempDir &) { return fopt_set_epoch(nullptr, 3); },
         FOPT_ERROR_NULL_POINTER, "opt is NULL", false},
        {"get_counters NULL", [](fopt_optimizer *, const TempDir &) {
             int64_t s;
             return fopt_get_counters(nullptr, &s, &s);
         }, FOPT_ERROR_NULL_POINTER, "opt is NULL", false},
        {"get_last_lr NULL opt", [](fopt_optimizer *, const TempDir &) {
             double lr;
             return fopt_get_last_lr(nullptr, &lr);
         }, FOPT_ERROR_NULL_POINTER, "opt is NULL", false},
        {"get_grad_norm without scaling, clipping or tracking", [](fopt_optimizer *o, const TempDir &) {
             double norm;
             return fopt_get_grad_norm(o, &norm);
         }, FOPT_ERROR_NOT_SUPPORTED, "track_grad_norm", true},
        {"device_grad_norm NULL opt", [](fopt_optimizer *, const TempDir &) {
             const float *norm;
             return fopt_device_grad_norm(nullptr, &norm);
         }, FOPT_ERROR_NULL_POINTER, "opt is NULL", false},
        {"get_backend NULL opt", [](fopt_optimizer *, const TempDir &) {
             fopt_backend b;
             return fopt_get_backend(nullptr, &b);
         }, FOPT_ERROR_NULL_POINTER, "opt", false},
        {"schedule_lr NULL schedule", [](fopt_optimizer *, const TempDir &) {
             double lr;
             return fopt_schedule_lr(nullptr, 0, &lr);
         }, FOPT_ERROR_NULL_POINTER, "schedule is NULL", false},
        {"schedule_lr negative epoch", [](fopt_optimizer *, const TempDir &) {
             fopt_schedule s = fopt_default_schedule();
             double lr;
             return fopt_schedule_lr(&s, -1, &lr);
         }, FOPT_ERROR_INVALID_SCHEDULE, "epoch must be >= 0", false},
        {"schedule_lr NULL output", [](fopt_optimizer *, const TempDir &) {
             fopt_schedule s = fopt_default_schedule();
             return fopt_schedule_lr(&s, 0, nullptr);
         }, FOPT_ERROR_NULL_POINTER, "lr (output)", false},
        {"schedule_check NULL", [](fopt_optimizer *, const TempDir &) { return fopt_schedule_check(nullptr); },
         FOPT_ERROR_NULL_POINTER, "schedule is NULL", false},
        {"save NULL opt", [](fopt_optimizer *, const TempDir &d) { return fopt_save(nullptr, d.file("x").c_str()); },
         FOPT_ERROR_NULL_POINTER, "opt is NULL", false},
        {"save NULL path", [](fopt_optimizer *o, const TempDir &) { return fopt_save(o, nullptr); },
         FOPT_ERROR_NULL_POINTER, "path", true},
        {"save empty path", [](fopt_optimizer *o, const TempDir &) { return fopt_save(o, ""); }, FOPT_ERROR_IO,
         "empty", true},
        {"save into a missing directory",
         [](fopt_optimizer *o, const TempDir &d) { return fopt_save(o, d.file("no/such/dir/c").c_str()); },
         FOPT_ERROR_IO, "No such file", true},
        {"load NULL path", [](fopt_optimizer *o, const TempDir &) { return fopt_load(o, nullptr); },
         FOPT_ERROR_NULL_POINTER, "path", true},
        {"load a directory", [](fopt_optimizer *o, const TempDir &d) { return fopt_load(o, d.path().c_str()); },
         FOPT_ERROR_IO, "not a regular file", true},
        {"load an empty file", [](fopt_optimizer *o, const TempDir &d) {
             return fopt_load(o, bad_checkpoint(d, [](Bytes &b) { b.clear(); }).c_str());
         }, FOPT_ERROR_CHECKPOINT_CORRUPT, "magic", true},
        {"load truncated header", [](fopt_optimizer *o, const TempDir &d) {
             return fopt_load(o, bad_checkpoint(d, [](Bytes &b) { b.resize(30); }).c_str());
         }, FOPT_ERROR_CHECKPOINT_CORRUPT, "truncated", true},
        {"load truncated state", [](fopt_optimizer *o, const TempDir &d) {
             return fopt_load(o, bad_checkpoint(d, [](Bytes &b) { b.resize(b.size() - 9); }).c_str());
         }, FOPT_ERROR_CHECKPOINT_CORRUPT, "truncated", true},
        {"load bit flip in the state", [](fopt_optimizer *o, const TempDir &d) {
             return fopt_load(o, bad_checkpoint(d, [](Bytes &b) { b[b.size() - 10] ^= 4; }).c_str());
         }, FOPT_ERROR_CHECKPOINT_CORRUPT, "checksum", true},
        {"load future version", [](fopt_optimizer *o, const TempDir &d) {
             return fopt_load(o, bad_checkpoint(d, [](Bytes &b) { b[8] = 7; }).c_str());
         }, FOPT_ERROR_CHECKPOINT_VERSION, "version 7", true},
        {"load counters section garbage", [](fopt_optimizer *o, const TempDir &d) {
             return fopt_load(o, bad_checkpoint(d, [](Bytes &b) {
                                     const size_t c = section_offset(b, "CNTR");
                                     fopt_put_f64(&b[c + 16 + 16], NAN);
                                     fix_crcs(b, c);
                                 }).c_str());
         }, FOPT_ERROR_CHECKPOINT_CORRUPT, "section CNTR", true},
        {"load epoch above 2^62", [](fopt_optimizer *o, const TempDir &d) {
             return fopt_load(o, bad_checkpoint(d, [](Bytes &b) {
                                     const size_t c = section_offset(b, "CNTR");
                                     fopt_put_u64(&b[c + 16 + 8], (uint64_t)FOPT_MAX_COUNTER + 1);
                                     fix_crcs(b, c);
                                 }).c_str());
         }, FOPT_ERROR_CHECKPOINT_CORRUPT, "invalid step", true},
        {"load a loss scale that is not an fp32 value", [](fopt_optimizer *o, const TempDir &d) {
             return fopt_load(o, bad_checkpoint(d, [](Bytes &b) {
                                     const size_t c = section_offset(b, "CNTR");
                                     fopt_put_f64(&b[c + 16 + 24], 1e-50);
                                     fix_crcs(b, c);
                                 }).c_str());
         }, FOPT_ERROR_CHECKPOINT_CORRUPT, "invalid loss scale", true},
        {"load state array count changed", [](fopt_optimizer *o, const TempDir &d) {
             return fopt_load(o, bad_checkpoint(d, [](Bytes &b) {
                                     const size_t t = section_offset(b, "TENS");
                                     fopt_put_u32(&b[t + 16 + 8], 2);
                                     fix_crcs(b, t);
                                 }).c_str());
         }, FOPT_ERROR_CHECKPOINT_MISMATCH, "state arrays", true},
    };
    for (const BadCall &c : cases) {
        SCOPED_TRACE(c.what);
        TempDir dir;
        Live live, control;
        const Snapshot before = snapshot(live.opt);
        EXPECT_EQ(c.call(live.opt, dir), c.expected);
        const char *message = fopt_last_error(c.handle_message ? live.opt : nullptr);
        EXPECT_NE(std::strstr(message, c.needle), nullptr) << message;
        EXPECT_TRUE(snapshot(live.opt) == before);
        ASSERT_EQ(fopt_step(live.opt), FOPT_SUCCESS);
        ASSERT_EQ(fopt_step(control.opt), FOPT_SUCCESS);
        EXPECT_EQ(live.p0, control.p0);
        EXPECT_EQ(live.p1, control.p1);
        EXPECT_TRUE(snapshot(live.opt) == snapshot(control.opt));
    }
}

/* Runs the built tool (with a timeout, so a case that wrongly starts a
 * benchmark cannot hang the suite); returns exit status and stderr. */
int run_cli(const std::vector<std::string> &args, std::string *out, std::string *err)
{
    TempDir dir;
    std::string cmd = "timeout 60 '" FOPT_CLI_PATH "'";
    for (const std::string &a : args) {
        cmd += " '" + a + "'";
    }
    cmd += " >" + dir.file("out") + " 2>" + dir.file("err");
    const int raw = std::system(cmd.c_str());
    const Bytes o = read_bytes(dir.file("out")), e = read_bytes(dir.file("err"));
    out->assign(o.begin(), o.end());
    err->assign(e.begin(), e.end());
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

struct BadCli {
    std::vector<std::string> args;
    const char *first_line; /* a substring of the first line of stderr */
};

TEST(BadInputs, CliTable)
{
    const BadCli cases[] = {
        {{}, "usage: fusedopt <command>"},
        {{"frobnicate"}, "fusedopt: unknown command 'frobnicate'"},
        {{""}, "fusedopt: unknown command ''"},
        {{"--verbose"}, "unknown command '--verbose'"},
        {{"bench", "--device", "tpu"}, "fusedopt bench: --device"},
        {{"bench", "--threads", "-1"}, "fusedopt bench: --threads"},
        {{"bench", "--threads", "lots"}, "fusedopt bench: --threads"},
        {{"bench", "--min-time", "nan"}, "fusedopt bench: --min-time"},
        {{"bench", "--min-time", "-1"}, "fusedopt bench: --min-time"},
        {{"bench", "--out"}, "fusedopt bench: --out"},
        {{"bench", "--quick=1"}, "fusedopt bench: --quick"},
        {{"bench", "extra"}, "fusedopt bench: "},
        {{"selftest", "--backend", "tpu"}, "fusedopt selftest: --backend"},
        {{"selftest", "--steps", "21"}, "fusedopt selftest: --steps"},
        {{"selftest", "--steps", "0"}, "fusedopt selftest: --steps"},
        {{"selftest", "--steps", "1.5"}, "fusedopt selftest: --steps"},
        {{"selftest", "--steps"}, "fusedopt selftest: --steps: missing value"},
        {{"selftest", "--unknown"}, "fusedopt selftest: --unknown"},
        {{"schedule", "--t-0", "0", "--schedule", "restarts"}, "fusedopt schedule: --t-0"},
        {{"schedule", "--t-mult", "0", "--schedule", "restarts"}, "fusedopt schedule: --t-mult"},
        {{"schedule", "--warmup-steps", "-2", "--schedule", "warmup-cosine"}, "fusedopt schedule: --warmup-steps"},
        {{"schedule", "--eta-min", "-1"}, "fusedopt schedule: --eta-min"},
        {{"schedule", "--lr", ""}, "fusedopt schedule: --lr"},
    };
    for (const BadCli &c : cases) {
        std::string out, err;
        const int status = run_cli(c.args, &out, &err);
        const std::string first = err.substr(0, err.find('\n'));
        SCOPED_TRACE(first);
        EXPECT_EQ(status, 2);
        EXPECT_EQ(out, "");
        EXPECT_NE(first.find(c.first_line), std::string::npos);
    }
}

}  // namespace
