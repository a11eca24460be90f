"""Trajectories of particle configurations: GSD (HOOMD schema) and extended XYZ, written and read back.

A :class:`Frame` holds one configuration in symbreak's convention: box side lengths ``(Lx, Ly)`` or
``(Lx, Ly, Lz)`` with the origin at 0, positions (N, d) in [0, L), velocities (N, d) or None, per-particle type
names, and per-frame scalars (``log``). Arrays are stored as float64.

File conventions, so that freud, OVITO and ASE read the files as they are:

- **GSD** (needs the optional ``gsd`` package): positions centred on [-L/2, L/2) as HOOMD stores them; a 2D box
  is written with ``dimensions = 2`` and Lz = 0 (HOOMD ≥ 3; Lz = 1 from older writers is read too) and z = 0;
  ``typeid`` indexes ``types``; ``log`` scalars go to ``log/<name>``. ``precision="single"`` (the default, what
  HOOMD writes) stores float32 positions and velocities; ``"double"`` stores them as float64 (needs a recent gsd;
  not every reader handles it). The box is always float32 in GSD, so a frame reads back with the float32-rounded
  box (and positions relative to it).
- **Extended XYZ**: ``Lattice="Lx 0 0 0 Ly 0 0 0 Lz"``, ``Properties=species:S:1:pos:R:3[:vel:R:3]``,
  ``pbc="T T T"``, ``step=<n>`` and one ``name=value`` pair per log scalar, positions in [0, L). 2D frames are
  padded with z = 0, Lz = 1 and written with ``pbc="T T F" dimensions=2``. Numbers are written with 17
  significant digits, so float32 and float64 data round-trip exactly.

Example::

    from symbreak.particles import Frame, read_trajectory, trajectory_writer

    with trajectory_writer("run.gsd") as out:
        out.append(Frame(step=0, box=box, positions=pos, velocities=vel, log={"temperature": 1.0}))
    frames = read_trajectory("run.gsd")
"""

from __future__ import annotations

import inspect
import io
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence, TextIO, Union

import numpy as np

from .._periodic import as_box, as_positions, as_vectors, wrap
from .._validate import require_choice, require_int

__all__ = ["Frame", "GSDWriter", "XYZWriter", "trajectory_writer", "write_trajectory", "read_trajectory"]

PathLike = Union[str, Path]
_GSD_SUFFIXES = (".gsd",)
_XYZ_SUFFIXES = (".xyz", ".extxyz")


def _check_name(what: str, name: str) -> str:
    """Type and log names end up as bare words in XYZ headers and columns: no whitespace, quotes or '='."""
    if not isinstance(name, str) or not name or any(c.isspace() or c in "\"'=" for c in name):
        raise ValueError(f"{what} must be non-empty strings without whitespace, quotes or '=', got {name!r}")
    return name


@dataclass
class Frame:
    """One configuration: ``step``, ``box`` (d,), ``positions`` (N, d) in [0, L), ``velocities`` (N, d) or None,
    ``types`` (N,) type names or None (all "A"), ``log`` {name: float}. Validated and copied to float64 arrays on
    construction (a snapshot: later changes to the caller's arrays do not reach it)."""

    step: int
    box: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray | None = None
    types: np.ndarray | None = None
    log: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.step = require_int("step", self.step, 0)
        self.box = as_box(self.box)
        self.positions = as_positions(self.positions, self.box).copy()
        n, d = self.positions.shape
        if self.velocities is not None:
            self.velocities = as_vectors(self.velocities, "velocities", dim=d, n=n).copy()
        if self.types is not None:
            t = np.asarray(self.types)
            if t.shape != (n,):
                raise ValueError(f"types must have shape ({n},) (one name per particle), got {t.shape}")
            self.types = np.array([_check_name("types", str(s)) for s in t.tolist()], dtype=str)
        self.log = {_check_name("log names", k): float(v) for k, v in dict(self.log).items()}

    @property
    def n(self) -> int:
        """Number of particles."""
        return self.positions.shape[0]

    @property
    def dim(self) -> int:
        """Spatial dimension (2 or 3)."""
        return self.box.shape[0]

    def type_names(self) -> np.ndarray:
        """Per-particle type names, "A" for every particle when ``types`` is None."""
        return np.full(self.n, "A") if self.types is None else self.types


def _suffix(path: PathLike) -> str:
    s = Path(path).suffix.lower()
    if s not in _GSD_SUFFIXES + _XYZ_SUFFIXES:
        raise ValueError(f"path must end in .gsd, .xyz or .extxyz, got {str(path)!r}")
    return s


# --- GSD ----------------------------------------------------------------------------------------------------


def _gsd_hoomd() -> Any:
    try:
        import gsd.hoomd
    except ImportError as e:
        raise ImportError("GSD trajectories need the gsd package: pip install symbreak[particles]") from e
    return gsd.hoomd


class GSDWriter:
    """Append :class:`Frame` s to a GSD file (HOOMD schema). Use as a context manager or call :meth:`close`.

    Args:
        path: file name. mode: "w" (create or overwrite), "x" (create, fail if it exists) or "a" (append).
        precision: "single" (float32, what HOOMD writes) or "double" (float64; needs a gsd whose
            ``hoomd.open`` takes ``precision``, and not every reader handles it).

    Every frame must carry the same ``log`` names as the file's first frame: GSD readers fill a missing log entry
    from frame 0, which would silently repeat a stale value.
    """

    def __init__(self, path: PathLike, mode: str = "w", precision: str = "single"):
        hoomd = _gsd_hoomd()
        require_choice("mode", mode, ("w", "x", "a"))
        require_choice("precision", precision, ("single", "double"))
        kwargs = {}
        if precision == "double":
            if "precision" not in inspect.signature(hoomd.open).parameters:
                raise ValueError("precision='double' needs a gsd whose hoomd.open takes precision: pip install -U gsd")
            kwargs["precision"] = precision
        self._float = np.float64 if precision == "double" else np.float32
        self._file = hoomd.open(str(path), mode, **kwargs)
        self._log_names = set(self._file[0].log) if len(self._file) else None

    def append(self, frame: Frame) -> None:
        """Write one frame (positions shifted to GSD's centred [-L/2, L/2))."""
        if self._log_names is None:
            self._log_names = set(frame.log)
        elif set(frame.log) != self._log_names:
            raise ValueError(f"frame.log names {sorted(frame.log)} differ from the file's first frame "
                             f"{sorted(self._log_names)}")
        hoomd = _gsd_hoomd()
        n, d = frame.n, frame.dim
        g = hoomd.Frame()
        g.configuration.step = frame.step
        g.configuration.dimensions = d
        # GSD stores the box in float32 whatever the precision: centre on that box so the file is consistent
        # (a point in [L32, L) when L32 < L moves to its image). Rounding the result to float32 can land a point
        # exactly on +L/2, outside HOOMD's half-open box: it moves to -L/2, the same point.
        half = frame.box.astype(np.float32).astype(np.float64) / 2
        centred = frame.positions - half
        centred = np.where(centred >= half, centred - 2 * half, centred).astype(self._float)
        centred = np.where(centred >= half, -half, centred)
        g.configuration.box = [*(2 * half), *([0.0] if d == 2 else []), 0.0, 0.0, 0.0]
        g.particles.N = n
        g.particles.position = np.zeros((n, 3), self._float)
        g.particles.position[:, :d] = centred
        if frame.velocities is not None:
            g.particles.velocity = np.zeros((n, 3), self._float)
            g.particles.velocity[:, :d] = frame.velocities
        names, typeid = np.unique(frame.type_names(), return_inverse=True)
        g.particles.types = [str(s) for s in names]
        g.particles.typeid = typeid.astype(np.uint32)
        g.log = {k: np.array([v], dtype=np.float64) for k, v in frame.log.items()}
        self._file.append(g)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> GSDWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_gsd(path: PathLike) -> list[Frame]:
    hoomd = _gsd_hoomd()
    frames = []
    with hoomd.open(str(path), "r") as traj:
        for index, g in enumerate(traj):
            dim = int(g.configuration.dimensions)
            lx, ly, lz, *tilt = (float(x) for x in g.configuration.box)
            if any(tilt):
                raise ValueError(f"{path}: frame {index} has a triclinic box (tilts {tilt}); only rectangular "
                                 "boxes are supported")
            box = np.array([lx, ly] if dim == 2 else [lx, ly, lz])
            pos = wrap(g.particles.position[:, :dim].astype(np.float64) + box / 2, box)
            # GSD has no "absent" velocities: an unwritten chunk means the default, zero.
            vel = g.particles.velocity[:, :dim].astype(np.float64)
            types = np.asarray(g.particles.types, dtype=str)[g.particles.typeid]
            log = {k: float(v.ravel()[0]) for k, v in g.log.items() if np.size(v) == 1}
            frames.append(Frame(int(g.configuration.step), box, pos, vel, types, log))
    return frames


# --- extended XYZ -------------------------------------------------------------------------------------------


class XYZWriter:
    """Append :class:`Frame` s to an extended XYZ file. Use as a context manager or call :meth:`close`.

    Args:
        path: file name. mode: "w" (create or overwrite), "x" (create, fail if it exists) or "a" (append).
    """

    def __init__(self, path: PathLike, mode: str = "w"):
        require_choice("mode", mode, ("w", "x", "a"))
        self._fh: TextIO = open(path, mode, encoding="ascii")

    def append(self, frame: Frame) -> None:
        """Write one frame."""
        n, d = frame.n, frame.dim
        cell = np.diag(np.append(frame.box, 1.0) if d == 2 else frame.box)
        header = [
            f'Lattice="{" ".join(repr(float(x)) for x in cell.ravel())}"',
            "Properties=species:S:1:pos:R:3" + (":vel:R:3" if frame.velocities is not None else ""),
            'pbc="T T F" dimensions=2' if d == 2 else 'pbc="T T T"',
            f"step={frame.step}",
            *(f"{k}={v!r}" for k, v in frame.log.items()),
        ]
        cols = [frame.positions] + ([frame.velocities] if frame.velocities is not None else [])
        data = np.zeros((n, 3 * len(cols)))
        for c, a in enumerate(cols):
            data[:, 3 * c:3 * c + d] = a
        body = io.StringIO()
        np.savetxt(body, data, fmt="%.17g")
        lines = body.getvalue().splitlines()
        self._fh.write(f"{n}\n{' '.join(header)}\n")
        self._fh.writelines(f"{t} {row}\n" for t, row in zip(frame.type_names(), lines))

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> XYZWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse_header(line: str) -> dict[str, str]:
    """``key=value`` pairs of an extended XYZ comment line (values may be double-quoted); bare words → "T"."""
    pairs = {}
    for token in shlex.split(line):
        key, eq, value = token.partition("=")
        pairs[key] = value if eq else "T"
    return pairs


def _columns(properties: str, where: str) -> tuple[int, dict[str, tuple[int, int]]]:
    """Total column count and {name: (first column, count)} from a ``Properties=`` value."""
    parts = properties.split(":")
    if len(parts) % 3:
        raise ValueError(f"{where}: malformed Properties={properties!r}")
    cols, start = {}, 0
    for name, _, count in zip(parts[::3], parts[1::3], parts[2::3]):
        cols[name.lower()] = (start, int(count))
        start += int(count)
    return start, cols


def _read_xyz_frame(lines: Sequence[str], where: str, index: int) -> Frame:
    n = int(lines[0])
    pairs = _parse_header(lines[1])
    head = {k.lower(): v for k, v in pairs.items()}
    if "lattice" not in head:
        raise ValueError(f"{where}: no Lattice= in the header; a periodic box is needed")
    cell = np.array(head["lattice"].split(), dtype=np.float64).reshape(3, 3)
    if np.any(cell != np.diag(np.diag(cell))):
        raise ValueError(f"{where}: Lattice is not diagonal; only rectangular boxes are supported")
    pbc = [s.upper() in ("T", "TRUE", "1") for s in head.get("pbc", "T T T").split()]
    if head.get("dimensions") == "2" or pbc == [True, True, False]:
        dim = 2
    elif pbc == [True, True, True]:
        dim = 3
    else:
        raise ValueError(f"{where}: pbc={head['pbc']!r} is neither 3D periodic nor 2D (T T F)")
    box = np.diag(cell)[:dim].copy()
    width, cols = _columns(head.get("properties", "species:S:1:pos:R:3"), where)
    if "pos" not in cols or "species" not in cols:
        raise ValueError(f"{where}: Properties must include species and pos")
    rows = [s.split() for s in lines[2:2 + n]]
    short = next((i for i, r in enumerate(rows) if len(r) != width), None)
    if short is not None:
        raise ValueError(f"{where}: particle {short} has {len(rows[short])} columns, Properties declare {width}")
    table = np.array(rows, dtype=str).reshape(n, width)

    def block(name: str) -> np.ndarray:
        start, count = cols[name]
        return table[:, start:start + count].astype(np.float64)[:, :dim]

    origin = np.array(head.get("origin", "0 0 0").split(), dtype=np.float64)[:dim]
    vel_name = next((v for v in ("vel", "velo", "velocities") if v in cols), None)
    log = {}
    for key, value in pairs.items():
        if key.lower() in ("lattice", "properties", "pbc", "dimensions", "origin", "step"):
            continue
        try:
            log[key] = float(value)
        except ValueError:
            pass  # non-numeric metadata from other writers
    return Frame(int(head.get("step", index)), box, wrap(block("pos") - origin, box),
                 block(vel_name) if vel_name else None, table[:, cols["species"][0]], log)


def _read_xyz(path: PathLike) -> list[Frame]:
    with open(path, encoding="ascii") as fh:
        lines = fh.read().splitlines()
    frames, at = [], 0
    while at < len(lines) and lines[at].strip():
        where = f"{path}: frame {len(frames)} (line {at + 1})"
        try:
            n = int(lines[at])
        except ValueError:
            raise ValueError(f"{where}: expected the particle count, got {lines[at]!r}") from None
        if at + 2 + n > len(lines):
            raise ValueError(f"{where}: file ends inside the frame")
        frames.append(_read_xyz_frame(lines[at:at + 2 + n], where, len(frames)))
        at += 2 + n
    return frames


# --- dispatch -----------------------------------------------------------------------------------------------


def trajectory_writer(path: PathLike, mode: str = "w", **options: Any) -> GSDWriter | XYZWriter:
    """A :class:`GSDWriter` for ``*.gsd`` or an :class:`XYZWriter` for ``*.xyz`` / ``*.extxyz``."""
    return GSDWriter(path, mode, **options) if _suffix(path) in _GSD_SUFFIXES else XYZWriter(path, mode, **options)


def write_trajectory(path: PathLike, frames: Iterable[Frame], mode: str = "w", **options: Any) -> None:
    """Write frames to ``path``; the format follows the suffix (see :func:`trajectory_writer`)."""
    with trajectory_writer(path, mode, **options) as out:
        for frame in frames:
            if not isinstance(frame, Frame):
                raise ValueError(f"frames must be Frame objects, got {type(frame).__name__}")
            out.append(frame)


def read_trajectory(path: PathLike) -> list[Frame]:
    """All frames of a ``.gsd``, ``.xyz`` or ``.extxyz`` file, in symbreak's convention (origin 0, float64)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no trajectory file at {str(path)!r}")
    return _read_gsd(path) if _suffix(path) in _GSD_SUFFIXES else _read_xyz(path)

