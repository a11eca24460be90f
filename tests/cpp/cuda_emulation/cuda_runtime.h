// Stand-in for the CUDA runtime calls the kernels in cuda/ make, on host memory (see emulation.hpp). Launches and
// copies run at once, so streams are only carried along.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstring>

enum cudaError_t { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount };
typedef struct CUstream_st* cudaStream_t;

// Few multiprocessors, so the grid-stride loops of kernels sized by them run more than once in the tests.
constexpr int kEmulatedMultiprocessors = 2;

inline const char* cudaGetErrorString(cudaError_t) { return "emulated"; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* device)
{
    *device = 0;
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr, int)
{
    *value = kEmulatedMultiprocessors;
    return cudaSuccess;
}
// Fresh memory holds garbage, as on a GPU.
template <class T>
cudaError_t cudaMallocAsync(T** ptr, std::size_t bytes, cudaStream_t)
{
    *ptr = static_cast<T*>(std::malloc(bytes));
    if (!*ptr) return cudaErrorMemoryAllocation;
    std::memset(*ptr, 0xA5, bytes);
    return cudaSuccess;
}
inline cudaError_t cudaFreeAsync(void* ptr, cudaStream_t)
{
    std::free(ptr);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind)
{
    std::memcpy(dst, src, bytes);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t)
{
    return cudaMemcpy(dst, src, bytes, kind);
}
inline cudaError_t cudaMemset(void* dst, int value, std::size_t bytes)
{
    std::memset(dst, value, bytes);
    return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t)
{
    return cudaMemset(dst, value, bytes);
}
