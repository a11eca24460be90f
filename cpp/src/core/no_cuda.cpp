// Stand-ins for cuda/ when the build has no CUDA: runtime queries report why, launchers throw.
#include <stdexcept>

#include "symbreak/core/launch.hpp"
#include "symbreak/particles/md_cuda.hpp"

namespace symbreak::cuda {
namespace {
[[noreturn]] void unavailable()
{
    throw std::runtime_error(std::string("device='cuda' is unavailable: symbreak was built without CUDA (") +
                             SYMBREAK_CUDA_REASON + "); rebuild with SYMBREAK_CUDA=ON where nvcc is installed");
}
}  // namespace

bool compiled() { return false; }
int device_count(std::string* why)
{
    if (why) *why = std::string("built without CUDA: ") + SYMBREAK_CUDA_REASON;
    return 0;
}
std::vector<std::string> device_names() { return {}; }
void require_device(int) { unavailable(); }
void* malloc(std::size_t, int) { unavailable(); }
void free(void*, int) noexcept {}
void copy_to_device(void*, const void*, std::size_t, int) { unavailable(); }
void copy_to_host(void*, const void*, std::size_t, int) { unavailable(); }
void synchronize(int) { unavailable(); }
void ising_sweep(const CheckerboardGeometry&, std::int8_t*, std::int64_t, const IsingFlipTable&, IsingAlgorithm,
                 std::uint64_t, std::uint64_t, int, std::uintptr_t)
{
    unavailable();
}
void ising_totals(const CheckerboardGeometry&, const std::int8_t*, std::int64_t, std::int64_t*, int, std::uintptr_t)
{
    unavailable();
}

void xy_langevin(const PeriodicGrid&, int, const XYDeviceArrays<float>&, const XYStep*, std::int64_t, std::uint64_t,
                 std::uint64_t, double*, int)
{
    unavailable();
}
void xy_langevin(const PeriodicGrid&, int, const XYDeviceArrays<double>&, const XYStep*, std::int64_t, std::uint64_t,
                 std::uint64_t, double*, int)
{
    unavailable();
}
void xy_totals(const PeriodicGrid&, int, const XYDeviceArrays<float>&, XYTotals*, int) { unavailable(); }
void xy_totals(const PeriodicGrid&, int, const XYDeviceArrays<double>&, XYTotals*, int) { unavailable(); }

void ecd_step(const EcdStepTables&, const EcdStepBuffers&, const EcdHyper&, int, bool, std::uint64_t, int,
              std::uintptr_t, const DeviceAllReduce&)
{
    unavailable();
}

}  // namespace symbreak::cuda

namespace symbreak {
std::unique_ptr<ParticleEngine> make_particle_engine_cuda(const MDSetup&, const double*, const double*, int)
{
    cuda::unavailable();
}
}  // namespace symbreak
