// Runs CUDA kernels on the CPU, to test the particle engine's logic (cuda/particles/md.cu) where no GPU exists:
// the threads of a block are fibers (ucontext) on one OS thread, each run until its next __syncthreads or its
// end, so every pass over the block is one barrier interval; blocks, and the threads in each pass, run in a
// shuffled order (atomics then land in varying orders, as on a GPU); __shared__ is a static (blocks run one
// after another). emulate_launches.py rewrites each kernel<<<grid, block>>>(args) into
// emu::launch(grid, block, ...). This checks the algorithm (sort, lists, gating, reductions, errors, state)
// against the CPU engine; not GPU rounding, the memory model or speed.
#pragma once
#include <ucontext.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
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
using std::sqrt;

namespace emu {

struct Dim3 {
    unsigned x = 0, y = 0, z = 0;
};

struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    bool done = false;
};

inline Dim3 block_index, thread_index, block_dim;
inline ucontext_t scheduler;
inline std::vector<Fiber> fibers;
inline unsigned current = 0;
inline const std::function<void()>* body = nullptr;
inline std::mt19937 order_rng(20261123);

inline void fiber_entry()
{
    (*body)();
    fibers[current].done = true;  // then uc_link returns to the scheduler
}

inline void yield() { swapcontext(&fibers[current].context, &scheduler); }

// A pass in which some threads end while others wait at a barrier means a non-uniform return before
// __syncthreads (undefined on a GPU): reported and fatal.
inline void launch_function(unsigned grid, unsigned block, const std::function<void()>& kernel)
{
    constexpr std::size_t kStack = 128 * 1024;
    body = &kernel;
    if (fibers.size() < block) fibers.resize(block);
    block_dim = {block, 1, 1};
    std::vector<unsigned> blocks(grid), order(block);
    std::iota(blocks.begin(), blocks.end(), 0u);
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(blocks.begin(), blocks.end(), order_rng);
    for (unsigned b : blocks) {
        block_index = {b, 0, 0};
        for (unsigned t = 0; t < block; ++t) {
            Fiber& f = fibers[t];
            f.stack.resize(kStack);
            f.done = false;
            getcontext(&f.context);
            f.context.uc_stack.ss_sp = f.stack.data();
            f.context.uc_stack.ss_size = f.stack.size();
            f.context.uc_link = &scheduler;
            makecontext(&f.context, fiber_entry, 0);
        }
        for (unsigned live = block; live > 0;) {
            unsigned ended = 0, waiting = 0;
            std::shuffle(order.begin(), order.end(), order_rng);
            for (unsigned t : order) {
                if (fibers[t].done) continue;
                current = t;
                thread_index = {t, 0, 0};
                swapcontext(&scheduler, &fibers[t].context);
                fibers[t].done ? ++ended : ++waiting;
            }
            if (ended && waiting) {
                std::fprintf(stderr, "emulation: threads of a block returned while others wait in __syncthreads\n");
                std::abort();
            }
            live -= ended;
        }
    }
}

template <class F>
void launch(unsigned grid, unsigned block, F&& kernel)
{
    launch_function(grid, block, std::function<void()>(std::forward<F>(kernel)));
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

inline void __syncthreads() { emu::yield(); }
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline int atomicMin(int* p, int v) { return emu::fetch_min(p, v); }
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) { return emu::fetch_min(p, v); }
inline int atomicMax(int* p, int v) { return emu::fetch_max(p, v); }
