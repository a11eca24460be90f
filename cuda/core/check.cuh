// Every CUDA call is checked; a failure becomes std::runtime_error carrying CUDA's own message.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#define SYMBREAK_CUDA_CHECK(expr)                                                                       \
    do {                                                                                                \
        const cudaError_t symbreak_err_ = (expr);                                                       \
        if (symbreak_err_ != cudaSuccess)                                                               \
            throw std::runtime_error(std::string(#expr) + ": " + cudaGetErrorString(symbreak_err_) +    \
                                     " at " + __FILE__ + ":" + std::to_string(__LINE__));              \
    } while (0)

// After a launch: configuration errors now, asynchronous faults at the next synchronising call.
#define SYMBREAK_CUDA_CHECK_LAUNCH() SYMBREAK_CUDA_CHECK(cudaGetLastError())

namespace symbreak::cuda {

// Selects device_id for the scope, restoring the caller's device on exit.
class DeviceGuard {
public:
    explicit DeviceGuard(int device_id)
    {
        SYMBREAK_CUDA_CHECK(cudaGetDevice(&previous_));
        if (previous_ != device_id) SYMBREAK_CUDA_CHECK(cudaSetDevice(device_id));
    }
    ~DeviceGuard() { cudaSetDevice(previous_); }
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;

private:
    int previous_ = 0;
};

inline cudaStream_t as_stream(std::uintptr_t stream) { return reinterpret_cast<cudaStream_t>(stream); }

}  // namespace symbreak::cuda
