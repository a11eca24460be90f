// DLPack (v0.8 ABI, the "dltensor" capsule protocol) export of a symbreak Buffer, written from the public
// specification. The capsule holds a shared_ptr to the buffer, so the memory outlives the simulator for as
// long as the consumer (torch, cupy, numpy, jax) keeps the tensor.
#pragma once
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "symbreak/core/buffer.hpp"

namespace symbreak::bindings {

struct DLDevice {
    std::int32_t device_type;  // 1 = CPU, 2 = CUDA
    std::int32_t device_id;
};
struct DLDataType {
    std::uint8_t code;  // 0 = int, 1 = uint, 2 = float
    std::uint8_t bits;
    std::uint16_t lanes;
};
struct DLTensor {
    void* data;
    DLDevice device;
    std::int32_t ndim;
    DLDataType dtype;
    std::int64_t* shape;
    std::int64_t* strides;  // null: compact row-major
    std::uint64_t byte_offset;
};
struct DLManagedTensor {
    DLTensor dl_tensor;
    void* manager_ctx;
    void (*deleter)(DLManagedTensor* self);
};

// A capsule named "dltensor" viewing `buffer` as a C-contiguous array of `shape` and `dtype`.
pybind11::capsule to_dlpack(const std::shared_ptr<Buffer>& buffer, const std::vector<std::int64_t>& shape,
                            DLDataType dtype);

}  // namespace symbreak::bindings
