/* Shared pieces of the harness's own tests. */
#ifndef FOPT_EMU_TEST_UTIL_H
#define FOPT_EMU_TEST_UTIL_H

#include <gtest/gtest.h>

#include <vector>

#include "cuda_runtime.h"

/* Restores the harness defaults and checks every test frees what it allocates. */
class EmuTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        fopt_emu_set_block_order(0);
        fopt_emu_set_sm_count(0);
        fopt_emu_set_device_count(1);
        fopt_emu_reset_counters();
        (void)cudaGetLastError();
        live_before_ = fopt_emu_live_allocations();
    }
    void TearDown() override
    {
        fopt_emu_set_block_order(0);
        fopt_emu_set_device_count(1);
        EXPECT_EQ(fopt_emu_live_allocations(), live_before_) << "leaked cudaMalloc memory";
    }

private:
    size_t live_before_ = 0;
};

/* A cudaMalloc'ed array filled from / read back into host vectors. */
template <class T> class DeviceBuffer {
public:
    explicit DeviceBuffer(size_t n) : n_(n)
    {
        EXPECT_EQ(cudaMalloc(reinterpret_cast<void **>(&p_), n * sizeof(T)), cudaSuccess);
    }
    explicit DeviceBuffer(const std::vector<T> &host) : DeviceBuffer(host.size())
    {
        EXPECT_EQ(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice),
                  cudaSuccess);
    }
    ~DeviceBuffer() { EXPECT_EQ(cudaFree(p_), cudaSuccess); }
    DeviceBuffer(const DeviceBuffer &) = delete;
    DeviceBuffer &operator=(const DeviceBuffer &) = delete;

    T *get() const { return p_; }
    std::vector<T> read() const
    {
        std::vector<T> host(n_);
        EXPECT_EQ(cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost),
                  cudaSuccess);
        return host;
    }

private:
    size_t n_;
    T *p_ = nullptr;
};

#endif
