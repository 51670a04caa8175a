/*
 * Shared helpers of the mixed-precision tests (tests/test_mixed_precision.cpp
 * on the CPU backend, tests/device_mixed_precision_test.cpp and
 * tests/device_emu_precision_sync_test.cpp on the CUDA backend): a run with
 * bf16/fp16/fp32 parameters and gradients driven through the public API next
 * to the CPU reference, which keeps the master weights in double and gets the
 * gradients the optimizer sees (already rounded to grad_dtype, scaled).
 *
 * Buffer is the memory the tensors live in: HostBytes here, DeviceBytes
 * (precision_device.h) for the device tests; both have get/upload/download
 * of raw bytes.
 *
 * Checks after the steps, per element:
 *  - master weight (read through the backend's copy_state) vs the reference:
 *    the fp32 tolerance of device_common.h (atol 2e-6, rtol 2e-5): the
 *    master is updated exactly like an fp32 parameter;
 *  - the 16-bit parameter is bit for bit the optimizer's own master rounded
 *    to nearest-even (so it was written from the updated master, same pass);
 *  - the parameter vs the reference: the fp32 tolerance plus one 16-bit
 *    rounding of the parameter, relative 2^-8 (bf16, 8 significant bits) or
 *    2^-11 (fp16, 11 bits; plus 2^-24 absolute for fp16 subnormals).
 * Scales are powers of two, so scaling 16-bit gradients is exact unless it
 * overflows (fp16 runs use a small init_scale).
 */
#ifndef FOPT_TESTS_PRECISION_COMMON_H
#define FOPT_TESTS_PRECISION_COMMON_H

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "dtype.h"
#include "fusedopt.h"
#include "reference_run.h"
extern "C" {
#include "internal.h"
}

namespace fopt_precision {

/* `bytes` of host memory starting `shift` bytes after a 16-byte boundary. */
class HostBytes {
public:
    HostBytes(size_t bytes, size_t shift) : data_(bytes / 8 + shift / 8 + 3), shift_(shift), bytes_(bytes) {}
    void *get() { return reinterpret_cast<unsigned char *>(data_.data()) + shift_; }
    void upload(const std::vector<unsigned char> &v)
    {
        if (bytes_ > 0) { /* an empty vector's data() may be NULL */
            std::memcpy(get(), v.data(), bytes_);
        }
    }
    std::vector<unsigned char> download()
    {
        const unsigned char *p = static_cast<const unsigned char *>(get());
        return std::vector<unsigned char>(p, p + bytes_);
    }

private:
    std::vector<long double> data_; /* 16-byte aligned storage */
    size_t shift_;
    size_t bytes_;
};

inline const char *dtype_name(fopt_dtype d)
{
    return d == FOPT_FLOAT32 ? "fp32" : d == FOPT_BFLOAT16 ? "bf16" : "fp16";
}

/* Relative error of one rounding to `dtype` (half an ulp). */
inline double rounding_rtol(fopt_dtype d)
{
    return d == FOPT_BFLOAT16 ? std::ldexp(1.0, -8) : d == FOPT_FLOAT16 ? std::ldexp(1.0, -11) : 0.0;
}

inline std::vector<unsigned char> encode(fopt_dtype dtype, const std::vector<float> &values)
{
    std::vector<unsigned char> bytes(values.size() * fopt_dtype_size(dtype));
    for (size_t i = 0; i < values.size(); i++) {
        fopt_dtype_store(dtype, bytes.data(), i, values[i]);
    }
    return bytes;
}

inline std::vector<float> decode(fopt_dtype dtype, const std::vector<unsigned char> &bytes)
{
    std::vector<float> values(bytes.size() / fopt_dtype_size(dtype));
    for (size_t i = 0; i < values.size(); i++) {
        values[i] = fopt_dtype_load(dtype, bytes.data(), i);
    }
    return values;
}

using fopt_run::Poison;

template <class Buffer>
class PrecisionRun : public fopt_run::ReferenceRun {
public:
    PrecisionRun(const fopt_options &options, const std::vector<size_t> &sizes, unsigned seed)
        : ReferenceRun(options, sizes, seed)
    {
        const size_t psize = fopt_dtype_size(options.param_dtype);
        const size_t gsize = fopt_dtype_size(options.grad_dtype);
        std::vector<fopt_tensor> tensors;
        /* Shifts in elements, cycled over the tensors: parameter and
         * gradient both aligned to four elements (vector path), only one of
         * them, or neither (scalar path). */
        static const size_t param_shift[] = {1, 0, 0, 0, 2, 0};
        static const size_t grad_shift[] = {2, 1, 0, 0, 0, 0};
        for (size_t i = 0; i < sizes_.size(); i++) {
            const size_t n = sizes_[i];
            params_.push_back(std::make_unique<Buffer>(n * psize, param_shift[i % 6] * psize));
            grads_.push_back(std::make_unique<Buffer>(n * gsize, grad_shift[i % 6] * gsize));
            const std::vector<unsigned char> p = encode(options.param_dtype, random_floats(n, 1.0f));
            params_.back()->upload(p);
            const std::vector<float> exact = decode(options.param_dtype, p);
            ref_master_.emplace_back(exact.begin(), exact.end());
            tensors.push_back({params_.back()->get(), grads_.back()->get(), n});
        }
        status_ = fopt_create(&opt_, &options_, tensors.data(), tensors.size());
    }
    ~PrecisionRun() { fopt_destroy(opt_); }
    PrecisionRun(const PrecisionRun &) = delete;
    PrecisionRun &operator=(const PrecisionRun &) = delete;

    fopt_status create_status() const { return status_; }
    fopt_optimizer *opt() const { return opt_; }

    /* Gradients g * scale (g uniform in +-1) rounded to grad_dtype, `poison`
     * planted in element `at` of tensor `tensor`; one step on both sides.
     * Returns whether the reference skipped it. */
    bool step(Poison poison = Poison::none, size_t tensor = 0, size_t at = 0)
    {
        std::vector<std::vector<double>> ref_grad;
        for (size_t i = 0; i < sizes_.size(); i++) {
            const std::vector<float> g = scaled_gradients(i, 1.0f, poison, tensor, at);
            const std::vector<unsigned char> bytes = encode(options_.grad_dtype, g);
            grads_[i]->upload(bytes);
            const std::vector<float> seen = decode(options_.grad_dtype, bytes);
            ref_grad.emplace_back(seen.begin(), seen.end());
        }
        EXPECT_EQ(fopt_step(opt_), FOPT_SUCCESS) << fopt_last_error(opt_);
        return reference_step(ref_grad, ref_master_);
    }

    /* Draws the gradients of `steps` steps and drops them: a run created
     * with the same seed then continues another's gradient stream (its
     * reference no longer applies). */
    void skip_gradients(int steps)
    {
        for (int k = 0; k < steps; k++) {
            for (size_t n : sizes_) {
                random_floats(n, 1.0f);
            }
        }
    }

    /* The raw bytes of every parameter tensor. */
    std::vector<std::vector<unsigned char>> param_bytes() const
    {
        std::vector<std::vector<unsigned char>> out;
        for (auto &p : params_) {
            out.push_back(p->download());
        }
        return out;
    }

    /* The optimizer's master weights of tensor t (empty without them). */
    std::vector<float> master(size_t t) const
    {
        if (!fopt_has_master(&options_)) {
            return {};
        }
        std::vector<float> m(sizes_[t]);
        EXPECT_EQ(opt_->ops->copy_state(opt_, fopt_algorithm_state_arrays(&options_), t, m.data(), 1),
                  FOPT_SUCCESS);
        return m;
    }

    /* The checks listed at the top of this file, the step counter and the scale. */
    void expect_matches_reference() const
    {
        const double atol = 2e-6, rtol = 2e-5;
        const fopt_dtype pd = options_.param_dtype;
        const double q = rounding_rtol(pd);
        const double q_abs = pd == FOPT_FLOAT16 ? std::ldexp(1.0, -24) : 0.0;
        size_t bad = 0;
        for (size_t i = 0; i < sizes_.size(); i++) {
            const std::vector<unsigned char> bytes = params_[i]->download();
            const std::vector<float> got = decode(pd, bytes);
            const std::vector<float> m = master(i);
            const std::vector<unsigned char> rounded = m.empty() ? bytes : encode(pd, m);
            EXPECT_EQ(rounded, bytes) << "tensor " << i << ": the parameters are not the master weights rounded";
            for (size_t j = 0; j < got.size(); j++) {
                const double want = ref_master_[i][j];
                const double tol = atol + rtol * std::fabs(want);
                if (!(std::fabs((double)got[j] - want) <= tol + q * std::fabs(want) + q_abs) && bad++ < 5) {
                    ADD_FAILURE() << "tensor " << i << " element " << j << ": param " << got[j] << ", reference "
                                  << want;
                }
                if (!m.empty() && !(std::fabs((double)m[j] - want) <= tol) && bad++ < 5) {
                    ADD_FAILURE() << "tensor " << i << " element " << j << ": master " << m[j] << ", reference "
                                  << want;
                }
            }
        }
        EXPECT_EQ(bad, 0u) << "elements out of tolerance";
        expect_counters_match(opt_);
    }

private:
    std::vector<std::unique_ptr<Buffer>> params_;
    std::vector<std::unique_ptr<Buffer>> grads_;
    std::vector<std::vector<double>> ref_master_;
    fopt_optimizer *opt_ = nullptr;
    fopt_status status_ = FOPT_SUCCESS;
};

/* A named configuration. */
struct Case {
    std::string name;
    fopt_options options;
};

/* gtest prints a case by its name. */
inline void PrintTo(const Case &c, std::ostream *os)
{
    *os << c.name;
}

/* gtest names a parameterized case by its name. */
struct CaseName {
    std::string operator()(const testing::TestParamInfo<Case> &param) const { return param.param.name; }
};

/* SGD with momentum (first-step buffer, weight decay), Adam with amsgrad and
 * L2, AdamW; cosine schedule, epoch every 2 steps; for each of the dtype
 * pairs bf16/fp32, bf16/bf16, fp16/fp16 and fp32/bf16 (param/grad), with
 * grad scaling on (fp16 gradients: init_scale 1024, fp16 overflows past
 * 65504) and off; then Adagrad (lr_decay, weight decay, initial accumulator)
 * and centered RMSprop with momentum, with scaling, for each pair. */
inline std::vector<Case> precision_cases(fopt_backend backend)
{
    const fopt_dtype pairs[][2] = {{FOPT_BFLOAT16, FOPT_FLOAT32},
                                   {FOPT_BFLOAT16, FOPT_BFLOAT16},
                                   {FOPT_FLOAT16, FOPT_FLOAT16},
                                   {FOPT_FLOAT32, FOPT_BFLOAT16}};
    std::vector<Case> cases;
    for (const auto &pair : pairs) {
        for (int scaling : {1, 0}) {
            for (fopt_algorithm a : {FOPT_SGD, FOPT_ADAM, FOPT_ADAMW}) {
                fopt_options o = fopt_default_options(a);
                o.backend = backend;
                o.param_dtype = pair[0];
                o.grad_dtype = pair[1];
                o.schedule.kind = FOPT_SCHEDULE_COSINE;
                o.schedule.base_lr = a == FOPT_SGD ? 0.05 : 0.01;
                o.schedule.eta_min = o.schedule.base_lr / 20;
                o.schedule.t_max = 7;
                o.steps_per_epoch = 2;
                o.grad_scaling = scaling;
                o.growth_interval = 5;
                o.init_scale = pair[1] == FOPT_FLOAT16 ? 1024 : 65536;
                /* AdamW with scaling also clips (the gradients' norm is ~37). */
                const bool clipped = scaling && a == FOPT_ADAMW;
                o.max_grad_norm = clipped ? 5.0 : 0.0;
                if (a == FOPT_SGD) {
                    o.momentum = 0.9;
                    o.weight_decay = 0.01;
                } else if (a == FOPT_ADAM) {
                    o.amsgrad = 1;
                    o.weight_decay = 0.05;
                }
                const char *alg = a == FOPT_SGD ? "sgd_momentum" : a == FOPT_ADAM ? "adam_amsgrad" : "adamw";
                cases.push_back({std::string(alg) + "_" + dtype_name(pair[0]) + "_params_" + dtype_name(pair[1]) +
                                     "_grads" + (scaling ? "_scaled" : "") + (clipped ? "_clipped" : ""),
                                 o});
            }
        }
    }
    for (const auto &pair : pairs) {
        fopt_options o = fopt_default_options(FOPT_ADAGRAD);
        o.backend = backend;
        o.param_dtype = pair[0];
        o.grad_dtype = pair[1];
        o.schedule.kind = FOPT_SCHEDULE_COSINE;
        o.schedule.base_lr = 0.05;
        o.schedule.eta_min = o.schedule.base_lr / 20;
        o.schedule.t_max = 7;
        o.steps_per_epoch = 2;
        o.grad_scaling = 1;
        o.growth_interval = 5;
        o.init_scale = pair[1] == FOPT_FLOAT16 ? 1024 : 65536;
        o.lr_decay = 0.02;
        o.weight_decay = 0.01;
        o.initial_accumulator_value = 0.1;
        cases.push_back({std::string("adagrad_") + dtype_name(pair[0]) + "_params_" + dtype_name(pair[1]) +
                             "_grads_scaled",
                         o});
        fopt_options r = o;
        r.algorithm = FOPT_RMSPROP;
        r.schedule.base_lr = 0.01;
        r.schedule.eta_min = r.schedule.base_lr / 20;
        r.eps = 1e-8;
        r.alpha = 0.9;
        r.momentum = 0.5;
        r.centered = 1;
        cases.push_back({std::string("rmsprop_centered_momentum_") + dtype_name(pair[0]) + "_params_" +
                             dtype_name(pair[1]) + "_grads_scaled",
                         r});
    }
    return cases;
}

/* Stochastic rounding of bf16 parameters (no master weights) with bf16
 * gradients: plain SGD at a constant lr of 2^-4, so p - lr * g of bf16 p
 * and g is exact in fp32 with or without fused multiply-adds, and every
 * backend must round the same fp32 values to the same bits. */
inline fopt_options stochastic_options(fopt_backend backend, uint64_t seed)
{
    fopt_options o = fopt_default_options(FOPT_SGD);
    o.backend = backend;
    o.schedule.base_lr = 0.0625;
    o.param_dtype = FOPT_BFLOAT16;
    o.grad_dtype = FOPT_BFLOAT16;
    o.stochastic_rounding = 1;
    o.stochastic_rounding_seed = seed;
    return o;
}

/* Sizes: one element, a vector tail, more than one chunk, empty, odd; with
 * the shifts above, the 4097 and the last 70 are vectorized. */
inline std::vector<size_t> precision_sizes()
{
    return {1, 5, 4097, 0, 70, 70};
}

/* 22 steps: with scaling, step 1 overflows (inf) and step 12 has a NaN in
 * one tensor, both skipped without changing parameters or master weights;
 * without scaling, all are good steps. */
template <class Buffer>
void run_precision_scenario(const fopt_options &options)
{
    PrecisionRun<Buffer> run(options, precision_sizes(), 11);
    ASSERT_EQ(run.create_status(), FOPT_SUCCESS) << fopt_last_error(nullptr);
    run.expect_matches_reference(); /* master = the parameters at create */
    for (int k = 1; k <= 22; k++) {
        const bool poison = options.grad_scaling && (k == 1 || k == 12);
        if (poison) {
            const auto before = run.param_bytes();
            const std::vector<float> master_before = run.master(2);
            EXPECT_TRUE(run.step(k == 1 ? Poison::inf : Poison::nan, 2, 4096));
            EXPECT_EQ(run.param_bytes(), before) << "skipped step " << k << " changed the parameters";
            EXPECT_EQ(run.master(2), master_before) << "skipped step " << k << " changed the master weights";
        } else {
            EXPECT_FALSE(run.step());
        }
        if (k == 5) {
            run.expect_matches_reference();
        }
    }
    run.expect_matches_reference();
    EXPECT_EQ(run.ref_step(), options.grad_scaling ? 20 : 22);
}

/* Creating over the given tensors fails with `status` and a message containing `field`. */
inline void expect_create_fails(const fopt_options &o, const fopt_tensor &t, fopt_status status, const char *field)
{
    fopt_optimizer *opt = nullptr;
    EXPECT_EQ(fopt_create(&opt, &o, &t, 1), status) << field;
    EXPECT_EQ(opt, nullptr);
    EXPECT_NE(std::string(fopt_last_error(nullptr)).find(field), std::string::npos) << fopt_last_error(nullptr);
}

} // namespace fopt_precision

#endif /* FOPT_TESTS_PRECISION_COMMON_H */
