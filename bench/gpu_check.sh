#!/usr/bin/env bash
# The prepared GPU check, one command for a lent GPU machine (no network; python3 there holds torch, pybind11,
# scikit-build-core, cmake, ninja, pytest): build the extension for the GPU present, run every gpu-marked test,
# then the GPU benchmarks (ECD step and training, XY / Ising / particle engines against the copy bandwidth, Ising
# against its CPU peers), sized to finish in about 10 minutes on an H100. Logs and JSON go to $OUT (the device
# tool's result folder) or bench/results/gpu.
#
#     bash bench/gpu_check.sh            # everything
#     bash bench/gpu_check.sh tests      # build and gpu-marked tests only
set -uo pipefail
out=${OUT:-bench/results/gpu}
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=passive
status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $out/NAME.log, remember a failure
    local name=$1 limit=$2
    shift 2
    echo "== $name ($(date +%T))"
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    tail -n 15 "$out/$name.log"
    [ $rc -eq 0 ] || { echo "!! $name exited with $rc"; status=1; }
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
arch=${CUDA_ARCH:-$($py -c "import torch; print('%d%d' % torch.cuda.get_device_capability())")} || exit 1
export CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) SYMBREAK_CUDA=ON
step build 420 $py -m pip install -v --no-build-isolation --no-deps --no-cache-dir \
    --config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES="$arch" .
$py -c "import symbreak; assert symbreak.cuda_available(), symbreak.cuda_unavailable_reason()" || exit 1

step tests 300 $py -m pytest -q -m gpu -p no:cacheprovider tests
[ "${1:-all}" = tests ] && exit $status

step optim 240 $py bench/bench_optim.py --device cuda --sizes 1 16 124 --out "$out/optim_cuda.json"
step train 150 $py bench/bench_train.py --device cuda --out "$out/train_cuda.json"
step train_gpt2 240 $py bench/bench_train.py --device cuda --layers 12 --d-model 768 --heads 12 --vocab 50257 \
    --block 1024 --batch 8 --steps 5 --rounds 5 --out "$out/train_cuda_124m.json"
step engines 180 $py bench/bench_gpu.py --out "$out/engines.json"
step lattice 150 $py bench/bench_lattice.py --sizes 2:1024,2:4096,3:256 --repeats 3 --out "$out/lattice_cuda.json"
exit $status
