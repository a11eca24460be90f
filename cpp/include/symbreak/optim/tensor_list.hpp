// The tensors of one optimizer on one device, as raw pointers (no torch headers), and the element types.
// Each parameter and gradient has its own dtype; momenta are always float32 (math is float32 throughout).
#pragma once
#include <cstdint>
#include <cstring>

#include "symbreak/core/hd.hpp"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace symbreak {

enum class DType : int { float32 = 0, bfloat16 = 1, float16 = 2 };

struct TensorList {
    int count = 0;
    void* const* params = nullptr;
    const DType* param_dtype = nullptr;
    const void* const* grads = nullptr;
    const DType* grad_dtype = nullptr;
    float* const* momenta = nullptr;
    const std::int64_t* numel = nullptr;
    const std::int64_t* offset = nullptr;       // global index of each tensor's first element (noise counter)
    const float* weight_decay = nullptr;        // per tensor, from its param group
};

SYMBREAK_HD float bf16_to_float(std::uint16_t b)
{
    const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even, NaN kept NaN.
SYMBREAK_HD std::uint16_t float_to_bf16(float f)
{
    std::uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>(bits >> 16);
}

SYMBREAK_HD float half_to_float(std::uint16_t h)
{
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(h));
#else
    _Float16 x;
    memcpy(&x, &h, 2);
    return static_cast<float>(x);
#endif
}

SYMBREAK_HD std::uint16_t float_to_half(float f)
{
#if defined(__CUDA_ARCH__)
    return __half_as_ushort(__float2half_rn(f));
#else
    const _Float16 x = static_cast<_Float16>(f);
    std::uint16_t h;
    memcpy(&h, &x, 2);
    return h;
#endif
}

template <DType T>
SYMBREAK_HD float load_as_float(const void* base, std::int64_t i)
{
    if constexpr (T == DType::float32) return static_cast<const float*>(base)[i];
    else if constexpr (T == DType::bfloat16) return bf16_to_float(static_cast<const std::uint16_t*>(base)[i]);
    else return half_to_float(static_cast<const std::uint16_t*>(base)[i]);
}

template <DType T>
SYMBREAK_HD void store_from_float(void* base, std::int64_t i, float v)
{
    if constexpr (T == DType::float32) static_cast<float*>(base)[i] = v;
    else if constexpr (T == DType::bfloat16) static_cast<std::uint16_t*>(base)[i] = float_to_bf16(v);
    else static_cast<std::uint16_t*>(base)[i] = float_to_half(v);
}

SYMBREAK_HD float load_as_float(DType t, const void* base, std::int64_t i)
{
    switch (t) {
    case DType::bfloat16: return load_as_float<DType::bfloat16>(base, i);
    case DType::float16: return load_as_float<DType::float16>(base, i);
    default: return load_as_float<DType::float32>(base, i);
    }
}

SYMBREAK_HD void store_from_float(DType t, void* base, std::int64_t i, float v)
{
    switch (t) {
    case DType::bfloat16: store_from_float<DType::bfloat16>(base, i, v); break;
    case DType::float16: store_from_float<DType::float16>(base, i, v); break;
    default: store_from_float<DType::float32>(base, i, v); break;
    }
}

}  // namespace symbreak
