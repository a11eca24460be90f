"""Smoke tests of the benchmark scripts (tiny sizes, fixed counts, JSON structure and positive throughputs):
bench_lattice, bench_optim, bench_xy, bench_train, and bench_gpu run on the CPU."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bench_lattice.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_lattice", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """Run the benchmark's main on 2D L=64 and 3D L=16 with 2 sweeps; returns (module, returned dict, out dir)."""
    mod = _load()
    out = tmp_path_factory.mktemp("bench")
    data = mod.main(["--sizes", "2:64,3:16", "--sweeps", "2", "--repeats", "2",
                     "--out", str(out / "lattice.json"), "--md", str(out / "lattice.md")])
    return mod, data, out


def test_json_structure(bench):
    mod, data, out = bench
    saved = json.loads((out / "lattice.json").read_text())
    assert saved["measurements"] == json.loads(json.dumps(data["measurements"]))
    for key in ("machine", "symbreak", "versions", "settings", "measurements", "ratios"):
        assert key in saved
    assert saved["machine"]["usable_cores"] >= 1 and saved["machine"]["cpu_model"]
    assert "version" in saved["symbreak"] and saved["versions"]["numpy"]
    assert {(r["dim"], r["L"]) for r in saved["ratios"]} == {(2, 64), (3, 16)}
    for r in saved["measurements"]:
        assert {"impl", "device", "threads", "dim", "L", "call"} <= r.keys()
        if "skipped" in r:
            assert r["skipped"]
            continue
        assert r["sweeps"] == 2 and len(r["seconds"]["all"]) == 2
        assert r["seconds"]["median"] > 0 and r["flips_per_ns"] > 0
    measured = {(r["impl"], r["device"], r["threads"], r["dim"]) for r in saved["measurements"] if "flips_per_ns" in r}
    for dim in (2, 3):
        assert ("symbreak", "cpu", 1, dim) in measured and ("numpy", "cpu", 1, dim) in measured
    assert all(q["symbreak_cpu_all_vs_numpy"] > 0 for q in saved["ratios"])
    assert (out / "lattice.md").read_text().startswith("| lattice | symbreak 1 thread |")


def test_numpy_baseline_energy():
    """The numpy baseline is a real Metropolis: a cold lattice at low T stays ordered, a hot one disorders."""
    mod = _load()
    cold = mod.NumpyCheckerboard((32, 32), 1.0, seed=1)
    cold.spins[:] = 1
    cold.sweep(20)
    assert cold.energy() < -1.95
    hot = mod.NumpyCheckerboard((32, 32), 50.0, seed=1)
    hot.spins[:] = 1
    hot.sweep(20)
    assert abs(hot.energy()) < 0.3


def test_mcising_measured(bench):
    pytest.importorskip("mcising")
    _, data, _ = bench
    mc = [r for r in data["measurements"] if r["impl"] == "mcising"]
    assert len(mc) == 2 and all(r["flips_per_ns"] > 0 for r in mc)
    assert data["versions"]["mcising"]
    assert all(q["symbreak_cpu_all_vs_mcising"] > 0 for q in data["ratios"])


def test_optimizer_benchmark_smoke(tmp_path):
    """bench/bench_optim.py runs end to end on a tiny model and writes its JSON."""
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("bench_optim", Path(__file__).parents[1] / "bench" / "bench_optim.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "optim.json"
    result = bench.main(["--sizes", "0.02", "--repeats", "1", "--out", str(out)])
    assert json.loads(out.read_text())["rows"] == result["rows"]
    timed = [r for r in result["rows"] if "seconds" in r]
    assert {r["impl"] for r in timed} == {"ECD-fused", "ECD-foreach", "ECD-reference", "AdamW-foreach", "AdamW-fused"}
    assert all(r["seconds"] > 0 and r["state_bytes"] > 0 for r in timed)
    ecd = next(r for r in timed if r["impl"] == "ECD-fused")
    adam = next(r for r in timed if r["impl"] == "AdamW-fused" and r["layout"] == ecd["layout"])
    assert adam["state_bytes"] == 2 * ecd["state_bytes"]  # one state buffer against two


def test_bench_gpu_smoke_on_the_cpu(tmp_path):
    """bench/bench_gpu.py (what gpu_check.sh runs on a GPU) through the same code on the CPU, tiny sizes."""
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT.with_name("bench_gpu.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = mod.main(["--device", "cpu", "--quick", "--repeats", "1", "--out", str(tmp_path / "gpu.json")])
    assert json.loads((tmp_path / "gpu.json").read_text())["rows"] == json.loads(json.dumps(data["rows"]))
    assert {r["what"] for r in data["rows"]} == {"xy_baoab float32", "xy_baoab float64", "ising_metropolis",
                                                 "lj_nve float32", "lj_nve float64"}
    assert all(v > 0 for r in data["rows"] for k, v in r.items() if k not in ("what", "size"))
    assert data["copy_bytes_per_s"] > 0


def test_bench_xy_smoke(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_xy", SCRIPT.with_name("bench_xy.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = mod.main(["--sizes", "16", "--steps", "1", "--repeats", "1", "--replicas", "8",
                     "--out", str(tmp_path / "xy.json"), "--md", str(tmp_path / "xy.md")])
    assert json.loads((tmp_path / "xy.json").read_text())["measurements"] == json.loads(json.dumps(data["measurements"]))
    whats = {r["what"] for r in data["measurements"]}
    assert whats == {"xy_baoab", "xy_measured", "xy_metropolis", "ising_replicas", "xy_replicas"}
    assert all(r["per_ns"] > 0 for r in data["measurements"])
    assert (tmp_path / "xy.md").read_text().startswith("| what |")


def test_bench_train_smoke(tmp_path):
    """bench/bench_train.py on a tiny GPT: both optimizers train, ratios and shares are finite and positive."""
    spec = importlib.util.spec_from_file_location("bench_train", SCRIPT.parent / "bench_train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "train.json"
    data = mod.main(["--layers", "1", "--d-model", "32", "--heads", "2", "--vocab", "64", "--block", "16",
                     "--batch", "2", "--steps", "1", "--rounds", "2", "--out", str(out)])
    assert json.loads(out.read_text())["model"]["params"] == data["model"]["params"] > 0
    assert len(data["rounds"]["train"]) == 2 and data["ecd_over_adamw_tokens_per_s"] > 0
    for k in ("adamw", "ecd"):
        assert data["tokens_per_s"][k] > 0 and 0 < data["optimizer_ms"][k] < data["step_ms"][k]
