// The optimizer handle on the CPU backend: validation, counters, epochs.
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "fusedopt.h"

namespace {

struct HostTensors {
    std::vector<float> param, grad;
    fopt_tensor tensor{};
    explicit HostTensors(size_t n) : param(n, 1.0f), grad(n, 0.5f)
    {
        tensor.param = param.data();
        tensor.grad = grad.data();
        tensor.numel = n;
    }
};

fopt_options cosine_adamw()
{
    fopt_options o = fopt_default_options(FOPT_ADAMW);
    o.schedule.kind = FOPT_SCHEDULE_COSINE;
    o.schedule.base_lr = 0.1;
    o.schedule.eta_min = 0.01;
    o.schedule.t_max = 5;
    return o;
}

TEST(Optimizer, DefaultsArePyTorchs)
{
    fopt_options sgd = fopt_default_options(FOPT_SGD);
    EXPECT_EQ(sgd.schedule.base_lr, 1e-3);
    EXPECT_EQ(sgd.momentum, 0.0);
    fopt_options adam = fopt_default_options(FOPT_ADAM);
    EXPECT_EQ(adam.beta1, 0.9);
    EXPECT_EQ(adam.beta2, 0.999);
    EXPECT_EQ(adam.eps, 1e-8);
    EXPECT_EQ(adam.weight_decay, 0.0);
    EXPECT_EQ(fopt_default_options(FOPT_ADAMW).weight_decay, 1e-2);
    fopt_options adagrad = fopt_default_options(FOPT_ADAGRAD); /* torch.optim.Adagrad */
    EXPECT_EQ(adagrad.schedule.base_lr, 1e-2);
    EXPECT_EQ(adagrad.eps, 1e-10);
    EXPECT_EQ(adagrad.lr_decay, 0.0);
    EXPECT_EQ(adagrad.initial_accumulator_value, 0.0);
    EXPECT_EQ(adagrad.weight_decay, 0.0);
    fopt_options rmsprop = fopt_default_options(FOPT_RMSPROP); /* torch.optim.RMSprop */
    EXPECT_EQ(rmsprop.schedule.base_lr, 1e-2);
    EXPECT_EQ(rmsprop.alpha, 0.99);
    EXPECT_EQ(rmsprop.eps, 1e-8);
    EXPECT_EQ(rmsprop.momentum, 0.0);
    EXPECT_EQ(rmsprop.centered, 0);
    EXPECT_EQ(fopt_version(), FOPT_VERSION);
}

TEST(Optimizer, CountersAndLrFollowTheEpoch)
{
    HostTensors t(3);
    fopt_options o = cosine_adamw();
    o.steps_per_epoch = 2;
    fopt_optimizer *opt = nullptr;
    ASSERT_EQ(fopt_create(&opt, &o, &t.tensor, 1), FOPT_SUCCESS) << fopt_last_error(nullptr);
    fopt_backend backend;
    ASSERT_EQ(fopt_get_backend(opt, &backend), FOPT_SUCCESS);
    EXPECT_EQ(backend, FOPT_BACKEND_CPU);
    double lr = 0;
    ASSERT_EQ(fopt_get_last_lr(opt, &lr), FOPT_SUCCESS);
    EXPECT_DOUBLE_EQ(lr, 0.1);
    for (int k = 1; k <= 6; k++) {
        ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS);
        int64_t step = -1, epoch = -1;
        ASSERT_EQ(fopt_get_counters(opt, &step, &epoch), FOPT_SUCCESS);
        EXPECT_EQ(step, k);
        EXPECT_EQ(epoch, k / 2);
        double expected = 0;
        ASSERT_EQ(fopt_schedule_lr(&o.schedule, (k - 1) / 2, &expected), FOPT_SUCCESS);
        ASSERT_EQ(fopt_get_last_lr(opt, &lr), FOPT_SUCCESS);
        EXPECT_DOUBLE_EQ(lr, expected) << "step " << k;
    }
    ASSERT_EQ(fopt_scheduler_step(opt), FOPT_SUCCESS);
    ASSERT_EQ(fopt_set_epoch(opt, 40), FOPT_SUCCESS);
    ASSERT_EQ(fopt_step(opt), FOPT_SUCCESS);
    double expected = 0;
    ASSERT_EQ(fopt_schedule_lr(&o.schedule, 40, &expected), FOPT_SUCCESS);
    ASSERT_EQ(fopt_get_last_lr(opt, &lr), FOPT_SUCCESS);
    EXPECT_DOUBLE_EQ(lr, expected);
    int64_t epoch = 0;
    ASSERT_EQ(fopt_get_counters(opt, nullptr, &epoch), FOPT_SUCCESS);
    EXPECT_EQ(epoch, 40);
    fopt_destroy(opt);
    fopt_destroy(nullptr);
}

TEST(Optimizer, EmptyTensorAmongOthersIsAccepted)
{
    HostTensors a(0), b(4);
    fopt_tensor tensors[2] = {a.tensor, b.tensor};
    tensors[0].param = nullptr;
    tensors[0].grad = nullptr;
    fopt_options o = cosine_adamw();
    fopt_optimizer *opt = nullptr;
    ASSERT_EQ(fopt_create(&opt, &o, tensors, 2), FOPT_SUCCESS) << fopt_last_error(nullptr);
    EXPECT_EQ(fopt_step(opt), FOPT_SUCCESS);
    EXPECT_NE(b.param[0], 1.0f);
    fopt_destroy(opt);
}

struct BadCreate {
    const char *what;
    void (*mutate)(fopt_options *, fopt_tensor *);
    fopt_status expected;
    const char *message_mentions;
};

TEST(Optimizer, CreateRejectsBadOptionsAndTensors)
{
    const BadCreate cases[] = {
        {"nan lr", [](fopt_options *o, fopt_tensor *) { o->schedule.base_lr = NAN; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "base_lr"},
        {"negative lr", [](fopt_options *o, fopt_tensor *) { o->schedule.base_lr = -0.1; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "base_lr"},
        {"beta1 = 1", [](fopt_options *o, fopt_tensor *) { o->beta1 = 1.0; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "beta1"},
        {"beta2 < 0", [](fopt_options *o, fopt_tensor *) { o->beta2 = -0.5; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "beta2"},
        {"eps < 0", [](fopt_options *o, fopt_tensor *) { o->eps = -1e-8; }, FOPT_ERROR_INVALID_HYPERPARAMETER, "eps"},
        {"weight decay inf", [](fopt_options *o, fopt_tensor *) { o->weight_decay = INFINITY; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "weight_decay"},
        {"t_max 0", [](fopt_options *o, fopt_tensor *) { o->schedule.t_max = 0; }, FOPT_ERROR_INVALID_SCHEDULE,
         "t_max"},
        {"algorithm", [](fopt_options *o, fopt_tensor *) { o->algorithm = (fopt_algorithm)9; },
         FOPT_ERROR_INVALID_ENUM, "algorithm"},
        {"backend", [](fopt_options *o, fopt_tensor *) { o->backend = (fopt_backend)9; }, FOPT_ERROR_INVALID_ENUM,
         "backend"},
        {"steps_per_epoch", [](fopt_options *o, fopt_tensor *) { o->steps_per_epoch = -1; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "steps_per_epoch"},
        {"nesterov without momentum",
         [](fopt_options *o, fopt_tensor *) { o->algorithm = FOPT_SGD; o->nesterov = 1; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "nesterov"},
        {"nesterov with dampening",
         [](fopt_options *o, fopt_tensor *) { o->algorithm = FOPT_SGD; o->nesterov = 1; o->momentum = 0.9;
                                              o->dampening = 0.1; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "nesterov"},
        {"negative momentum", [](fopt_options *o, fopt_tensor *) { o->algorithm = FOPT_SGD; o->momentum = -1; },
         FOPT_ERROR_INVALID_HYPERPARAMETER, "momentum"},
        {"null param", [](fopt_options *, fopt_tensor *t) { t->param = nullptr; }, FOPT_ERROR_NULL_POINTER,
         "param"},
        {"null grad", [](fopt_options *, fopt_tensor *t) { t->grad = nullptr; }, FOPT_ERROR_NULL_POINTER, "grad"},
        {"size overflow", [](fopt_options *, fopt_tensor *t) { t->numel = SIZE_MAX; }, FOPT_ERROR_INVALID_SIZE,
         "overflow"},
    };
    for (const BadCreate &c : cases) {
        HostTensors t(4);
        fopt_options o = cosine_adamw();
        c.mutate(&o, &t.tensor);
        fopt_optimizer *opt = reinterpret_cast<fopt_optimizer *>(0x1);
        EXPECT_EQ(fopt_create(&opt, &o, &t.tensor, 1), c.expected) << c.what;
        EXPECT_EQ(opt, reinterpret_cast<fopt_optimizer *>(0x1)) << c.what << ": output touched";
        EXPECT_NE(std::strstr(fopt_last_error(nullptr), c.message_mentions), nullptr)
            << c.what << ": message '" << fopt_last_error(nullptr) << "'";
        EXPECT_EQ(t.param[0], 1.0f) << c.what;
    }
    HostTensors t(4);
    fopt_options o = cosine_adamw();
    fopt_optimizer *opt = nullptr;
    // Without a usable device the backend is unavailable; with one, host memory is the wrong kind.
    o.backend = FOPT_BACKEND_CUDA;
    fopt_status cuda_status = fopt_create(&opt, &o, &t.tensor, 1);
    EXPECT_TRUE(cuda_status == FOPT_ERROR_BACKEND_UNAVAILABLE || cuda_status == FOPT_ERROR_INVALID_POINTER)
        << fopt_status_string(cuda_status);
    EXPECT_NE(std::strstr(fopt_last_error(nullptr), "CUDA"), nullptr);
    EXPECT_EQ(opt, nullptr);
    o.backend = FOPT_BACKEND_AUTO;
    EXPECT_EQ(fopt_create(nullptr, &o, &t.tensor, 1), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_create(&opt, nullptr, &t.tensor, 1), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_create(&opt, &o, nullptr, 1), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_create(&opt, &o, &t.tensor, 0), FOPT_ERROR_INVALID_SIZE);
    EXPECT_EQ(opt, nullptr);
}

TEST(Optimizer, CallsOnHandleRejectBadArguments)
{
    HostTensors t(2);
    fopt_options o = cosine_adamw();
    fopt_optimizer *opt = nullptr;
    ASSERT_EQ(fopt_create(&opt, &o, &t.tensor, 1), FOPT_SUCCESS);
    EXPECT_EQ(fopt_step(nullptr), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_scheduler_step(nullptr), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_set_epoch(opt, -3), FOPT_ERROR_INVALID_HYPERPARAMETER);
    EXPECT_NE(std::strstr(fopt_last_error(opt), "epoch"), nullptr);
    EXPECT_EQ(fopt_get_last_lr(opt, nullptr), FOPT_ERROR_NULL_POINTER);
    EXPECT_EQ(fopt_get_backend(opt, nullptr), FOPT_ERROR_NULL_POINTER);
    int64_t epoch = -1;
    ASSERT_EQ(fopt_get_counters(opt, nullptr, &epoch), FOPT_SUCCESS);
    EXPECT_EQ(epoch, 0);
    EXPECT_STREQ(fopt_last_error(opt), "");
    fopt_destroy(opt);
}

TEST(Optimizer, StatusStringsNameEveryStatus)
{
    for (int s = FOPT_SUCCESS; s <= FOPT_ERROR_NOT_SUPPORTED; s++) {
        EXPECT_EQ(std::strncmp(fopt_status_string((fopt_status)s), "FOPT_", 5), 0) << s;
    }
    EXPECT_STREQ(fopt_status_string((fopt_status)999), "unknown fopt_status");
}

} // namespace
