"""The command line (symbreak.cli) and its figure (symbreak.plot), run in-process on tiny lattices."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symbreak
from symbreak import schedules
from symbreak.cli import Progress, main
from symbreak.lattice import Ising

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open() as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_ising_anneal_writes_csv_json_png(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["ising", "--shape", "32", "32", "--anneal", "3.5:1.0", "--sweeps", "200", "--seed", "7",
            "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(out / "ising.png")

    header, rows = read_csv(out / "observables.csv")
    assert header == ["step", "T", "m", "abs_m", "u"]
    assert len(rows) == 200 // 10
    assert [int(r[0]) for r in rows] == list(range(10, 201, 10))
    T = np.array([float(r[1]) for r in rows])
    assert np.all(np.diff(T) < 0) and T[-1] == 1.0

    png = (out / "ising.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000

    run = json.loads((out / "run.json").read_text())
    p = run["parameters"]
    assert p["shape"] == [32, 32] and p["sweeps"] == 200 and p["anneal"] == [3.5, 1.0]
    assert p["algorithm"] == "metropolis" and p["seed"] == 7 and p["measure_every"] == 10
    s = run["summary"]
    assert len(s["snapshot_T"]) == 4 and s["snapshot_T"][-1] == 1.0
    assert 0.0 <= s["final_abs_m"] <= 1.0 and -2.0 <= s["final_u"] <= 2.0 and s["elapsed_s"] > 0


def test_chunked_run_equals_one_call(tmp_path):
    """Progress chunks and snapshots do not change the trajectory (random numbers are keyed by sweep)."""
    assert main(["ising", "--shape", "16", "16", "--anneal", "3:1.5", "--sweeps", "120", "--measure-every", "4",
                 "--seed", "3", "--algorithm", "heat_bath", "--out", str(tmp_path), "--quiet"]) == 0
    _, rows = read_csv(tmp_path / "observables.csv")
    ref = Ising((16, 16), T=3.0, seed=3, algorithm="heat_bath").run(schedules.linear(3.0, 1.5, 120),
                                                                      measure_every=4)
    np.testing.assert_array_equal(np.array([float(r[2]) for r in rows]), ref.m)
    np.testing.assert_array_equal(np.array([float(r[4]) for r in rows]), ref.u)


def test_constant_T_with_unmeasured_tail(tmp_path, capsys):
    assert main(["ising", "--shape", "8", "8", "--T", "2.0", "--sweeps", "25", "--measure-every", "10",
                 "--snapshots", "2", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err  # not a terminal: a few plain progress lines instead of a bar
    assert "25/25 sweeps" in err and "sweeps/s" in err and "\r" not in err
    _, rows = read_csv(tmp_path / "observables.csv")
    assert [r[0] for r in rows] == ["10", "20"] and {r[1] for r in rows} == {"2.0"}
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["parameters"]["T"] == 2.0 and run["parameters"]["anneal"] is None
    assert (tmp_path / "ising.png").read_bytes().startswith(PNG_MAGIC)


def test_progress_bar_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    bar = Progress(100, stream)
    bar.update(50, 2.0)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r[" + "#" * 15 + "." * 15 + "]") and "50/100 sweeps" in text
    assert "ETA" in text and text.endswith("\n")


BAD = [
    (["--shape", "33", "32"], "shape"),
    (["--shape", "32"], "shape"),
    (["--T", "-1"], "--T"),
    (["--anneal", "3.5"], "--anneal"),
    (["--anneal", "3.5:0"], "--anneal"),
    (["--algorithm", "glauber"], "--algorithm"),
    (["--measure-every", "0"], "--measure-every"),
    (["--measure-every", "500", "--sweeps", "100"], "--measure-every"),
    (["--seed", "-1"], "seed"),
    (["--J", "nan"], "J"),
    (["--T", "2", "--anneal", "3:1"], "--anneal"),
]


@pytest.mark.parametrize("args, name", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_arguments_exit_2_naming_the_parameter(args, name, tmp_path, capsys):
    assert main(["ising", "--sweeps", "10", "--out", str(tmp_path), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert name in err and "error" in err and "Traceback" not in err
    assert not (tmp_path / "observables.csv").exists()


@pytest.mark.skipif(symbreak.cuda_available(), reason="a CUDA device is visible")
def test_cuda_device_without_gpu_exits_2(tmp_path, capsys):
    assert main(["ising", "--shape", "8", "8", "--sweeps", "10", "--device", "cuda", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symbreak: error: device='cuda'") and "Traceback" not in err


def test_missing_matplotlib_gives_install_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["ising", "--shape", "8", "8", "--sweeps", "10", "--out", str(tmp_path), "--quiet"]) == 1
    assert "pip install symbreak[plot]" in capsys.readouterr().err
    assert (tmp_path / "observables.csv").exists()  # the data are written before the figure


def test_python_m_symbreak_info():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(symbreak.__file__).parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "symbreak", "info"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "symbreak" in proc.stdout and "CUDA" in proc.stdout


def test_xy_latent_quench_commands_write_their_files(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["xy", "--shape", "16", "16", "--cool", "1.5:0.3", "--steps", "100", "--measure-every", "10",
                 "--out", str(tmp_path / "xy"), "--quiet"]) == 0
    header, rows = read_csv(tmp_path / "xy" / "observables.csv")
    assert header[-1] == "vortex_density" and len(rows) == 10
    assert json.loads((tmp_path / "xy" / "run.json").read_text())["summary"]["final_T"] == pytest.approx(0.3)
    assert (tmp_path / "xy" / "xy.png").read_bytes()[:8] == PNG_MAGIC

    assert main(["latent", "--shape", "8", "8", "--temps", "1.5,4.0", "--replicas", "16", "--samples", "2",
                 "--burn", "20", "--ks", "1", "4", "--out", str(tmp_path / "lat"), "--quiet"]) == 0
    header, rows = read_csv(tmp_path / "lat" / "latent.csv")
    assert header[:3] == ["T", "mi", "mi_err"] and len(rows) == 2
    assert (tmp_path / "lat" / "latent.png").read_bytes()[:8] == PNG_MAGIC

    assert main(["quench", "--shape", "8", "8", "--steps", "5", "20", "--replicas", "4", "--out",
                 str(tmp_path / "q"), "--quiet"]) == 0
    assert len(read_csv(tmp_path / "q" / "quench.csv")[1]) == 2
    assert capsys.readouterr().out.split() == [str(tmp_path / d / f) for d, f in
                                                (("xy", "xy.png"), ("lat", "latent.png"), ("q", "quench.png"))]


def test_latent_rejects_bad_temperatures(capsys):
    assert main(["latent", "--temps", "2.0:1.0"]) == 2
    assert "T0:T1:N" in capsys.readouterr().err
