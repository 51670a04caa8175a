/*
 * Device memory for the mixed-precision tests (precision_common.h's Buffer):
 * `bytes` starting `shift` bytes after a cudaMalloc (256-byte aligned) base.
 */
#ifndef FOPT_TESTS_PRECISION_DEVICE_H
#define FOPT_TESTS_PRECISION_DEVICE_H

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <vector>

namespace fopt_precision {

class DeviceBytes {
public:
    DeviceBytes(size_t bytes, size_t shift) : bytes_(bytes)
    {
        EXPECT_EQ(cudaMalloc(&base_, bytes + shift + 16), cudaSuccess);
        ptr_ = static_cast<unsigned char *>(base_) + shift;
    }
    ~DeviceBytes() { (void)cudaFree(base_); }
    DeviceBytes(const DeviceBytes &) = delete;
    DeviceBytes &operator=(const DeviceBytes &) = delete;

    void *get() const { return ptr_; }
    void upload(const std::vector<unsigned char> &host) const
    {
        ASSERT_EQ(cudaMemcpy(ptr_, host.data(), bytes_, cudaMemcpyHostToDevice), cudaSuccess);
    }
    std::vector<unsigned char> download() const
    {
        std::vector<unsigned char> host(bytes_);
        EXPECT_EQ(cudaMemcpy(host.data(), ptr_, bytes_, cudaMemcpyDeviceToHost), cudaSuccess);
        return host;
    }

private:
    void *base_ = nullptr;
    unsigned char *ptr_ = nullptr;
    size_t bytes_;
};

} // namespace fopt_precision

#endif /* FOPT_TESTS_PRECISION_DEVICE_H */
