// Reader for the PyTorch golden fixtures in tests/golden/ (format described in
// tests/golden/make_golden.py). Header-only: a token stream plus two loaders.
// A malformed fixture throws std::runtime_error naming the file and token.
#ifndef FOPT_TESTS_GOLDEN_FIXTURE_H
#define FOPT_TESTS_GOLDEN_FIXTURE_H

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fusedopt.h"

namespace golden {

class Tokens {
public:
    explicit Tokens(const std::string &path) : path_(path), in_(path)
    {
        if (!in_) {
            throw std::runtime_error("cannot open golden fixture " + path);
        }
    }

    // The next token, skipping '#' comment lines; "" at end of file.
    std::string next()
    {
        std::string t;
        while (in_ >> t) {
            if (t[0] != '#') {
                return t;
            }
            std::getline(in_, t);
        }
        return "";
    }

    std::string peek()
    {
        if (peeked_.empty()) {
            peeked_ = next();
        }
        return peeked_;
    }

    std::string take()
    {
        std::string t = peeked_.empty() ? next() : peeked_;
        peeked_.clear();
        return t;
    }

    void expect(const std::string &key)
    {
        std::string t = take();
        if (t != key) {
            fail("expected '" + key + "', found '" + t + "'");
        }
    }

    double number()
    {
        std::string t = take();
        char *end = nullptr;
        double v = std::strtod(t.c_str(), &end);
        if (t.empty() || *end != '\0') {
            fail("expected a number, found '" + t + "'");
        }
        return v;
    }

    int64_t integer() { return (int64_t)number(); }

    double field(const char *key) { expect(key); return number(); }
    int64_t int_field(const char *key) { expect(key); return integer(); }

    std::vector<double> numbers(size_t count)
    {
        std::vector<double> v(count);
        for (double &x : v) {
            x = number();
        }
        return v;
    }

    [[noreturn]] void fail(const std::string &what) const
    {
        throw std::runtime_error("golden fixture " + path_ + ": " + what);
    }

private:
    std::string path_;
    std::ifstream in_;
    std::string peeked_;
};

inline std::string path(const char *file)
{
    return std::string(FOPT_SOURCE_DIR) + "/tests/golden/" + file;
}

struct ScheduleCase {
    std::string name;
    fopt_schedule schedule;
    std::vector<double> lr; // lr[t]: PyTorch's lr after t scheduler.step() calls
};

// gtest prints a case by its name (not as raw bytes).
inline void PrintTo(const ScheduleCase &c, std::ostream *os)
{
    *os << c.name;
}

// kind base_lr eta_min t_max, the part of a schedule both fixtures share.
inline void read_cosine_part(Tokens &in, fopt_schedule &s)
{
    s.kind = (fopt_schedule_kind)in.int_field("kind");
    s.base_lr = in.field("base_lr");
    s.eta_min = in.field("eta_min");
    s.t_max = in.int_field("t_max");
}

inline std::vector<ScheduleCase> load_schedules()
{
    Tokens in(path("schedules.txt"));
    std::vector<ScheduleCase> cases;
    while (in.peek() == "schedule") {
        in.take();
        ScheduleCase c;
        c.name = in.take();
        c.schedule = fopt_default_schedule();
        fopt_schedule &s = c.schedule;
        read_cosine_part(in, s);
        s.t_0 = in.int_field("t_0");
        s.t_mult = in.int_field("t_mult");
        s.restart_decay = in.field("restart_decay");
        s.warmup_steps = in.int_field("warmup_steps");
        s.warmup_start_factor = in.field("warmup_start_factor");
        s.step_size = in.int_field("step_size");
        s.gamma = in.field("gamma");
        int64_t epochs = in.int_field("epochs");
        in.expect("lr");
        c.lr = in.numbers((size_t)epochs + 1);
        cases.push_back(c);
    }
    if (!in.take().empty()) {
        in.fail("trailing data after the last schedule");
    }
    return cases;
}

struct Step {
    double lr;                 // the lr PyTorch used for this step
    std::vector<double> param; // all tensors' params after the step
};

struct Inputs {
    std::vector<size_t> numel;             // elements per tensor
    std::vector<double> init;              // initial params, tensors concatenated
    std::vector<std::vector<double>> grad; // grad[k - 1]: gradient fed at step k
    size_t total() const { return init.size(); }
};

struct TrajectoryCase {
    std::string name;
    // backend left at AUTO, steps_per_epoch 0: callers set them. With parameter
    // groups, options.tensor_weight_decay and tensor_base_lr point into the
    // vectors below (a moved case keeps them valid: a vector's buffer moves
    // with it).
    fopt_options options;
    std::vector<double> tensor_weight_decay; // empty: weight_decay for all tensors
    std::vector<double> tensor_base_lr;      // empty: schedule.base_lr for all tensors
    std::vector<Step> steps;
};

struct Trajectories {
    Inputs inputs;
    std::vector<TrajectoryCase> cases;
};

inline Inputs read_inputs(Tokens &in)
{
    Inputs x;
    size_t tensors = (size_t)in.int_field("tensors");
    in.expect("numel");
    size_t total = 0;
    for (size_t t = 0; t < tensors; t++) {
        x.numel.push_back((size_t)in.integer());
        total += x.numel.back();
    }
    int64_t steps = in.int_field("steps");
    in.expect("init");
    x.init = in.numbers(total);
    for (int64_t k = 1; k <= steps; k++) {
        if (in.int_field("grad") != k) {
            in.fail("gradients out of order");
        }
        x.grad.push_back(in.numbers(total));
    }
    return x;
}

inline TrajectoryCase read_trajectory(Tokens &in, const Inputs &x)
{
    TrajectoryCase c;
    c.name = in.take();
    fopt_options &o = c.options;
    o = fopt_default_options((fopt_algorithm)in.int_field("algorithm"));
    o.weight_decay = in.field("weight_decay");
    o.maximize = (int)in.int_field("maximize");
    o.momentum = in.field("momentum");
    o.dampening = in.field("dampening");
    o.nesterov = (int)in.int_field("nesterov");
    o.beta1 = in.field("beta1");
    o.beta2 = in.field("beta2");
    o.eps = in.field("eps");
    o.amsgrad = (int)in.int_field("amsgrad");
    o.lr_decay = in.field("lr_decay");
    o.initial_accumulator_value = in.field("initial_accumulator_value");
    o.alpha = in.field("alpha");
    o.centered = (int)in.int_field("centered");
    if (in.peek() == "tensor_weight_decay") {
        in.take();
        c.tensor_weight_decay = in.numbers(x.numel.size());
        o.tensor_weight_decay = c.tensor_weight_decay.data();
    }
    if (in.peek() == "tensor_base_lr") {
        in.take();
        c.tensor_base_lr = in.numbers(x.numel.size());
        o.tensor_base_lr = c.tensor_base_lr.data();
    }
    read_cosine_part(in, o.schedule);
    for (size_t k = 1; k <= x.grad.size(); k++) {
        if ((size_t)in.int_field("step") != k) {
            in.fail(c.name + ": steps out of order");
        }
        Step s;
        s.lr = in.field("lr");
        in.expect("param");
        s.param = in.numbers(x.total());
        c.steps.push_back(s);
    }
    return c;
}

inline Trajectories load_trajectories()
{
    Tokens in(path("optimizers.txt"));
    Trajectories all;
    all.inputs = read_inputs(in);
    while (in.peek() == "trajectory") {
        in.take();
        all.cases.push_back(read_trajectory(in, all.inputs));
    }
    if (!in.take().empty()) {
        in.fail("trailing data after the last trajectory");
    }
    return all;
}

// |a - b| <= atol + rtol * |ref|, the comparison used throughout the tests.
inline bool close(double value, double ref, double rtol, double atol)
{
    return std::abs(value - ref) <= atol + rtol * std::abs(ref);
}

} // namespace golden

#endif // FOPT_TESTS_GOLDEN_FIXTURE_H
