// CPU driver of the ECD family: OpenMP over fixed blocks of every tensor; each block calls the shared rules.
#include "symbreak/optim/ecd_cpu.hpp"

#include "../core/isa.hpp"
#include "ecd_blocks.hpp"

#include <omp.h>

#include <vector>

#include "symbreak/rng/philox.hpp"

namespace symbreak::cpu {
namespace {

constexpr std::int64_t kBlock = 8192;  // reduction granularity: fixes the summation order

struct Kernels {
    EcdSums (*reduce)(const TensorList&, const EcdBlock&, bool);
    void (*update)(const TensorList&, const EcdBlock&, const EcdCoeffs&);
};

// The widest instruction set this CPU runs; all variants compute identical bits.
Kernels kernels()
{
    return for_widest_isa(Kernels{x86_64_v4::ecd_reduce_block, x86_64_v4::ecd_update_block},
                          Kernels{x86_64_v3::ecd_reduce_block, x86_64_v3::ecd_update_block},
                          Kernels{x86_64_v1::ecd_reduce_block, x86_64_v1::ecd_update_block});
}

std::vector<EcdBlock> blocks_of(const TensorList& t)
{
    std::vector<EcdBlock> blocks;
    for (int i = 0; i < t.count; ++i)
        for (std::int64_t b = 0; b < t.numel[i]; b += kBlock) blocks.push_back({i, b, std::min(t.numel[i], b + kBlock)});
    return blocks;
}

}  // namespace

void ecd_reduce(const TensorList& t, EcdSums* out, bool all_sums)
{
    static const Kernels k = kernels();
    const std::vector<EcdBlock> blocks = blocks_of(t);
    std::vector<EcdSums> partial(blocks.size());
#pragma omp parallel for schedule(dynamic, 4)
    for (std::size_t i = 0; i < blocks.size(); ++i) partial[i] = k.reduce(t, blocks[i], all_sums);
    for (int i = 0; i < t.count; ++i) out[i] = EcdSums{};
    for (std::size_t i = 0; i < blocks.size(); ++i) out[blocks[i].tensor].add(partial[i]);
}

void ecd_update(const TensorList& t, const EcdCoeffs* coeffs)
{
    static const Kernels k = kernels();
    const std::vector<EcdBlock> blocks = blocks_of(t);
#pragma omp parallel for schedule(dynamic, 4)
    for (std::size_t i = 0; i < blocks.size(); ++i) k.update(t, blocks[i], coeffs[blocks[i].tensor]);
}

double ecd_add_noise(const TensorList& t, float scale, float nu, std::uint64_t seed, std::uint64_t step, RngId id)
{
    const std::vector<EcdBlock> blocks = blocks_of(t);
    std::vector<double> partial(blocks.size());
    const PhiloxKey key = philox_key(seed);
#pragma omp parallel for schedule(dynamic, 4)
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const EcdBlock& b = blocks[i];
        float* p = t.momenta[b.tensor];
        double sum = 0;
        for (std::int64_t j = b.begin; j < b.end; ++j) {
            const std::uint64_t e = static_cast<std::uint64_t>(t.offset[b.tensor] + j);
            double z[2];
            normal2_double(philox4x32_10(philox_counter(e / 2, 0, id, step), key), z[0], z[1]);
            p[j] = p[j] * scale + nu * static_cast<float>(z[e % 2]);
            sum += static_cast<double>(p[j]) * p[j];
        }
        partial[i] = sum;
    }
    double total = 0;
    for (double s : partial) total += s;
    return total;
}

void ecd_scale_momenta(const TensorList& t, float scale)
{
    const std::vector<EcdBlock> blocks = blocks_of(t);
#pragma omp parallel for schedule(dynamic, 4)
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        float* p = t.momenta[blocks[i].tensor];
        for (std::int64_t j = blocks[i].begin; j < blocks[i].end; ++j) p[j] *= scale;
    }
}

void ecd_step(EcdKind kind, const TensorList& t, const float* lr, const float* eta, const EcdHyper& hp, double loss,
              double* g, std::uint64_t seed, double d_count, const AllReduce& allreduce)
{
    const int n = t.count;
    std::vector<EcdSums> sums(n);
    // Per-tensor sums, summed over ranks when the parameters are sharded (6 doubles per tensor).
    auto reduce = [&](bool all_sums) {
        ecd_reduce(t, sums.data(), all_sums);
        if (allreduce) allreduce(reinterpret_cast<double*>(sums.data()), sums.size() * sizeof(EcdSums) / sizeof(double));
    };
    reduce(g[kSlotInitialized] == 0.0);  // ‖g‖² only for the first step
    EcdSums total;
    for (const auto& s : sums) total.add(s);
    const double Q = ecd_decay_energy(sums.data(), t.weight_decay, n);
    if (total.nonfinite > 0 || !(loss - loss == 0.0) || !(Q - Q == 0.0)) {
        g[kSlotStatus] = kNonFinite;
        return;
    }
    std::vector<EcdCoeffs> coeffs(n);
    if (g[kSlotInitialized] == 0.0) {
        // p = -s g: the shared update with a = 0, k = s, w = 0, h = 0.
        if (kind == EcdKind::ecd) {
            if (allreduce) allreduce(&d_count, 1);
            g[kSlotD] = d_count;
        }
        const double scale = ecd_initialise(kind == EcdKind::ecd ? 0 : 1, total, Q, loss, hp, g);
        std::vector<float> no_decay(n, 0.0f);
        TensorList plain = t;
        plain.weight_decay = no_decay.data();
        for (auto& c : coeffs) c = {0.0f, static_cast<float>(scale), 0.0f};
        ecd_update(plain, coeffs.data());
        reduce(false);
    }
    const bool ok = kind == EcdKind::ecd
                        ? ecd_scalars(sums.data(), lr, eta, t.weight_decay, n, loss, hp, g, coeffs.data())
                        : ecdsep_scalars(sums.data(), lr, eta, t.weight_decay, n, loss, hp, g, coeffs.data());
    if (!ok) {
        g[kSlotStatus] = kFloor;
        return;
    }
    ecd_update(t, coeffs.data());
    const double nu = kind == EcdKind::ecd ? hp.nu / sqrt(g[kSlotD]) : hp.nu;
    g[kSlotNu] = nu;
    const double P = sqrt(g[kSlotP2]);
    if (nu > 0 && P > 0) {
        const RngId id = kind == EcdKind::ecd ? RngId::ecd_noise : RngId::ecdsep_noise;
        double norm2 = ecd_add_noise(t, static_cast<float>(1.0 / P), static_cast<float>(nu), seed,
                                     static_cast<std::uint64_t>(g[kSlotStep]), id);
        if (allreduce) allreduce(&norm2, 1);
        ecd_scale_momenta(t, static_cast<float>(P / sqrt(norm2)));
    }
    g[kSlotStep] += 1.0;
    g[kSlotStatus] = kApplied;
}

}  // namespace symbreak::cpu
