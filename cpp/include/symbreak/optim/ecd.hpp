// Per-element rules of the Energy Conserving Descent family (spec/ecd.md). ECD, ECDSep and BBI all update
// every element the same way once the step's scalars are known:
//     G = g + w θ          p ← a p - k G          θ ← θ + h p
// with per-tensor float coefficients (a, k, h) computed from global sums in a scalar phase. The sums a step
// needs all come from one read pass (EcdSums), so a step is: reduce pass, scalar phase, update pass.
#pragma once
#include <cmath>
#include <cstdint>

#include "symbreak/core/hd.hpp"

namespace symbreak {

// Sums over one tensor (or, added up, over everything). G = g + w θ with the tensor's weight decay w.
struct EcdSums {
    double pp = 0;       // ‖p‖²
    double pG = 0;       // ⟨p, G⟩
    double GG = 0;       // ‖G‖²
    double tt = 0;       // ‖θ‖²
    double gg = 0;       // ‖g‖²
    double nonfinite = 0;  // count of non-finite gradient elements

    SYMBREAK_HD void add(const EcdSums& o)
    {
        pp += o.pp;
        pG += o.pG;
        GG += o.GG;
        tt += o.tt;
        gg += o.gg;
        nonfinite += o.nonfinite;
    }
};

struct EcdCoeffs {
    float a, k, h;
};

// One element's contribution to the sums (accumulators passed separately so the CPU can keep them in lanes).
// Each product of two floats is exact in float64, so a fused multiply-add rounds as the multiply-then-add
// written here: the CPU's ISA variants and the GPU may fuse and still add the same float64 values. G = g when
// w = 0 (as in the reference), so a pass without weight decay need not read θ.
SYMBREAK_HD void ecd_accumulate(float theta, float g, float p, float w, double& pp, double& pG, double& GG,
                                double& tt, double& gg, double& nonfinite)
{
    const float G = w != 0.0f ? g + w * theta : g;
    pp += static_cast<double>(p) * p;
    pG += static_cast<double>(p) * G;
    GG += static_cast<double>(G) * G;
    tt += static_cast<double>(theta) * theta;
    gg += static_cast<double>(g) * g;
    nonfinite += (g - g == 0.0f) ? 0.0 : 1.0;  // g - g is NaN exactly when g is inf or NaN
}

SYMBREAK_HD void ecd_accumulate(float theta, float g, float p, float w, EcdSums& s)
{
    ecd_accumulate(theta, g, p, w, s.pp, s.pG, s.GG, s.tt, s.gg, s.nonfinite);
}

// The update every element of the family shares.
SYMBREAK_HD void ecd_element(float& theta, float g, float& p, float w, const EcdCoeffs& c)
{
    const float G = g + w * theta;
    p = c.a * p - c.k * G;
    theta = theta + c.h * p;
}

// Global state of one optimizer, float64 slots (kept on the parameters' device; see python/symbreak/optim).
enum EcdSlot : int {
    kSlotStep = 0,         // steps taken (skipped steps excluded)
    kSlotInitialized = 1,  // 1 after the first step initialised the momenta
    kSlotStatus = 2,       // last call: 0 applied, 1 skipped (non-finite), 2 skipped (F̃ or V at or below eps2)
    kSlotD = 3,            // d, number of elements
    kSlotP2 = 4,           // P² = ‖p‖²
    kSlotE = 5,            // conserved energy (ECDSep, BBI)
    kSlotH = 6,            // effective step of the last step (ECD: lr / √η)
    kSlotNu = 7,           // effective noise (ECD: ν / √d)
    kSlotF = 8,            // F̃ of the last step
    kSlotMomentumScale = 9,  // true momentum = this × stored momentum (fused steps keep it 1)
    kSlotScratch = 15,       // device-side hand-over inside one step (the initial momentum scale)
    kSlotCount = 16,
};
enum EcdStatus : int { kApplied = 0, kNonFinite = 1, kFloor = 2 };

// Step-wide hyper-parameters (per-tensor lr, η and weight decay travel with the tensors).
struct EcdHyper {
    double eta, F0, nu, s, delta_energy, eps1, eps2;
    bool conserve_energy, global_projection;
};

// ½ Σ_i w_i ‖θ_i‖² over the tensors with weight decay (a tensor without decay contributes nothing, even
// if its ‖θ‖² is not finite).
SYMBREAK_HD double ecd_decay_energy(const EcdSums* sums, const float* wd, int n)
{
    double Q = 0;
    for (int i = 0; i < n; ++i)
        if (wd[i] != 0.0f) Q += 0.5 * wd[i] * sums[i].tt;
    return Q;
}

// First step (spec/ecd.md, initialisation): sets the initial globals and returns s such that p = -s g
// (ECD: s = 1/‖g‖, ‖p‖ = 1; ECDSep: s = √(δE/‖g‖²), E = V₀ (s + δE)); zero momenta when g = 0. Slot D is
// set by the caller. kind 0: ECD, 1: ECDSep.
SYMBREAK_HD double ecd_initialise(int kind, const EcdSums& total, double Q, double loss, const EcdHyper& hp, double* g)
{
    g[kSlotInitialized] = 1.0;
    if (kind == 0) {
        g[kSlotP2] = total.gg > 0 ? 1.0 : 0.0;
        return total.gg > 0 ? 1.0 / sqrt(total.gg) : 0.0;
    }
    const double F0 = loss + Q - hp.F0;
    g[kSlotE] = (F0 > 0 ? pow(F0, hp.eta) : 0.0) * (hp.s + hp.delta_energy);
    g[kSlotP2] = total.gg > 0 ? hp.delta_energy : 0.0;
    return total.gg > 0 ? sqrt(hp.delta_energy / total.gg) : 0.0;
}

// ECD (q = 1, scaled), steps 1-5 of spec/ecd.md §1 given the sums of pass 1: fills per-tensor coefficients and
// the new P² (before noise). Returns false when the step must be skipped (F̃ <= eps2).
SYMBREAK_HD bool ecd_scalars(const EcdSums* sums, const float* lr, const float* eta, const float* wd, int n,
                             double loss, const EcdHyper& hp, double* g, EcdCoeffs* coeffs)
{
    double pG = 0;
    for (int i = 0; i < n; ++i) pG += sums[i].pG;
    const double F = loss + ecd_decay_energy(sums, wd, n) - hp.F0, d = g[kSlotD], P2 = g[kSlotP2];
    if (!(F > hp.eps2)) return false;
    const double c = (!hp.conserve_energy || P2 == 0.0 || fabs(1.0 - P2) < hp.eps1) ? 1.0 : 1.0 / sqrt(P2);
    double P2_new = 0;
    for (int i = 0; i < n; ++i) {
        const double h = lr[i] / sqrt(static_cast<double>(eta[i]));
        const double k = h * eta[i] * d / (2.0 * (d - 1.0) * F);
        const double delta = c * (hp.global_projection ? pG : sums[i].pG);
        const double a = c * (1.0 + k * delta);
        P2_new += a * a * sums[i].pp - 2.0 * a * k * sums[i].pG + k * k * sums[i].GG;
        coeffs[i] = {static_cast<float>(a), static_cast<float>(k), static_cast<float>(h)};
    }
    g[kSlotH] = n > 0 ? coeffs[0].h : 0.0;
    g[kSlotF] = F;
    g[kSlotP2] = P2_new;
    return true;
}

// ECDSep, steps 1-5 of spec/ecd.md §2 (lr is Δt). The θ step uses the new P², known in closed form.
SYMBREAK_HD bool ecdsep_scalars(const EcdSums* sums, const float* lr, const float* /*eta: global for ECDSep*/,
                                const float* wd, int n, double loss, const EcdHyper& hp, double* g,
                                EcdCoeffs* coeffs)
{
    const double F = loss + ecd_decay_energy(sums, wd, n) - hp.F0;
    const double V = F > 0 ? pow(F, hp.eta) : 0.0;
    if (!(V > hp.eps2)) return false;
    const double P2 = g[kSlotP2], P2_true = g[kSlotE] / V - hp.s;
    const bool keep = !hp.conserve_energy || P2 == 0.0 || P2_true < 0.0 || fabs(P2_true - P2) < hp.eps1;
    const double c = keep ? 1.0 : sqrt(P2_true / P2);
    double P2_new = 0;
    for (int i = 0; i < n; ++i) {
        const double k = lr[i] * hp.eta / F;
        P2_new += c * c * sums[i].pp - 2.0 * c * k * sums[i].pG + k * k * sums[i].GG;
        coeffs[i] = {static_cast<float>(c), static_cast<float>(k), 0.0f};
    }
    const double denom = hp.s + P2_new;  // θ moves only when s + P² > 0
    for (int i = 0; i < n; ++i) coeffs[i].h = static_cast<float>(denom > 0 ? 2.0 * lr[i] / denom : 0.0);
    g[kSlotH] = n > 0 ? coeffs[0].h : 0.0;
    g[kSlotF] = F;
    g[kSlotP2] = P2_new;
    return true;
}

}  // namespace symbreak
