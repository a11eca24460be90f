"""symbreak.particles.trajectory: GSD and extended XYZ round trips, and the files as gsd.hoomd and freud see them."""

import sys

import numpy as np
import pytest

from symbreak.particles import Frame, GSDWriter, XYZWriter, read_trajectory, trajectory_writer, write_trajectory

gsd_hoomd = pytest.importorskip("gsd.hoomd")


def make_frames(dim, dtype=np.float64, n=40, count=3, seed=0, velocities=True):
    rng = np.random.default_rng(seed)
    box = np.array([7.25, 5.5, 6.0][:dim])  # float32-representable sides: the GSD box is stored as float32
    frames = []
    for s in range(count):
        pos = (rng.uniform(0, 1, (n, dim)) * box).astype(dtype)
        pos = np.where(pos >= box, 0, pos)  # float32 rounding may reach L
        vel = rng.normal(size=(n, dim)).astype(dtype) if velocities else None
        types = rng.choice(["A", "B", "Cx"], n)
        frames.append(Frame(step=100 * s, box=box, positions=pos, velocities=vel, types=types,
                            log={"potential_energy": -2.5 + s, "temperature": 1.0 / (s + 1)}))
    return frames


def assert_same(back, frames, pos_atol=0.0, vel_atol=0.0):
    assert len(back) == len(frames)
    for b, f in zip(back, frames):
        assert b.step == f.step and b.dim == f.dim and b.n == f.n
        np.testing.assert_array_equal(b.box, f.box)
        np.testing.assert_allclose(b.positions, f.positions, rtol=0, atol=pos_atol)
        if f.velocities is None:
            assert b.velocities is None or not b.velocities.any()
        else:
            np.testing.assert_allclose(b.velocities, f.velocities, rtol=0, atol=vel_atol)
        np.testing.assert_array_equal(b.type_names(), f.type_names())
        assert b.log == pytest.approx(f.log, rel=1e-15)
        assert b.positions.dtype == np.float64 and np.all((b.positions >= 0) & (b.positions < b.box))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_xyz_round_trip_is_exact(tmp_path, dim, dtype):
    frames = make_frames(dim, dtype)
    write_trajectory(tmp_path / "t.xyz", frames)
    assert_same(read_trajectory(tmp_path / "t.xyz"), frames)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gsd_round_trip(tmp_path, dim, dtype):
    frames = make_frames(dim, dtype)
    write_trajectory(tmp_path / "t.gsd", frames)
    # float32 storage, centred on the box: the error is float32 rounding at the scale of L/2.
    tol = 2.0 ** -22 * frames[0].box.max()
    assert_same(read_trajectory(tmp_path / "t.gsd"), frames, pos_atol=tol, vel_atol=1e-6)
    if dtype == np.float32:  # velocities are not shifted: float32 data comes back unchanged
        np.testing.assert_array_equal(read_trajectory(tmp_path / "t.gsd")[1].velocities, frames[1].velocities)


@pytest.mark.parametrize("dim", [2, 3])
def test_gsd_double_precision(tmp_path, dim):
    if "precision" not in __import__("inspect").signature(gsd_hoomd.open).parameters:
        pytest.skip("this gsd cannot write double precision")
    frames = make_frames(dim)
    write_trajectory(tmp_path / "t.gsd", frames, precision="double")
    assert_same(read_trajectory(tmp_path / "t.gsd"), frames, pos_atol=1e-14)


@pytest.mark.parametrize("dim", [2, 3])
def test_gsd_file_follows_the_hoomd_schema(tmp_path, dim):
    frames = make_frames(dim)
    write_trajectory(tmp_path / "t.gsd", frames)
    with gsd_hoomd.open(str(tmp_path / "t.gsd"), "r") as traj:
        assert len(traj) == len(frames)
        g, f = traj[1], frames[1]
        assert g.configuration.step == 100 and g.configuration.dimensions == dim
        expected_box = [*f.box, *([0.0] if dim == 2 else []), 0, 0, 0]
        np.testing.assert_array_equal(g.configuration.box, np.array(expected_box, dtype=np.float32))
        centred = np.zeros((f.n, 3), np.float32)
        centred[:, :dim] = f.positions - f.box / 2
        np.testing.assert_allclose(g.particles.position, centred, atol=1e-6)
        half = g.configuration.box[:dim] / 2
        assert np.all((g.particles.position[:, :dim] >= -half) & (g.particles.position[:, :dim] < half))
        assert g.particles.position.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(g.particles.types)[g.particles.typeid], f.types)
        assert float(g.log["temperature"][0]) == f.log["temperature"]


def test_gsd_readable_by_freud(tmp_path):
    freud = pytest.importorskip("freud")
    from symbreak.analysis import structure as st

    frames = make_frames(2, n=300)
    write_trajectory(tmp_path / "t.gsd", frames)
    with gsd_hoomd.open(str(tmp_path / "t.gsd"), "r") as traj:
        g = traj[0]
        fbox = freud.box.Box.from_box(g.configuration.box)
        assert fbox.is2D
        assert fbox.contains(g.particles.position).all()
        hexatic = freud.order.Hexatic(k=6).compute((fbox, g.particles.position), neighbors={"num_neighbors": 6})
    ours = st.psi6(frames[0].positions, frames[0].box)
    np.testing.assert_allclose(hexatic.particle_order, ours.psi, atol=1e-3)


def test_gsd_written_by_others(tmp_path):
    """HOOMD 2 wrote 2D boxes with Lz = 1; no velocities or log; positions on the -L/2 face."""
    g = gsd_hoomd.Frame()
    g.configuration.step, g.configuration.dimensions = 7, 2
    g.configuration.box = [4.0, 2.0, 1.0, 0, 0, 0]
    g.particles.N, g.particles.types, g.particles.typeid = 3, ["P", "Q"], [1, 0, 1]
    g.particles.position = [[-2.0, -1.0, 0.0], [0.5, 0.25, 0.0], [1.75, 0.0, 0.0]]
    with gsd_hoomd.open(str(tmp_path / "h.gsd"), "w") as f:
        f.append(g)
    (frame,) = read_trajectory(tmp_path / "h.gsd")
    assert frame.step == 7 and frame.log == {}
    np.testing.assert_array_equal(frame.box, [4.0, 2.0])
    np.testing.assert_array_equal(frame.positions, [[0.0, 0.0], [2.5, 1.25], [3.75, 1.0]])
    np.testing.assert_array_equal(frame.types, ["Q", "P", "Q"])
    np.testing.assert_array_equal(frame.velocities, np.zeros((3, 2)))  # GSD default


@pytest.mark.parametrize("suffix", [".gsd", ".xyz"])
def test_append_mode_and_streaming_writer(tmp_path, suffix):
    frames = make_frames(3, count=4)
    path = tmp_path / f"t{suffix}"
    write_trajectory(path, frames[:2])
    with trajectory_writer(path, mode="a") as out:
        assert isinstance(out, GSDWriter if suffix == ".gsd" else XYZWriter)
        for f in frames[2:]:
            out.append(f)
    back = read_trajectory(path)
    assert [f.step for f in back] == [0, 100, 200, 300]
    with pytest.raises(FileExistsError):
        trajectory_writer(path, mode="x")


def test_gsd_log_names_must_not_change(tmp_path):
    frames = make_frames(2, count=2)
    frames[1].log = {"potential_energy": 1.0}
    with pytest.raises(ValueError, match="log names"):
        write_trajectory(tmp_path / "t.gsd", frames)


def test_xyz_header_and_2d_padding(tmp_path):
    frame = Frame(step=5, box=[3.0, 2.0], positions=[[0.5, 1.5], [2.0, 0.0]], velocities=[[1.0, -1.0], [0.0, 2.0]],
                  log={"E": -1.25})
    write_trajectory(tmp_path / "t.xyz", [frame])
    lines = (tmp_path / "t.xyz").read_text().splitlines()
    assert lines[0] == "2"
    assert 'Lattice="3.0 0.0 0.0 0.0 2.0 0.0 0.0 0.0 1.0"' in lines[1]
    assert "Properties=species:S:1:pos:R:3:vel:R:3" in lines[1]
    assert 'pbc="T T F"' in lines[1] and "dimensions=2" in lines[1] and "step=5" in lines[1] and "E=-1.25" in lines[1]
    assert lines[2].split() == ["A", "0.5", "1.5", "0", "1", "-1", "0"]
    (back,) = read_trajectory(tmp_path / "t.xyz")
    assert back.velocities is not None and back.log == {"E": -1.25}


def test_xyz_from_other_writers(tmp_path):
    """Columns in another order, extra columns, an Origin, no velocities, non-numeric metadata."""
    text = ("2\n"
            'Properties=id:I:1:pos:R:3:species:S:1 Lattice="4 0 0 0 4 0 0 0 4" Origin="-2 -2 -2" '
            'pbc="T T T" Time=0.5 comment="hello world"\n'
            "1 -1.5 0.0 1.5 Ar\n"
            "2 1.0 -2.0 0.25 Ne\n")
    (tmp_path / "o.extxyz").write_text(text)
    (frame,) = read_trajectory(tmp_path / "o.extxyz")
    np.testing.assert_array_equal(frame.box, [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(frame.positions, [[0.5, 2.0, 3.5], [3.0, 0.0, 2.25]])
    np.testing.assert_array_equal(frame.types, ["Ar", "Ne"])
    assert frame.velocities is None and frame.step == 0 and frame.log == {"Time": 0.5}


@pytest.mark.parametrize("text, match", [
    ("2\nLattice=\"1 0 0 0 1 0 0 0 1\"\nA 0 0 0\n", "ends inside"),
    ("x\n", "particle count"),
    ("1\nProperties=species:S:1:pos:R:3\nA 0 0 0\n", "Lattice"),
    ("1\nLattice=\"1 1 0 0 1 0 0 0 1\"\nA 0 0 0\n", "diagonal"),
    ("1\nLattice=\"1 0 0 0 1 0 0 0 1\" pbc=\"F F F\"\nA 0 0 0\n", "pbc"),
    ("2\nLattice=\"1 0 0 0 1 0 0 0 1\"\nA 0 0 0\nA 0 0\n", "particle 1 has 3 columns"),
])
def test_bad_xyz(tmp_path, text, match):
    (tmp_path / "bad.xyz").write_text(text)
    with pytest.raises(ValueError, match=match):
        read_trajectory(tmp_path / "bad.xyz")


@pytest.mark.parametrize("kwargs, match", [
    ({"positions": [[1.0, 5.0]]}, r"\[0, L\)"),
    ({"positions": [[1.0, 1.0, 1.0]]}, "positions"),
    ({"velocities": [[1.0, 1.0], [2.0, 2.0]]}, "velocities"),
    ({"types": ["A B"]}, "types"),
    ({"types": ["A", "B"]}, "types"),
    ({"step": -1}, "step"),
    ({"log": {"bad name": 1.0}}, "log"),
    ({"box": [2.0, 0.0]}, "box"),
])
def test_frame_errors(kwargs, match):
    args = {"step": 0, "box": [2.0, 2.0], "positions": [[1.0, 1.0]]} | kwargs
    with pytest.raises(ValueError, match=match):
        Frame(**args)


def test_dispatch_errors(tmp_path):
    with pytest.raises(ValueError, match="suffix|.gsd"):
        write_trajectory(tmp_path / "t.dcd", make_frames(2))
    with pytest.raises(FileNotFoundError):
        read_trajectory(tmp_path / "missing.gsd")
    with pytest.raises(ValueError, match="mode"):
        trajectory_writer(tmp_path / "t.xyz", mode="r")
    with pytest.raises(ValueError, match="precision"):
        trajectory_writer(tmp_path / "t.gsd", precision="half")
    with pytest.raises(ValueError, match="Frame"):
        write_trajectory(tmp_path / "t.xyz", [{"step": 0}])


def test_gsd_missing_gives_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gsd", None)
    monkeypatch.setitem(sys.modules, "gsd.hoomd", None)
    with pytest.raises(ImportError, match=r"pip install symbreak\[particles\]"):
        GSDWriter(tmp_path / "t.gsd")
