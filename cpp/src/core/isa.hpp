// Choosing among kernels compiled once per x86-64 level (plain x86-64, -v3 with AVX2, -v4 with AVX-512) into
// namespaces of those names: every variant computes the same bits, and the drivers run the widest this CPU has.
#pragma once

namespace symbreak::cpu {

enum class Isa { x86_64, v3, v4 };

inline Isa widest_isa()
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return Isa::v4;
    if (__builtin_cpu_supports("x86-64-v3")) return Isa::v3;
#endif
    return Isa::x86_64;
}

inline const char* isa_name(Isa isa) { return isa == Isa::v4 ? "x86-64-v4" : isa == Isa::v3 ? "x86-64-v3" : "x86-64"; }

// The variant (a kernel, or a table of them) for the widest level.
template <class T>
T for_widest_isa(T v4, T v3, T x86_64)
{
    const Isa isa = widest_isa();
    return isa == Isa::v4 ? v4 : isa == Isa::v3 ? v3 : x86_64;
}

}  // namespace symbreak::cpu
