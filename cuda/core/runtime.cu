// CUDA runtime helpers behind core/launch.hpp.
#include "check.cuh"
#include "symbreak/core/launch.hpp"

namespace symbreak::cuda {

bool compiled() { return true; }

int device_count(std::string* why)
{
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        cudaGetLastError();  // clear the sticky error so later calls see a clean state
        if (why) *why = cudaGetErrorString(err);
        return 0;
    }
    if (n == 0 && why) *why = "no CUDA device is visible";
    return n;
}

std::vector<std::string> device_names()
{
    std::vector<std::string> names;
    const int n = device_count(nullptr);
    for (int i = 0; i < n; ++i) {
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, i) == cudaSuccess)
            names.push_back(std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
                            std::to_string(prop.minor) + ", " +
                            std::to_string(prop.totalGlobalMem >> 20) + " MiB)");
    }
    return names;
}

void require_device(int device_id)
{
    std::string why;
    const int n = device_count(&why);
    if (n == 0) throw std::runtime_error("device='cuda' is unavailable: " + why);
    if (device_id < 0 || device_id >= n)
        throw std::invalid_argument("device index " + std::to_string(device_id) + " is out of range: " +
                                    std::to_string(n) + " CUDA device(s) visible");
}

void* malloc(std::size_t bytes, int device_id)
{
    DeviceGuard guard(device_id);
    void* ptr = nullptr;
    const cudaError_t err = cudaMalloc(&ptr, bytes);
    if (err != cudaSuccess) {
        cudaGetLastError();
        throw std::runtime_error("cudaMalloc of " + std::to_string(bytes) + " bytes failed: " +
                                 cudaGetErrorString(err));
    }
    return ptr;
}

void free(void* ptr, int device_id) noexcept
{
    int previous = 0;
    if (cudaGetDevice(&previous) != cudaSuccess) return;
    cudaSetDevice(device_id);
    cudaFree(ptr);
    cudaSetDevice(previous);
}

void copy_to_device(void* dst, const void* src, std::size_t bytes, int device_id)
{
    DeviceGuard guard(device_id);
    SYMBREAK_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copy_to_host(void* dst, const void* src, std::size_t bytes, int device_id)
{
    DeviceGuard guard(device_id);
    SYMBREAK_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void synchronize(int device_id)
{
    DeviceGuard guard(device_id);
    SYMBREAK_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace symbreak::cuda
