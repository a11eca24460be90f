// Device memory of the emulation: host memory filled with garbage, as fresh cudaMalloc memory may be.
#include <cstdlib>
#include <cstring>
#include <new>

#include "symbreak/core/launch.hpp"

namespace symbreak::cuda {

void require_device(int) {}

void* malloc(std::size_t bytes, int)
{
    void* p = std::malloc(bytes);
    if (!p) throw std::bad_alloc();
    std::memset(p, 0xA5, bytes);
    return p;
}

void free(void* ptr, int) noexcept { std::free(ptr); }

void copy_to_device(void* dst, const void* src, std::size_t bytes, int) { std::memcpy(dst, src, bytes); }
void copy_to_host(void* dst, const void* src, std::size_t bytes, int) { std::memcpy(dst, src, bytes); }

}  // namespace symbreak::cuda
