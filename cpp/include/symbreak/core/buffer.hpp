// An owning, untyped block of memory on the host or on one CUDA device. Simulators keep their state in a
// shared_ptr<Buffer> so that a DLPack view handed to Python keeps the memory alive after the simulator is
// gone.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace symbreak {

enum class Device : int { cpu = 1, cuda = 2 };  // values match DLPack's kDLCPU / kDLCUDA

class Buffer {
public:
    Buffer(std::size_t bytes, Device device, int device_id);
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    void* data() const { return ptr_; }
    std::size_t bytes() const { return bytes_; }
    Device device() const { return device_; }
    int device_id() const { return device_id_; }

    // Copies between this buffer and host memory, whatever the buffer's device.
    void upload(const void* host, std::size_t bytes, std::size_t offset = 0);
    void download(void* host, std::size_t bytes, std::size_t offset = 0) const;

private:
    std::size_t bytes_;
    Device device_;
    int device_id_;
    void* ptr_ = nullptr;
};

}  // namespace symbreak
