/*
 * Helpers of the checkpoint tests (CPU and device): temporary directories,
 * whole-file reads and writes, the optimizer configurations, a snapshot of
 * an optimizer's state and counters, and edits of checkpoint bytes that keep
 * the checksums valid (so a test reaches the check it means to reach).
 */
#ifndef FOPT_TESTS_CHECKPOINT_UTIL_H
#define FOPT_TESTS_CHECKPOINT_UTIL_H

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fusedopt.h"
extern "C" {
#include "checkpoint_format.h"
#include "internal.h"
}

namespace fopt_ckpt_test {

using Bytes = std::vector<unsigned char>;

/* A fresh directory under /tmp, removed (with its files) at the end. */
class TempDir {
public:
    TempDir()
    {
        char pattern[] = "/tmp/fopt_ckpt_XXXXXX";
        const char *made = mkdtemp(pattern);
        EXPECT_NE(made, nullptr);
        path_ = made ? made : "/tmp";
    }
    ~TempDir()
    {
        for (const std::string &name : entries()) {
            (void)unlink((path_ + "/" + name).c_str());
        }
        (void)rmdir(path_.c_str());
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    std::string file(const std::string &name) const { return path_ + "/" + name; }
    const std::string &path() const { return path_; }
    /* Names of the files in the directory (no . and ..). */
    std::vector<std::string> entries() const
    {
        std::vector<std::string> names;
        if (DIR *d = opendir(path_.c_str())) {
            while (struct dirent *e = readdir(d)) {
                std::string n = e->d_name;
                if (n != "." && n != "..") {
                    names.push_back(n);
                }
            }
            closedir(d);
        }
        return names;
    }

private:
    std::string path_;
};

inline Bytes read_bytes(const std::string &path)
{
    Bytes b;
    if (FILE *f = std::fopen(path.c_str(), "rb")) {
        int c;
        while ((c = std::fgetc(f)) != EOF) {
            b.push_back(static_cast<unsigned char>(c));
        }
        std::fclose(f);
    }
    return b;
}

inline void write_bytes(const std::string &path, const Bytes &b)
{
    FILE *f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    ASSERT_TRUE(b.empty() || std::fwrite(b.data(), 1, b.size(), f) == b.size());
    ASSERT_EQ(std::fclose(f), 0);
}

/* Recomputes the payload CRC of the section at `section_offset` and the file CRC. */
inline void fix_crcs(Bytes &b, size_t section_offset)
{
    const uint64_t len = fopt_get_u64(&b[section_offset + 8]);
    unsigned char *payload = &b[section_offset + 16];
    fopt_put_u32(payload + len, fopt_crc32(0, payload, len));
    fopt_put_u32(&b[b.size() - 4], fopt_crc32(0, b.data(), b.size() - 4));
}

/* Offset of the section with `tag` (walking the framing), or 0. */
inline size_t section_offset(const Bytes &b, const char *tag)
{
    size_t pos = FOPT_CKPT_HEADER_BYTES;
    while (pos + 16 <= b.size()) {
        if (std::memcmp(&b[pos], tag, 4) == 0) {
            return pos;
        }
        pos += FOPT_CKPT_SECTION_BYTES + fopt_get_u64(&b[pos + 8]);
    }
    return 0;
}

/* Everything a load may change: counters, last lr, loss scale, every state array. */
struct Snapshot {
    int64_t step = -1, epoch = -1;
    double last_lr = -1;
    double scale = 1;
    int64_t growth_tracker = 0;
    std::vector<std::vector<float>> state; /* [array * num_tensors + tensor] */
    bool operator==(const Snapshot &o) const
    {
        if (step != o.step || epoch != o.epoch || std::memcmp(&last_lr, &o.last_lr, sizeof last_lr) != 0 ||
            scale != o.scale || growth_tracker != o.growth_tracker || state.size() != o.state.size()) {
            return false;
        }
        for (size_t i = 0; i < state.size(); i++) { /* bitwise: NaN state compares equal to itself */
            if (state[i].size() != o.state[i].size() ||
                (!state[i].empty() &&
                 std::memcmp(state[i].data(), o.state[i].data(), state[i].size() * sizeof(float)) != 0)) {
                return false;
            }
        }
        return true;
    }
};

inline Snapshot snapshot(fopt_optimizer *opt)
{
    Snapshot s;
    EXPECT_EQ(opt->ops->read_counters(opt, &s.step, &s.epoch, &s.last_lr), FOPT_SUCCESS);
    if (opt->options.grad_scaling) {
        EXPECT_EQ(opt->ops->read_scaler(opt, &s.scale, &s.growth_tracker), FOPT_SUCCESS);
    }
    for (int a = 0; a < fopt_state_arrays(&opt->options); a++) {
        for (size_t t = 0; t < opt->num_tensors; t++) {
            std::vector<float> v(opt->tensors[t].numel);
            EXPECT_EQ(opt->ops->copy_state(opt, a, t, v.data(), 1), FOPT_SUCCESS);
            s.state.push_back(v);
        }
    }
    return s;
}

/* Warmup-cosine over 20 epochs (5 of warmup), one epoch per step. */
inline fopt_options config(fopt_algorithm algorithm)
{
    fopt_options o = fopt_default_options(algorithm);
    o.backend = FOPT_BACKEND_CPU;
    o.schedule.kind = FOPT_SCHEDULE_WARMUP_COSINE;
    o.schedule.base_lr = 0.05;
    o.schedule.eta_min = 0.001;
    o.schedule.t_max = 20;
    o.schedule.warmup_steps = 5;
    o.steps_per_epoch = 1;
    if (algorithm == FOPT_SGD) {
        o.momentum = 0.9;
        o.dampening = 0.1;
        o.weight_decay = 1e-3;
    } else if (algorithm == FOPT_ADAM) {
        o.amsgrad = 1;
        o.weight_decay = 1e-3;
    } else if (algorithm == FOPT_ADAGRAD) {
        o.lr_decay = 0.01;
        o.initial_accumulator_value = 0.1;
        o.weight_decay = 1e-3;
    } else if (algorithm == FOPT_RMSPROP) {
        o.momentum = 0.9; /* all three state arrays */
        o.centered = 1;
        o.weight_decay = 1e-3;
    }
    return o;
}

/* Tensor sizes with an empty tensor and sizes that are not multiples of 4. */
inline std::vector<size_t> sizes() { return {5, 17, 0, 64, 3}; }

/* The gradient of element i at optimizer step k (deterministic, sign-varying). */
inline float grad_value(int k, size_t tensor, size_t i)
{
    return static_cast<float>(std::sin(0.37 * k + 0.11 * static_cast<double>(i) + 1.3 * tensor)) * 0.5f;
}

inline float param_value(size_t tensor, size_t i)
{
    return static_cast<float>(std::cos(0.05 * static_cast<double>(i) + tensor)) + 0.25f;
}

}  // namespace fopt_ckpt_test

#endif
