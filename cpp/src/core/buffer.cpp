#include "symbreak/core/buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "symbreak/core/check.hpp"
#include "symbreak/core/launch.hpp"

namespace symbreak {

Buffer::Buffer(std::size_t bytes, Device device, int device_id)
    : bytes_(bytes), device_(device), device_id_(device_id)
{
    const std::size_t n = bytes ? bytes : 1;
    if (device == Device::cpu) {
        // 64-byte alignment: rows start on cache lines, vector loads stay aligned.
        ptr_ = std::aligned_alloc(64, (n + 63) / 64 * 64);
        if (!ptr_) throw std::bad_alloc();
    } else {
        ptr_ = cuda::malloc(n, device_id);
    }
}

Buffer::~Buffer()
{
    if (device_ == Device::cpu)
        std::free(ptr_);
    else
        cuda::free(ptr_, device_id_);
}

void Buffer::upload(const void* host, std::size_t bytes, std::size_t offset)
{
    SYMBREAK_REQUIRE(offset + bytes <= bytes_, "upload of ", bytes, " bytes at ", offset, " overruns a buffer of ",
                     bytes_);
    char* dst = static_cast<char*>(ptr_) + offset;
    if (device_ == Device::cpu)
        std::memcpy(dst, host, bytes);
    else
        cuda::copy_to_device(dst, host, bytes, device_id_);
}

void Buffer::download(void* host, std::size_t bytes, std::size_t offset) const
{
    SYMBREAK_REQUIRE(offset + bytes <= bytes_, "download of ", bytes, " bytes at ", offset, " overruns a buffer of ",
                     bytes_);
    const char* src = static_cast<const char*>(ptr_) + offset;
    if (device_ == Device::cpu)
        std::memcpy(host, src, bytes);
    else
        cuda::copy_to_host(host, src, bytes, device_id_);
}

}  // namespace symbreak
