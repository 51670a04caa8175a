/*
 * 16-bit parameters (fp32 master weights) and gradients on the CPU backend:
 * the conversions, the scenarios of precision_common.h against the
 * reference, several threads, validation and a checkpoint resume.
 */
#include <cstdio>

#include "cpu_backend.h"
#include "precision_common.h"

using fopt_precision::HostBytes;
using fopt_precision::PrecisionRun;

namespace {

TEST(Dtype, Bf16RoundsToNearestEven)
{
    EXPECT_EQ(fopt_float_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(fopt_float_to_bf16(1.0f + 0x1p-8f), 0x3f80) << "tie to the even neighbour below";
    EXPECT_EQ(fopt_float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82) << "tie to the even neighbour above";
    EXPECT_EQ(fopt_float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81) << "above the tie";
    EXPECT_EQ(fopt_float_to_bf16(-2.0f), 0xc000);
    EXPECT_EQ(fopt_float_to_bf16(3.4028235e38f), 0x7f80) << "overflows to infinity";
    EXPECT_EQ(fopt_float_to_bf16(-INFINITY), 0xff80);
    EXPECT_EQ(fopt_float_to_bf16(NAN), 0x7fff);
    EXPECT_EQ(fopt_float_to_bf16(0x1p-140f), 0x0000 | (fopt_float_bits(0x1p-140f) >> 16)) << "fp32 subnormal";
}

TEST(Dtype, HalfRoundsToNearestEven)
{
    EXPECT_EQ(fopt_float_to_half(1.0f), 0x3c00);
    EXPECT_EQ(fopt_float_to_half(1.0f + 0x1p-11f), 0x3c00);
    EXPECT_EQ(fopt_float_to_half(1.0f + 3 * 0x1p-11f), 0x3c02);
    EXPECT_EQ(fopt_float_to_half(65504.0f), 0x7bff);
    EXPECT_EQ(fopt_float_to_half(65519.0f), 0x7bff);
    EXPECT_EQ(fopt_float_to_half(65520.0f), 0x7c00) << "half an ulp above the largest rounds to infinity";
    EXPECT_EQ(fopt_float_to_half(-1e6f), 0xfc00);
    EXPECT_EQ(fopt_float_to_half(0x1p-24f), 0x0001) << "smallest subnormal";
    EXPECT_EQ(fopt_float_to_half(0x1p-25f), 0x0000) << "tie to even zero";
    EXPECT_EQ(fopt_float_to_half(1.5f * 0x1p-25f), 0x0001);
    EXPECT_EQ(fopt_float_to_half(3 * 0x1p-25f), 0x0002) << "subnormal tie to even";
    EXPECT_EQ(fopt_float_to_half(0x1p-14f - 0x1p-26f), 0x0400) << "rounds up into the normals";
    EXPECT_EQ(fopt_float_to_half(-0.0f), 0x8000);
    EXPECT_EQ(fopt_float_to_half(NAN), 0x7fff);
    EXPECT_EQ(fopt_half_to_float(0x0001), 0x1p-24f);
    EXPECT_EQ(fopt_half_to_float(0xfbff), -65504.0f);
}

/* Every 16-bit value that is not a NaN survives widening and rounding back. */
TEST(Dtype, EveryValueRoundTrips)
{
    for (uint32_t h = 0; h < 0x10000; h++) {
        const uint16_t x = (uint16_t)h;
        const float b = fopt_bf16_to_float(x);
        if (!std::isnan(b)) {
            ASSERT_EQ(fopt_float_to_bf16(b), x) << std::hex << h;
        }
        const float f = fopt_half_to_float(x);
        if (!std::isnan(f)) {
            ASSERT_EQ(fopt_float_to_half(f), x) << std::hex << h;
        }
    }
}

class MixedPrecisionCpu : public testing::TestWithParam<fopt_precision::Case> {};

TEST_P(MixedPrecisionCpu, MatchesReference)
{
    fopt_precision::run_precision_scenario<HostBytes>(GetParam().options);
}

INSTANTIATE_TEST_SUITE_P(Cases, MixedPrecisionCpu,
                         testing::ValuesIn(fopt_precision::precision_cases(FOPT_BACKEND_CPU)),
                         fopt_precision::CaseName());

/* Three threads split the tensors mid-block; the bits match one thread's. */
TEST(MixedPrecisionCpuThreads, SameBitsOnThreeThreads)
{
    fopt_options o = fopt_precision::precision_cases(FOPT_BACKEND_CPU)[4].options; /* bf16/fp32 Adam */
    PrecisionRun<HostBytes> one(o, {3000, 5, 2500}, 3);
    PrecisionRun<HostBytes> three(o, {3000, 5, 2500}, 3);
    ASSERT_EQ(one.create_status(), FOPT_SUCCESS);
    ASSERT_EQ(three.create_status(), FOPT_SUCCESS);
    ASSERT_EQ(fopt_cpu_set_threads(three.opt(), 3), FOPT_SUCCESS);
    for (int k = 0; k < 4; k++) {
        one.step();
        three.step();
    }
    EXPECT_EQ(one.param_bytes(), three.param_bytes());
    EXPECT_EQ(one.master(0), three.master(0));
    three.expect_matches_reference();
}

TEST(MixedPrecisionCpuValidation, BadDtypesAndAlignment)
{
    std::vector<float> p(8), g(8);
    fopt_tensor t = {p.data(), g.data(), 4};
    fopt_options o = fopt_default_options(FOPT_ADAM);
    o.param_dtype = (fopt_dtype)3;
    fopt_precision::expect_create_fails(o, t, FOPT_ERROR_INVALID_ENUM, "param_dtype");
    o.param_dtype = FOPT_BFLOAT16;
    o.grad_dtype = (fopt_dtype)-1;
    fopt_precision::expect_create_fails(o, t, FOPT_ERROR_INVALID_ENUM, "grad_dtype");
    o.grad_dtype = FOPT_FLOAT16;
    fopt_tensor odd = {reinterpret_cast<char *>(p.data()) + 1, g.data(), 4};
    fopt_precision::expect_create_fails(o, odd, FOPT_ERROR_INVALID_POINTER, "tensors[0].param");
    o.param_dtype = FOPT_FLOAT32;
    o.grad_dtype = FOPT_FLOAT32;
    fopt_tensor half_aligned = {p.data(), reinterpret_cast<char *>(g.data()) + 2, 4};
    fopt_precision::expect_create_fails(o, half_aligned, FOPT_ERROR_INVALID_POINTER, "tensors[0].grad");
    o.grad_dtype = FOPT_BFLOAT16; /* 2-byte alignment is enough for bf16 gradients */
    fopt_optimizer *opt = nullptr;
    EXPECT_EQ(fopt_create(&opt, &o, &half_aligned, 1), FOPT_SUCCESS) << fopt_last_error(nullptr);
    fopt_destroy(opt);
}

/* The master weights are a state array: a checkpoint taken after 6 steps,
 * loaded into a new optimizer over the parameters as they were then,
 * continues bit for bit like the run that never stopped. */
TEST(MixedPrecisionCpuCheckpoint, ResumesMasterWeights)
{
    for (fopt_algorithm a : {FOPT_SGD, FOPT_ADAMW}) {
        fopt_options o = fopt_precision::precision_cases(FOPT_BACKEND_CPU)[a == FOPT_SGD ? 3 : 5].options;
        ASSERT_EQ(o.grad_scaling, 0);
        ASSERT_EQ(o.param_dtype, FOPT_BFLOAT16);
        const std::vector<size_t> sizes = {5, 4097, 1};
        PrecisionRun<HostBytes> whole(o, sizes, 21);
        PrecisionRun<HostBytes> first(o, sizes, 21);
        ASSERT_EQ(whole.create_status(), FOPT_SUCCESS);
        ASSERT_EQ(first.create_status(), FOPT_SUCCESS);
        for (int k = 0; k < 6; k++) {
            whole.step();
            first.step();
        }
        const std::string path = testing::TempDir() + "fopt_mixed_precision.ckpt";
        ASSERT_EQ(fopt_save(first.opt(), path.c_str()), FOPT_SUCCESS) << fopt_last_error(first.opt());
        /* A new run with the same seed draws the same initial parameters and
         * gradients; give it the parameters of step 6, then the checkpoint. */
        PrecisionRun<HostBytes> resumed(o, sizes, 21);
        ASSERT_EQ(resumed.create_status(), FOPT_SUCCESS);
        resumed.skip_gradients(6);
        const auto bytes = first.param_bytes();
        for (size_t t = 0; t < sizes.size(); t++) {
            std::memcpy(resumed.opt()->tensors[t].param, bytes[t].data(), bytes[t].size());
        }
        ASSERT_EQ(fopt_load(resumed.opt(), path.c_str()), FOPT_SUCCESS) << fopt_last_error(resumed.opt());
        std::remove(path.c_str());
        for (size_t t = 0; t < sizes.size(); t++) {
            EXPECT_EQ(resumed.master(t), first.master(t));
        }
        for (int k = 0; k < 8; k++) {
            whole.step();
            resumed.step();
        }
        EXPECT_EQ(resumed.param_bytes(), whole.param_bytes());
        for (size_t t = 0; t < sizes.size(); t++) {
            EXPECT_EQ(resumed.master(t), whole.master(t));
        }
        whole.expect_matches_reference();
    }
}

/* Same seeds, same bits on every run and thread count; another rounding
 * seed, other bits. No master weights are kept. */
TEST(StochasticRoundingCpu, ReproducibleAndSeeded)
{
    const std::vector<size_t> sizes = {5, 4097, 1, 70};
    const fopt_options o = fopt_precision::stochastic_options(FOPT_BACKEND_CPU, 42);
    EXPECT_EQ(fopt_state_arrays(&o), 0);
    PrecisionRun<HostBytes> a(o, sizes, 7), b(o, sizes, 7);
    fopt_options other = o;
    other.stochastic_rounding_seed = 43;
    PrecisionRun<HostBytes> c(other, sizes, 7);
    ASSERT_EQ(a.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    ASSERT_EQ(b.create_status(), FOPT_SUCCESS);
    ASSERT_EQ(c.create_status(), FOPT_SUCCESS);
    ASSERT_EQ(fopt_cpu_set_threads(b.opt(), 3), FOPT_SUCCESS);
    for (int k = 0; k < 6; k++) {
        a.step();
        b.step();
        c.step();
    }
    EXPECT_EQ(a.param_bytes(), b.param_bytes());
    EXPECT_NE(a.param_bytes(), c.param_bytes());
    EXPECT_TRUE(a.master(0).empty());
}

/* 65536 copies of 1 + (5/16) 2^-7, between the bf16 neighbours 1 and
 * 1 + 2^-7: about 5/16 of them round up (the mean is the value), for each
 * of three seeds; round-to-nearest would give 1 everywhere. */
TEST(StochasticRoundingCpu, UnbiasedOnAverage)
{
    const size_t n = 65536;
    std::vector<uint16_t> p(n), g(n, fopt_float_to_bf16(-0.0390625f)); /* lr * g = -(5/16) 2^-7 */
    for (uint64_t seed : {1u, 2u, 3u}) {
        std::fill(p.begin(), p.end(), fopt_float_to_bf16(1.0f));
        fopt_options o = fopt_precision::stochastic_options(FOPT_BACKEND_CPU, seed);
        fopt_tensor t = {p.data(), g.data(), n};
        fopt_optimizer *opt = nullptr;
        ASSERT_EQ(fopt_create(&opt, &o, &t, 1), FOPT_SUCCESS) << fopt_last_error(nullptr);
        ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS);
        fopt_destroy(opt);
        size_t up = 0;
        double sum = 0;
        for (uint16_t x : p) {
            ASSERT_TRUE(x == 0x3f80 || x == 0x3f81) << std::hex << x;
            up += x == 0x3f81;
            sum += fopt_bf16_to_float(x);
        }
        const double fraction = (double)up / n; /* standard deviation 0.0018 */
        EXPECT_NEAR(fraction, 0.3125, 0.01) << "seed " << seed;
        EXPECT_NEAR(sum / n, 1.0 + 0.3125 / 128, 0.01 / 128) << "seed " << seed;
    }
}

TEST(StochasticRoundingCpu, NeedsBf16Parameters)
{
    std::vector<float> p(4), g(4);
    fopt_tensor t = {p.data(), g.data(), 4};
    for (fopt_dtype d : {FOPT_FLOAT32, FOPT_FLOAT16}) {
        fopt_options o = fopt_precision::stochastic_options(FOPT_BACKEND_CPU, 1);
        o.param_dtype = d;
        fopt_precision::expect_create_fails(o, t, FOPT_ERROR_INVALID_HYPERPARAMETER, "stochastic_rounding");
    }
}

/* A checkpoint of bf16 parameters does not load into an fp32 optimizer. */
TEST(MixedPrecisionCpuCheckpoint, Fp32OptimizerRejectsMasterWeights)
{
    fopt_options o = fopt_precision::precision_cases(FOPT_BACKEND_CPU)[3].options; /* bf16 SGD momentum */
    PrecisionRun<HostBytes> bf16(o, {5}, 1);
    o.param_dtype = FOPT_FLOAT32;
    PrecisionRun<HostBytes> fp32(o, {5}, 1);
    ASSERT_EQ(bf16.create_status(), FOPT_SUCCESS);
    ASSERT_EQ(fp32.create_status(), FOPT_SUCCESS);
    const std::string path = testing::TempDir() + "fopt_mixed_precision_mismatch.ckpt";
    ASSERT_EQ(fopt_save(bf16.opt(), path.c_str()), FOPT_SUCCESS);
    EXPECT_EQ(fopt_load(fp32.opt(), path.c_str()), FOPT_ERROR_CHECKPOINT_MISMATCH);
    std::remove(path.c_str());
}

} // namespace
