// SYMBREAK_HD marks a function that runs on the host and, under nvcc, on the device.
// It is the only place where __host__ __device__ is spelled: every shared rule uses it.
#pragma once

#if defined(__CUDACC__)
#define SYMBREAK_HD __host__ __device__ __forceinline__
#else
#define SYMBREAK_HD inline
#endif
