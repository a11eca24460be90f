// Built with -march=x86-64-v4, -v3 and plain x86-64 into namespaces of those names (SYMBREAK_ISA).
#include "ecd_blocks.hpp"

#include <immintrin.h>

namespace symbreak::cpu::SYMBREAK_ISA {
namespace {

// Eight independent accumulation chains (element j feeds lane j % 8), added in a fixed order at the end: the
// loop vectorises without reassociating, so every ISA variant and thread count gives the same bits. The lanes
// compute exactly ecd_accumulate() (used as is for the tail and on the GPU), fused multiply-adds included.
constexpr int kLanes = 8;
typedef float f8 __attribute__((vector_size(32)));
typedef double d8 __attribute__((vector_size(64)));
typedef std::int32_t i8x __attribute__((vector_size(32)));

typedef std::uint16_t u16x8 __attribute__((vector_size(16)));
typedef std::uint32_t u32x8 __attribute__((vector_size(32)));

template <DType T>
f8 load8(const void* base, std::int64_t j)
{
    f8 v;
    if constexpr (T == DType::float32) {
        __builtin_memcpy(&v, static_cast<const float*>(base) + j, sizeof(v));
    } else if constexpr (T == DType::bfloat16) {  // bf16 is the top half of a float32
        u16x8 h;
        __builtin_memcpy(&h, static_cast<const std::uint16_t*>(base) + j, sizeof(h));
        const u32x8 bits = __builtin_convertvector(h, u32x8) << 16;
        __builtin_memcpy(&v, &bits, sizeof(v));
    } else {  // exact widening, so the F16C instruction (x86-64-v3 and up) gives the bits of the scalar code
#if defined(__F16C__)
        v = reinterpret_cast<f8>(_mm256_cvtph_ps(_mm_loadu_si128(
            reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(base) + j))));
#else
        for (int l = 0; l < kLanes; ++l) v[l] = load_as_float<T>(base, j + l);
#endif
    }
    return v;
}

// Exact float -> double. GCC splits __builtin_convertvector into 256-bit halves plus inserts even on
// x86-64-v4 (it prefers 256-bit vectors there); one vcvtps2pd to a zmm register does it in one instruction.
d8 widen(f8 x)
{
#if defined(__AVX512F__)
    // (the zero-masked form with every lane selected: the plain intrinsic trips -Wmaybe-uninitialized in GCC 12)
    return reinterpret_cast<d8>(_mm512_maskz_cvtps_pd(0xFF, reinterpret_cast<__m256>(x)));
#else
    return __builtin_convertvector(x, d8);
#endif
}

// acc + x·y for x, y widened from floats: the product is exact in float64, so the fused form (one rounding)
// adds the same value as the multiply-then-add of ecd_accumulate(), and every variant gets the same bits.
d8 madd(d8 acc, d8 x, d8 y)
{
#if defined(__AVX512F__)
    return reinterpret_cast<d8>(_mm512_fmadd_pd(reinterpret_cast<__m512d>(x), reinterpret_cast<__m512d>(y),
                                                reinterpret_cast<__m512d>(acc)));
#elif defined(__FMA__)
    __m256d a[2], b[2], c[2];
    __builtin_memcpy(a, &x, sizeof(a));
    __builtin_memcpy(b, &y, sizeof(b));
    __builtin_memcpy(c, &acc, sizeof(c));
    for (int h = 0; h < 2; ++h) c[h] = _mm256_fmadd_pd(a[h], b[h], c[h]);
    __builtin_memcpy(&acc, c, sizeof(c));
    return acc;
#else
    return acc + x * y;
#endif
}

// kAll = false skips ‖θ‖² and ‖g‖², which a step needs only for weight decay and at initialisation; without
// weight decay (kDecay = false) G = g and, unless kAll, θ is not read: 8 instead of 12 bytes per element.
template <DType T, DType TG, bool kAll, bool kDecay>
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
        const f8 g = load8<TG>(grad, j);
        f8 pf;
        __builtin_memcpy(&pf, p + j, sizeof(pf));
        f8 G = g;
        if constexpr (kDecay || kAll) {
            const f8 th = load8<T>(theta, j);
            if constexpr (kDecay) G = g + w * th;
            if constexpr (kAll) {
                const d8 td = widen(th), gd = widen(g);
                tt = madd(tt, td, td);
                gg = madd(gg, gd, gd);
            }
        }
        const d8 pd = widen(pf), Gd = widen(G);
        pp = madd(pp, pd, pd);
        pG = madd(pG, pd, Gd);
        GG = madd(GG, Gd, Gd);
        bad -= ((g - g) != 0.0f);  // mask -1 where g is inf or NaN
    }
    EcdSums s;
    for (int l = 0; l < kLanes; ++l) s.add({pp[l], pG[l], GG[l], tt[l], gg[l], static_cast<double>(bad[l])});
    for (; j < b.end; ++j) ecd_accumulate(load_as_float<T>(theta, j), load_as_float<TG>(grad, j), p[j], w, s);
    return s;
}

template <DType T, DType TG>
void update(const TensorList& t, const EcdBlock& b, const EcdCoeffs& c)
{
    void* theta = t.params[b.tensor];
    const void* grad = t.grads[b.tensor];
    float* p = t.momenta[b.tensor];
    const float w = t.weight_decay[b.tensor];
    std::int64_t j = b.begin;
#if defined(__F16C__)
    // fp16 by hand: the compiler converts fp16 one element at a time. The vector lanes round exactly as
    // ecd_element() and float_to_half() (round to nearest even); other types vectorise as written below.
    if constexpr (T == DType::float16 || TG == DType::float16) {
        for (; j + kLanes <= b.end; j += kLanes) {
            const f8 th = load8<T>(theta, j), g = load8<TG>(grad, j);
            f8 pf;
            __builtin_memcpy(&pf, p + j, sizeof(pf));
            const f8 G = g + w * th;
            pf = c.a * pf - c.k * G;
            const f8 out = th + c.h * pf;
            __builtin_memcpy(p + j, &pf, sizeof(pf));
            if constexpr (T == DType::float16) {
                _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<std::uint16_t*>(theta) + j),
                                 _mm256_cvtps_ph(reinterpret_cast<__m256>(out), _MM_FROUND_TO_NEAREST_INT));
            } else {
                for (int l = 0; l < kLanes; ++l) store_from_float<T>(theta, j + l, out[l]);
            }
        }
    }
#endif
    for (; j < b.end; ++j) {
        float th = load_as_float<T>(theta, j);
        ecd_element(th, load_as_float<TG>(grad, j), p[j], w, c);
        store_from_float<T>(theta, j, th);
    }
}


// Calls f.template operator()<param dtype, grad dtype>() for the block's tensor.
template <class F>
auto with_dtypes(const TensorList& t, int i, F&& f)
{
    auto grad = [&](auto tp) {
        constexpr DType P = decltype(tp)::value;
        switch (t.grad_dtype[i]) {
        case DType::bfloat16: return f(tp, std::integral_constant<DType, DType::bfloat16>{});
        case DType::float16: return f(tp, std::integral_constant<DType, DType::float16>{});
        default: return f(std::integral_constant<DType, P>{}, std::integral_constant<DType, DType::float32>{});
        }
    };
    switch (t.param_dtype[i]) {
    case DType::bfloat16: return grad(std::integral_constant<DType, DType::bfloat16>{});
    case DType::float16: return grad(std::integral_constant<DType, DType::float16>{});
    default: return grad(std::integral_constant<DType, DType::float32>{});
    }
}

}  // namespace

EcdSums ecd_reduce_block(const TensorList& t, const EcdBlock& b, bool all_sums)
{
    const bool decay = t.weight_decay[b.tensor] != 0.0f;  // ‖θ‖² is needed for the decay energy
    return with_dtypes(t, b.tensor, [&](auto tp, auto tg) {
        constexpr DType P = decltype(tp)::value, G = decltype(tg)::value;
        if (decay) return reduce<P, G, true, true>(t, b);
        return all_sums ? reduce<P, G, true, false>(t, b) : reduce<P, G, false, false>(t, b);
    });
}

void ecd_update_block(const TensorList& t, const EcdBlock& b, const EcdCoeffs& c)
{
    with_dtypes(t, b.tensor, [&](auto tp, auto tg) { update<decltype(tp)::value, decltype(tg)::value>(t, b, c); });
}

}  // namespace symbreak::cpu::SYMBREAK_ISA
