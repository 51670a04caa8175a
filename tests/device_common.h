/*
 * Shared helpers of the device tests (tests/device_*.cpp): device buffers,
 * the optimizer configurations, and a run that drives the CUDA backend
 * through the public API next to the CPU reference (double precision) and
 * compares the parameters.
 *
 * Tolerance: |device - reference| <= atol + rtol * |reference|. The kernel
 * computes in fp32, the reference in double, so every step adds a few fp32
 * roundings (relative 2^-24 ~ 6e-8 each) to a parameter of magnitude ~1 and
 * to the state that later steps reuse. Over the <= 20 steps these runs take
 * that stays below ~20 * 10 * 6e-8 ~ 1.2e-5 relative; kDefaultRtol = 2e-5
 * covers it, kDefaultAtol = 2e-6 covers parameters near 0. A wrong element
 * (missed tail, wrong index, wrong step or lr) is off by ~lr * |update| >= 1e-4.
 */
#ifndef FOPT_TESTS_DEVICE_COMMON_H
#define FOPT_TESTS_DEVICE_COMMON_H

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "fusedopt.h"
#include "reference.h"
#include "reference_run.h"

namespace fopt_test {

constexpr double kDefaultAtol = 2e-6;
constexpr double kDefaultRtol = 2e-5;

inline bool device_present()
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
    }
    return count > 0;
}

#define FOPT_REQUIRE_DEVICE()                                                          \
    do {                                                                               \
        if (!fopt_test::device_present()) {                                            \
            GTEST_SKIP() << "no CUDA device: cudaGetDeviceCount reports none";         \
        }                                                                              \
    } while (0)

/* `count` floats of device memory starting `shift` floats after a cudaMalloc
 * (256-byte aligned) base, so shift % 4 != 0 gives a misaligned pointer. */
class DeviceFloats {
public:
    DeviceFloats(size_t count, size_t shift) : count_(count)
    {
        EXPECT_EQ(cudaMalloc(&base_, (count + shift + 1) * sizeof(float)), cudaSuccess);
        ptr_ = static_cast<float *>(base_) + shift;
    }
    ~DeviceFloats() { (void)cudaFree(base_); }
    DeviceFloats(const DeviceFloats &) = delete;
    DeviceFloats &operator=(const DeviceFloats &) = delete;

    float *get() const { return ptr_; }
    void upload(const std::vector<float> &host) const
    {
        ASSERT_EQ(cudaMemcpy(ptr_, host.data(), count_ * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
    }
    std::vector<float> download() const
    {
        std::vector<float> host(count_);
        EXPECT_EQ(cudaMemcpy(host.data(), ptr_, count_ * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
        return host;
    }

private:
    void *base_ = nullptr;
    float *ptr_ = nullptr;
    size_t count_;
};

/* One tensor of a run: its size and how many floats param and grad are
 * shifted from a 16-byte boundary. */
struct TensorSpec {
    size_t numel;
    size_t param_shift;
    size_t grad_shift;
};

/* A named optimizer configuration. */
struct Config {
    std::string name;
    fopt_options options;
};

/* gtest prints a configuration by its name. */
inline void PrintTo(const Config &c, std::ostream *os)
{
    *os << c.name;
}

/* Cosine annealing (period 2 * t_max), the epoch advancing every 2 steps. */
inline fopt_options base_options(fopt_algorithm algorithm, double lr)
{
    fopt_options o = fopt_default_options(algorithm);
    o.backend = FOPT_BACKEND_CUDA;
    o.schedule.kind = FOPT_SCHEDULE_COSINE;
    o.schedule.base_lr = lr;
    o.schedule.eta_min = lr / 20;
    o.schedule.t_max = 3;
    o.steps_per_epoch = 2;
    return o;
}

/* Every algorithm with every option the kernels branch on. */
inline std::vector<Config> all_configs()
{
    std::vector<Config> c;
    auto sgd = [&](const char *name, double momentum, double dampening, int nesterov, double wd, int maximize) {
        fopt_options o = base_options(FOPT_SGD, 0.05);
        o.momentum = momentum;
        o.dampening = dampening;
        o.nesterov = nesterov;
        o.weight_decay = wd;
        o.maximize = maximize;
        c.push_back({name, o});
    };
    sgd("sgd", 0, 0, 0, 0, 0);
    sgd("sgd_wd_maximize", 0, 0, 0, 0.1, 1);
    sgd("sgd_momentum", 0.9, 0, 0, 0, 0);
    sgd("sgd_momentum_dampening_wd", 0.8, 0.3, 0, 0.05, 0);
    sgd("sgd_nesterov_wd", 0.9, 0, 1, 0.01, 0);
    sgd("sgd_nesterov_maximize", 0.7, 0, 1, 0, 1);
    auto adam = [&](const char *name, fopt_algorithm algorithm, double wd, int amsgrad, int maximize) {
        fopt_options o = base_options(algorithm, 0.01);
        o.weight_decay = wd;
        o.amsgrad = amsgrad;
        o.maximize = maximize;
        c.push_back({name, o});
    };
    adam("adam", FOPT_ADAM, 0, 0, 0);
    adam("adam_wd", FOPT_ADAM, 0.1, 0, 0);
    adam("adam_amsgrad_maximize", FOPT_ADAM, 0.05, 1, 1);
    adam("adamw", FOPT_ADAMW, 0.1, 0, 0);
    adam("adamw_amsgrad", FOPT_ADAMW, 0.01, 1, 0);
    adam("adamw_maximize", FOPT_ADAMW, 0.1, 0, 1);
    auto adagrad = [&](const char *name, double lr_decay, double wd, double initial, int maximize) {
        fopt_options o = base_options(FOPT_ADAGRAD, 0.05);
        o.lr_decay = lr_decay;
        o.weight_decay = wd;
        o.initial_accumulator_value = initial;
        o.maximize = maximize;
        c.push_back({name, o});
    };
    adagrad("adagrad", 0, 0, 0, 0);
    adagrad("adagrad_decay_wd_initial_maximize", 0.05, 0.1, 0.1, 1);
    auto rmsprop = [&](const char *name, double momentum, int centered, double wd, int maximize) {
        fopt_options o = base_options(FOPT_RMSPROP, 0.01);
        o.momentum = momentum;
        o.centered = centered;
        o.weight_decay = wd;
        o.maximize = maximize;
        o.alpha = 0.9;
        c.push_back({name, o});
    };
    rmsprop("rmsprop", 0, 0, 0, 0);
    rmsprop("rmsprop_centered_wd", 0, 1, 0.05, 0);
    rmsprop("rmsprop_momentum_maximize", 0.9, 0, 0, 1);
    rmsprop("rmsprop_momentum_centered", 0.5, 1, 0.01, 0);
    return c;
}

/* Drives one optimizer on the CUDA backend and the CPU reference side by
 * side: same initial parameters, same fresh gradients every step. */
class DeviceRun {
public:
    DeviceRun(const fopt_options &options, std::vector<TensorSpec> specs, unsigned seed)
        : options_(options), specs_(std::move(specs)), rng_(seed)
    {
        std::vector<fopt_tensor> tensors;
        for (const TensorSpec &t : specs_) {
            params_.push_back(std::make_unique<DeviceFloats>(t.numel, t.param_shift));
            grads_.push_back(std::make_unique<DeviceFloats>(t.numel, t.grad_shift));
            std::vector<float> p = random_floats(t.numel);
            params_.back()->upload(p);
            ref_param_.emplace_back(p.begin(), p.end());
            for (int a = 0; a < 4; a++) {
                ref_state_[a].emplace_back(t.numel, fopt_reference_initial_state(&options_, a));
            }
            tensors.push_back({params_.back()->get(), grads_.back()->get(), t.numel});
        }
        status_ = fopt_create(&opt_, &options_, tensors.data(), tensors.size());
    }
    ~DeviceRun() { fopt_destroy(opt_); }

    fopt_status create_status() const { return status_; }
    fopt_optimizer *opt() const { return opt_; }
    int64_t ref_step() const { return step_; }
    int64_t ref_epoch() const { return epoch_; }

    /* Fresh gradients to the device and the reference, without stepping. */
    void new_gradients()
    {
        ref_grad_.clear();
        for (size_t i = 0; i < specs_.size(); i++) {
            std::vector<float> g = random_floats(specs_[i].numel);
            grads_[i]->upload(g);
            ref_grad_.emplace_back(g.begin(), g.end());
        }
    }

    /* The reference's step with the current gradients. */
    void reference_step()
    {
        double lr = 0;
        ASSERT_EQ(fopt_schedule_lr(&options_.schedule, epoch_, &lr), FOPT_SUCCESS);
        last_lr_ = lr;
        step_ += 1;
        for (size_t i = 0; i < specs_.size(); i++) {
            fopt_reference_state st = {ref_state_[0][i].data(), ref_state_[1][i].data(), ref_state_[2][i].data(),
                                       ref_state_[3][i].data()};
            const fopt_options tensor_options = fopt_reference_tensor_options(&options_, i);
            double tensor_lr = 0;
            ASSERT_EQ(fopt_schedule_lr(&tensor_options.schedule, epoch_, &tensor_lr), FOPT_SUCCESS);
            fopt_reference_step(&tensor_options, tensor_lr, step_, specs_[i].numel, ref_param_[i].data(),
                                ref_grad_[i].data(), &st);
        }
        if (options_.steps_per_epoch > 0 && step_ % options_.steps_per_epoch == 0) {
            epoch_ += 1;
        }
    }

    /* New gradients, then one step on both sides. */
    void step()
    {
        new_gradients();
        ASSERT_EQ(fopt_step(opt_), FOPT_SUCCESS) << fopt_last_error(opt_);
        reference_step();
    }

    void scheduler_step()
    {
        ASSERT_EQ(fopt_scheduler_step(opt_), FOPT_SUCCESS) << fopt_last_error(opt_);
        epoch_ += 1;
    }

    void set_epoch(int64_t epoch)
    {
        ASSERT_EQ(fopt_set_epoch(opt_, epoch), FOPT_SUCCESS) << fopt_last_error(opt_);
        epoch_ = epoch;
    }

    /* The lr the reference used in its most recent step. */
    double ref_last_lr() const { return last_lr_; }

    /* Every parameter within atol + rtol * |reference|; reports the first
     * few that are not, with tensor and element index. */
    void expect_params_close(double atol = kDefaultAtol, double rtol = kDefaultRtol) const
    {
        size_t bad = 0;
        double worst = 0;
        for (size_t i = 0; i < specs_.size(); i++) {
            std::vector<float> got = params_[i]->download();
            for (size_t j = 0; j < got.size(); j++) {
                const double want = ref_param_[i][j];
                const double err = std::fabs((double)got[j] - want);
                const double tol = atol + rtol * std::fabs(want);
                worst = std::fmax(worst, err / tol);
                if (!(err <= tol) && bad++ < 5) {
                    ADD_FAILURE() << "tensor " << i << " (numel " << specs_[i].numel << ") element " << j
                                  << ": device " << got[j] << ", reference " << want << ", |diff| " << err
                                  << " > " << tol;
                }
            }
        }
        EXPECT_EQ(bad, 0u) << "elements out of tolerance (worst error / tolerance " << worst << ")";
    }

private:
    std::vector<float> random_floats(size_t n) { return fopt_run::random_floats(rng_, n, 1.0f); }

    fopt_options options_;
    std::vector<TensorSpec> specs_;
    std::mt19937 rng_;
    std::vector<std::unique_ptr<DeviceFloats>> params_;
    std::vector<std::unique_ptr<DeviceFloats>> grads_;
    std::vector<std::vector<double>> ref_param_;
    std::vector<std::vector<double>> ref_grad_;
    std::vector<std::vector<double>> ref_state_[4];
    fopt_optimizer *opt_ = nullptr;
    fopt_status status_ = FOPT_SUCCESS;
    int64_t step_ = 0;
    int64_t epoch_ = 0;
    double last_lr_ = 0;
};

} // namespace fopt_test

#endif /* FOPT_TESTS_DEVICE_COMMON_H */
