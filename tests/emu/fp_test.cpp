/* Device math, bit casts and the __half / __nv_bfloat16 conversions. */
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "emu_test_util.h"
#include "cuda_bf16.h"
#include "cuda_fp16.h"

namespace {

uint32_t bits(float f) { return __float_as_uint(f); }

/* Floats that probe rounding: every exponent with mantissa tails around the
 * halfway points of both 16-bit formats, plus random ones. */
std::vector<float> probe_floats()
{
    std::vector<float> v;
    std::mt19937 rng(42);
    const uint32_t tails[] = {0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000,
                              0x7fff, 0x8000, 0x8001, 0xffff};
    for (uint32_t sign : {0u, 0x80000000u})
        for (uint32_t exp = 0; exp < 255; ++exp)
            for (uint32_t tail : tails)
                for (int r = 0; r < 4; ++r) {
                    uint32_t mant = (r == 0 ? 0u : rng() & 0x7f0000u) | tail;
                    mant |= (r == 1 ? 0x10000u : 0u) | (r == 3 ? (rng() & 0xe000u) : 0u);
                    v.push_back(__uint_as_float(sign | exp << 23 | (mant & 0x7fffffu)));
                }
    for (int i = 0; i < 200000; ++i)
        v.push_back(__uint_as_float(rng()));
    v.push_back(std::numeric_limits<float>::infinity());
    v.push_back(-std::numeric_limits<float>::infinity());
    v.push_back(65504.0f);
    v.push_back(65519.996f);
    v.push_back(65520.0f);
    v.push_back(0x1p-24f);
    v.push_back(0x1p-25f);
    v.push_back(0x1.000002p-25f);
    return v;
}

/* Round-to-nearest-even to bfloat16 by comparing the two neighbours in double. */
uint16_t bf16_oracle(float f)
{
    uint32_t u = bits(f);
    uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;
    double dlo = std::fabs((double)__uint_as_float(lo));
    double dhi = (hi & 0x7fffffffu) == 0x7f800000u ? std::ldexp(1.0, 128)
                                                     : std::fabs((double)__uint_as_float(hi));
    double a = std::fabs((double)f);
    double down = a - dlo, up = dhi - a;
    bool take_hi = up < down || (up == down && ((lo >> 16) & 1u));
    return (uint16_t)((take_hi ? hi : lo) >> 16);
}

TEST(FpTest, Bfloat16RoundsToNearestEven)
{
    for (float f : probe_floats()) {
        uint16_t got = __bfloat16_as_ushort(__float2bfloat16_rn(f));
        if (std::isnan(f)) {
            EXPECT_TRUE(std::isnan(__bfloat162float(__ushort_as_bfloat16(got))));
            continue;
        }
        ASSERT_EQ(got, bf16_oracle(f)) << std::hexfloat << f;
        EXPECT_EQ(bits(__bfloat162float(__ushort_as_bfloat16(got))), (uint32_t)got << 16);
    }
    EXPECT_EQ(__bfloat16_as_ushort(__float2bfloat16_rn(std::nanf(""))), 0x7fff);
    EXPECT_EQ(__bfloat16_as_ushort(__float2bfloat16_rn(-0.0f)), 0x8000);
    EXPECT_EQ(__bfloat16_as_ushort(__float2bfloat16_rn(3.4028235e38f)), 0x7f80) << "overflow";
    EXPECT_EQ(__bfloat16_as_ushort(__float2bfloat16_rn(1.0f + 0x1p-8f)), 0x3f80) << "tie to even";
    EXPECT_EQ(__bfloat16_as_ushort(__float2bfloat16_rn(1.0f + 0x3p-8f)), 0x3f82) << "tie to even";
}

#ifdef __FLT16_MAX__
/* The compiler's _Float16 conversions (IEEE, round-to-nearest-even) are the oracle. */
TEST(FpTest, HalfMatchesFloat16BothWays)
{
    for (uint32_t h = 0; h <= 0xffff; ++h) {
        _Float16 ref;
        uint16_t h16 = (uint16_t)h;
        std::memcpy(&ref, &h16, sizeof ref);
        float got = __half2float(__ushort_as_half(h16));
        if (std::isnan((float)ref))
            EXPECT_TRUE(std::isnan(got)) << h;
        else
            ASSERT_EQ(bits(got), bits((float)ref)) << std::hex << h;
    }
    for (float f : probe_floats()) {
        uint16_t got = __half_as_ushort(__float2half_rn(f));
        if (std::isnan(f)) {
            EXPECT_EQ(got, 0x7fff);
            continue;
        }
        _Float16 ref = (_Float16)f;
        uint16_t want;
        std::memcpy(&want, &ref, sizeof want);
        ASSERT_EQ(got, want) << std::hexfloat << f;
    }
}
#endif

TEST(FpTest, HalfSpecialValues)
{
    EXPECT_EQ(__half_as_ushort(__float2half_rn(65504.0f)), 0x7bff);
    EXPECT_EQ(__half_as_ushort(__float2half_rn(65520.0f)), 0x7c00) << "ties up to infinity";
    EXPECT_EQ(__half_as_ushort(__float2half_rn(-INFINITY)), 0xfc00);
    EXPECT_EQ(__half_as_ushort(__float2half_rn(0x1p-24f)), 0x0001);
    EXPECT_EQ(__half_as_ushort(__float2half_rn(0x1p-25f)), 0x0000) << "tie to even zero";
    EXPECT_EQ(__half_as_ushort(__float2half_rn(-0x1.8p-24f)), 0x8002) << "tie to even";
    EXPECT_EQ(__half2float(__ushort_as_half(0x3c00)), 1.0f);
    EXPECT_EQ(bits(__half2float(__ushort_as_half(0x8000))), 0x80000000u);
}

TEST(FpTest, DeviceMathAndBitCasts)
{
    EXPECT_EQ(rsqrtf(4.0f), 0.5f);
    EXPECT_EQ(__fdiv_rn(1.0f, 4.0f), 0.25f);
    EXPECT_EQ(__frcp_rn(8.0f), 0.125f);
    EXPECT_EQ(__fsqrt_rn(9.0f), 3.0f);
    EXPECT_EQ(fmaf(2.0f, 3.0f, 1.0f), 7.0f);
    /* a*x = 1 + 2^-11 + 2^-24 rounds to 1 + 2^-11; fused, the sum would be 2^-24 */
    volatile float a = 1.0f + 0x1p-12f, b = -(1.0f + 0x1p-11f);
    EXPECT_EQ(__fadd_rn(__fmul_rn(a, a), b), 0.0f) << "_rn products must not be contracted";
    EXPECT_FALSE(isfinite(INFINITY));
    EXPECT_FALSE(isfinite(NAN));
    EXPECT_TRUE(isfinite(1.0f));
    EXPECT_EQ(__float_as_uint(1.0f), 0x3f800000u);
    EXPECT_EQ(__uint_as_float(0x40000000u), 2.0f);
    EXPECT_EQ(__float_as_int(-0.0f), INT32_MIN);
    EXPECT_EQ(__int_as_float(0x3f800000), 1.0f);
    EXPECT_EQ(__double_as_longlong(1.0), 0x3ff0000000000000ll);
    EXPECT_EQ(__longlong_as_double(0x4000000000000000ll), 2.0);
    EXPECT_EQ(max(3, -4), 3);
    EXPECT_EQ(min(3u, 4u), 3u);
    EXPECT_EQ(max(-1, 1u), 0xffffffffu) << "mixed signedness compares unsigned";
    EXPECT_EQ(min(2.5f, NAN), 2.5f);
    EXPECT_EQ(max(1.0, 2.0f), 2.0);
    EXPECT_EQ(min(7ll, -7ll), -7ll);
    float f = 1.5f;
    EXPECT_EQ(__ldg(&f), 1.5f);
}

TEST(FpTest, AtomicsReturnTheOldValue)
{
    float f = 1.0f;
    EXPECT_EQ(atomicAdd(&f, 2.0f), 1.0f);
    EXPECT_EQ(f, 3.0f);
    double d = 1.0;
    EXPECT_EQ(atomicAdd(&d, 0.5), 1.0);
    int i = INT32_MAX;
    EXPECT_EQ(atomicAdd(&i, 1), INT32_MAX);
    EXPECT_EQ(i, INT32_MIN) << "wraps";
    unsigned u = 5;
    EXPECT_EQ(atomicMax(&u, 9u), 5u);
    EXPECT_EQ(atomicOr(&u, 6u), 9u);
    EXPECT_EQ(u, 15u);
    int m = -3;
    EXPECT_EQ(atomicMax(&m, -5), -3);
    EXPECT_EQ(atomicOr(&m, 0), -3);
    unsigned long long c = 10;
    EXPECT_EQ(atomicAdd(&c, 5ull), 10ull);
    EXPECT_EQ(atomicCAS(&c, 14ull, 0ull), 15ull);
    EXPECT_EQ(atomicCAS(&c, 15ull, 0ull), 15ull);
    EXPECT_EQ(c, 0ull);
    int k = 1;
    EXPECT_EQ(atomicCAS(&k, 1, 2), 1);
    EXPECT_EQ(k, 2);
}

TEST(FpTest, VectorTypesHaveCudaAlignment)
{
    static_assert(alignof(float4) == 16 && sizeof(float4) == 16, "float4");
    static_assert(alignof(double2) == 16 && alignof(int4) == 16 && alignof(uint4) == 16, "16");
    static_assert(alignof(longlong2) == 16 && alignof(float2) == 8 && alignof(int2) == 8, "8");
    static_assert(alignof(ushort4) == 8 && sizeof(ushort4) == 8, "ushort4");
    float4 v = make_float4(1, 2, 3, 4);
    EXPECT_EQ(v.w, 4.0f);
    EXPECT_EQ(make_longlong2(1, 2).y, 2);
    dim3 d(5);
    EXPECT_EQ(d.y * d.z, 1u);
}

} // namespace
