// Runs CUDA kernels on the CPU, to test the logic of the kernels in cuda/ where no GPU exists: the threads of a
// block are fibers (ucontext) on one OS thread, each run until it reaches a barrier or ends. __syncthreads is a
// block barrier; a warp shuffle (__shfl_down_sync) is a barrier of the warp's 32 lanes, which then read each
// other's values. Blocks, the warps of a block between its barriers, and the lanes of a warp run in shuffled
// orders (atomics then land in varying orders, as on a GPU); __shared__ is a static (blocks run one after
// another). emulate_launches.py rewrites each kernel<<<grid, block, ...>>>(args) into emu::launch(grid, block,
// ...) (stream and dynamic shared memory ignored: launches run in order). This checks the algorithm (indexing,
// barriers, reductions, flags, state) against the CPU code; not GPU rounding, the memory model (a thread runs
// alone from barrier to barrier, so a race inside one interval cannot show) or speed.
#pragma once
#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(threads)

using std::isfinite;
using std::min;
using std::sqrt;

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace emu {

constexpr unsigned kWarp = 32;

enum class Stop { ready, block_barrier, warp_barrier, done };  // where a fiber last stopped

struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    Stop stop = Stop::ready;
};

inline dim3 block_index, thread_index, block_dim, grid_dim;
inline ucontext_t scheduler;
inline std::vector<Fiber> fibers;
inline std::vector<std::uint64_t> lane_value;  // what each thread offers at a warp shuffle
inline unsigned current = 0;
inline const std::function<void()>* body = nullptr;
inline std::mt19937 order_rng(20261123);

[[noreturn]] inline void fatal(const char* why)
{
    std::fprintf(stderr, "emulation: %s\n", why);
    std::abort();
}

inline void fiber_entry()
{
    (*body)();
    fibers[current].stop = Stop::done;  // then uc_link returns to the scheduler
}

inline void wait(Stop at)
{
    fibers[current].stop = at;
    swapcontext(&fibers[current].context, &scheduler);
}

// One block. Between block barriers the warps run one at a time, in random order, each until every lane waits at
// __syncthreads or has ended; its lanes run in shuffled order, meeting at each shuffle. A GPU may run warps so far
// apart, so a missing __syncthreads shows (a warp reading shared memory another warp has already overwritten, or
// not yet written). A shuffle that part of its warp does not reach, and threads returning while others wait at
// __syncthreads (undefined on a GPU), are reported and fatal.
inline void run_block(unsigned threads)
{
    std::vector<unsigned> warps((threads + kWarp - 1) / kWarp), lanes;
    for (bool first = true;; first = false) {
        if (!first) {
            const auto waiting = std::count_if(fibers.begin(), fibers.begin() + threads,
                                               [](const Fiber& f) { return f.stop == Stop::block_barrier; });
            if (waiting == 0) return;
            if (waiting != threads) fatal("threads of a block returned while others wait in __syncthreads");
        }
        std::iota(warps.begin(), warps.end(), 0u);
        std::shuffle(warps.begin(), warps.end(), order_rng);
        for (unsigned w : warps) {
            const unsigned begin = w * kWarp, end = std::min(threads, begin + kWarp);
            lanes.resize(end - begin);
            for (bool run = true; run;) {  // every lane is ready, or waits at a shuffle all lanes reached
                std::iota(lanes.begin(), lanes.end(), begin);
                std::shuffle(lanes.begin(), lanes.end(), order_rng);
                for (unsigned t : lanes) {
                    current = t;
                    thread_index = {t % block_dim.x, t / block_dim.x % block_dim.y, t / (block_dim.x * block_dim.y)};
                    swapcontext(&scheduler, &fibers[t].context);
                }
                const auto at = std::count_if(fibers.begin() + begin, fibers.begin() + end,
                                              [](const Fiber& f) { return f.stop == Stop::warp_barrier; });
                if (at != 0 && at != end - begin)
                    fatal("a warp shuffle with the full mask that part of the warp does not reach");
                run = at != 0;
            }
        }
    }
}

inline void launch_function(dim3 grid, dim3 block, const std::function<void()>& kernel)
{
    constexpr std::size_t kStack = 128 * 1024;
    const unsigned threads = block.x * block.y * block.z;
    body = &kernel;
    if (fibers.size() < threads) fibers.resize(threads);
    lane_value.resize(fibers.size());
    block_dim = block;
    grid_dim = grid;
    std::vector<unsigned> blocks(grid.x * grid.y * grid.z);
    std::iota(blocks.begin(), blocks.end(), 0u);
    std::shuffle(blocks.begin(), blocks.end(), order_rng);
    for (unsigned b : blocks) {
        block_index = {b % grid.x, b / grid.x % grid.y, b / (grid.x * grid.y)};
        for (unsigned t = 0; t < threads; ++t) {
            Fiber& f = fibers[t];
            f.stack.resize(kStack);
            f.stop = Stop::ready;
            getcontext(&f.context);
            f.context.uc_stack.ss_sp = f.stack.data();
            f.context.uc_stack.ss_size = f.stack.size();
            f.context.uc_link = &scheduler;
            makecontext(&f.context, fiber_entry, 0);
        }
        run_block(threads);
    }
}

template <class F>
void launch(dim3 grid, dim3 block, F&& kernel)
{
    launch_function(grid, block, std::function<void()>(std::forward<F>(kernel)));
}

// The value lane `source` of this warp offers (this thread's own when that lane does not exist): every lane
// writes, meets the others, reads, and meets them again before a later shuffle may overwrite.
template <class T>
T shuffle(unsigned mask, T v, unsigned source)
{
    static_assert(sizeof(T) <= sizeof(std::uint64_t), "shuffles move at most 64 bits");
    if (mask != 0xffffffffu) fatal("only full-mask warp shuffles are emulated");
    const unsigned warp = current - current % kWarp;
    std::memcpy(&lane_value[current], &v, sizeof(T));
    wait(Stop::warp_barrier);
    T out = v;
    if (source < kWarp && warp + source < block_dim.x * block_dim.y * block_dim.z)
        std::memcpy(&out, &lane_value[warp + source], sizeof(T));
    wait(Stop::warp_barrier);
    return out;
}

template <class U>
U fetch_min(U* p, U v)
{
    U old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
template <class U>
U fetch_max(U* p, U v)
{
    U old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (v > old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}

}  // namespace emu

#define blockIdx emu::block_index
#define threadIdx emu::thread_index
#define blockDim emu::block_dim
#define gridDim emu::grid_dim

inline void __syncthreads() { emu::wait(emu::Stop::block_barrier); }
// Lane + delta within segments of `width` lanes; lanes past the segment keep their own value.
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    const unsigned lane = emu::current % emu::kWarp, w = static_cast<unsigned>(width);
    return emu::shuffle(mask, v, lane % w + delta < w ? lane + delta : lane);
}
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v)
{
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline int atomicMin(int* p, int v) { return emu::fetch_min(p, v); }
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) { return emu::fetch_min(p, v); }
inline int atomicMax(int* p, int v) { return emu::fetch_max(p, v); }
