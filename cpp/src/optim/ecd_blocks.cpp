// Built with -march=x86-64-v4, -v3 and plain x86-64 into namespaces of those names (SYMBREAK_ISA).
#include "ecd_blocks.hpp"

namespace symbreak::cpu::SYMBREAK_ISA {
namespace {

// Eight independent accumulation chains (element j feeds lane j % 8), added in a fixed order at the end: the
// loop vectorises without reassociating, so every ISA variant and thread count gives the same bits. The lanes
// compute exactly ecd_accumulate() (used as is for the tail and on the GPU).
constexpr int kLanes = 8;
typedef float f8 __attribute__((vector_size(32)));
typedef double d8 __attribute__((vector_size(64)));
typedef std::int32_t i8x __attribute__((vector_size(32)));

template <DType T>
f8 load8(const void* base, std::int64_t j)
{
    f8 v;
    for (int l = 0; l < kLanes; ++l) v[l] = load_as_float<T>(base, j + l);
    return v;
}

template <DType T>
EcdSums reduce(const TensorList& t, const EcdBlock& b)
{
    d8 pp = {}, pG = {}, GG = {}, tt = {}, gg = {};
    i8x bad = {};
    const void* theta = t.params[b.tensor];
    const void* grad = t.grads[b.tensor];
    const float* p = t.momenta[b.tensor];
    const float w = t.weight_decay[b.tensor];
    std::int64_t j = b.begin;
    for (; j + kLanes <= b.end; j += kLanes) {
        const f8 th = load8<T>(theta, j), g = load8<T>(grad, j);
        f8 pf;
        __builtin_memcpy(&pf, p + j, sizeof(pf));
        const f8 G = g + w * th;
        const d8 pd = __builtin_convertvector(pf, d8), Gd = __builtin_convertvector(G, d8);
        const d8 td = __builtin_convertvector(th, d8), gd = __builtin_convertvector(g, d8);
        pp += pd * pd;
        pG += pd * Gd;
        GG += Gd * Gd;
        tt += td * td;
        gg += gd * gd;
        bad -= ((g - g) != 0.0f);  // mask -1 where g is inf or NaN
    }
    EcdSums s;
    for (int l = 0; l < kLanes; ++l) s.add({pp[l], pG[l], GG[l], tt[l], gg[l], static_cast<double>(bad[l])});
    for (; j < b.end; ++j) ecd_accumulate(load_as_float<T>(theta, j), load_as_float<T>(grad, j), p[j], w, s);
    return s;
}

template <DType T>
void update(const TensorList& t, const EcdBlock& b, const EcdCoeffs& c)
{
    void* theta = t.params[b.tensor];
    const void* grad = t.grads[b.tensor];
    float* p = t.momenta[b.tensor];
    const float w = t.weight_decay[b.tensor];
    for (std::int64_t j = b.begin; j < b.end; ++j) {
        float th = load_as_float<T>(theta, j);
        ecd_element(th, load_as_float<T>(grad, j), p[j], w, c);
        store_from_float<T>(theta, j, th);
    }
}

}  // namespace

EcdSums ecd_reduce_block(const TensorList& t, const EcdBlock& b)
{
    switch (t.dtype) {
    case DType::bfloat16: return reduce<DType::bfloat16>(t, b);
    case DType::float16: return reduce<DType::float16>(t, b);
    default: return reduce<DType::float32>(t, b);
    }
}

void ecd_update_block(const TensorList& t, const EcdBlock& b, const EcdCoeffs& c)
{
    switch (t.dtype) {
    case DType::bfloat16: update<DType::bfloat16>(t, b, c); break;
    case DType::float16: update<DType::float16>(t, b, c); break;
    default: update<DType::float32>(t, b, c); break;
    }
}

}  // namespace symbreak::cpu::SYMBREAK_ISA
