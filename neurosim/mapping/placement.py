"""Place cores on chip meshes, minimizing spike traffic x hop distance.

Cores are numbered in the hardware network's topological population order,
so neighbouring core ids usually talk to each other. Each chip offers
``chip.n_cores`` slots on its ``mesh_width x mesh_height`` mesh; chips are
used one after the other (a network needing more than ``chip.max_chips``
chips is still placed, on extra chips, and the design rules report it).

Methods (:data:`PLACEMENTS`):

``row_major``
    Core ``k`` goes to slot ``k``: row by row over a chip, then the next chip.
    The baseline every other method is compared with.
``hilbert``
    Slots in Hilbert space-filling-curve order, so consecutive cores are
    mesh neighbours in two dimensions, not only along a row.
``annealed``
    Hilbert order refined by seeded simulated annealing: random moves of a
    core to a nearby slot (swapping with its occupant), accepted by the
    Metropolis rule on the change in ``sum traffic x distance``.

Cost and loads: traffic ``T[a, b]`` is expected spike packets per time step
from core ``a`` to core ``b`` (one packet per emitting neuron per target core).
Routes are dimension-ordered (X then Y) on the mesh. ``total_link_load`` is
the sum over directed mesh links of the packets crossing them per step, equal
to ``sum T[a, b] x hops(a, b)``; ``max_link_load`` is the busiest link.
Packets between chips are counted apart (``chip_traffic``, packets per step
crossing chip boundaries, chips in a row) and a chip crossing costs as much
as ``mesh_width + mesh_height`` hops in the placement objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurosim.errors import MappingError
from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.mapped import Placement
from neurosim.util.registry import Registry

__all__ = ["PLACEMENTS", "Mesh", "hilbert_order", "link_loads", "place_cores"]


@dataclass(frozen=True)
class Mesh:
    """Slot geometry: ``n_cores`` usable slots per chip on a ``width x height`` mesh."""

    width: int
    height: int
    n_cores: int

    @classmethod
    def from_profile(cls, profile: ChipProfile) -> Mesh:
        return cls(
            int(profile.get("chip.mesh_width")),
            int(profile.get("chip.mesh_height")),
            int(profile.get("chip.n_cores")),
        )


def hilbert_order(width: int, height: int) -> np.ndarray:
    """Mesh positions ``y * width + x`` sorted along a Hilbert curve covering the mesh."""
    side = 1
    while side < max(width, height):
        side *= 2
    ys, xs = np.divmod(np.arange(width * height), width)
    x, y = xs.copy(), ys.copy()
    d = np.zeros(x.size, dtype=np.int64)
    s = side // 2
    while s > 0:
        rx = ((x & s) > 0).astype(np.int64)
        ry = ((y & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, side - 1 - x, x)
        y = np.where(flip, side - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s //= 2
    return np.argsort(d, kind="stable")


def _slots(mesh: Mesh, n: int, order: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chip, x, y) of the first ``n`` slots, taking per chip the first ``n_cores`` positions of ``order``."""
    per = min(mesh.n_cores, order.size)
    k = np.arange(n)
    chip, pos = np.divmod(k, per)
    p = order[:per][pos]
    return chip, p % mesh.width, p // mesh.width


def link_loads(
    traffic: sp.csr_matrix, chip: np.ndarray, x: np.ndarray, y: np.ndarray, mesh: Mesh
) -> tuple[float, float, float]:
    """``(total, max, chip_traffic)`` link loads of X-then-Y routes (see module docstring)."""
    t = sp.coo_matrix(traffic)
    keep = (t.row != t.col) & (t.data != 0)
    a, b, load = t.row[keep], t.col[keep], t.data[keep]
    same = chip[a] == chip[b]
    chip_traffic = float((load[~same] * np.abs(chip[a[~same]] - chip[b[~same]])).sum())
    a, b, load = a[same], b[same], load[same]
    total = float((load * (np.abs(x[a] - x[b]) + np.abs(y[a] - y[b]))).sum())
    if a.size == 0:
        return total, 0.0, chip_traffic
    n_chips = int(chip.max()) + 1
    w, h = mesh.width, mesh.height
    c = chip[a]
    xa, ya, xb, yb = x[a], y[a], x[b], y[b]
    # horizontal segment on row ya: east links (x -> x+1) indexed by x, west links (x -> x-1) by x-1;
    # then the vertical segment on column xb
    peak = max(
        _segment_peak(c, ya, xa, xb, load, (n_chips, h, w + 1)),
        _segment_peak(c, xb, ya, yb, load, (n_chips, w, h + 1)),
    )
    return total, peak, chip_traffic


def _segment_peak(
    chip: np.ndarray,
    line: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    load: np.ndarray,
    shape: tuple[int, int, int],
) -> float:
    """Busiest link of straight route segments along ``line`` (row or column), each direction apart."""
    peak = 0.0
    for sign in (1, -1):
        sel = np.sign(stop - start) == sign
        lo, hi = np.minimum(start, stop)[sel], np.maximum(start, stop)[sel]
        diff = np.zeros(shape)
        np.add.at(diff, (chip[sel], line[sel], lo), load[sel])
        np.add.at(diff, (chip[sel], line[sel], hi), -load[sel])
        peak = max(peak, float(np.cumsum(diff, axis=2).max(initial=0.0)))
    return peak


def _cost(
    sym: sp.csr_matrix, chip: np.ndarray, x: np.ndarray, y: np.ndarray, chip_w: float
) -> float:
    t = sp.coo_matrix(sym)
    d = (
        np.abs(x[t.row] - x[t.col])
        + np.abs(y[t.row] - y[t.col])
        + chip_w * np.abs(chip[t.row] - chip[t.col])
    )
    return float((t.data * d).sum()) / 2.0


def _occupancy(
    mesh: Mesh, order: np.ndarray, chip: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Core in each usable slot (chip, rank in ``order``), slot of each core, rank of each position."""
    per = min(mesh.n_cores, order.size)
    n_chips = int(chip.max()) + 1
    occupant = np.full((n_chips, per), -1, dtype=np.int64)
    slot_of = np.arange(n) % per
    occupant[chip, slot_of] = np.arange(n)
    rank_of_pos = np.full(mesh.width * mesh.height, -1, dtype=np.int64)
    rank_of_pos[order[:per]] = np.arange(per)
    return occupant, slot_of, rank_of_pos


def _anneal(
    traffic: sp.csr_matrix, mesh: Mesh, order: np.ndarray, n: int, *, seed: int, steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hilbert start, then Metropolis moves of single cores to nearby slots."""
    chip, x, y = _slots(mesh, n, order)
    steps = min(int(steps), 200 * n)
    if n < 2 or steps <= 0 or traffic.nnz == 0:
        return chip, x, y
    sym = sp.csr_matrix(traffic + traffic.T)
    sym.setdiag(0)
    sym.eliminate_zeros()
    indptr, indices, data = sym.indptr, sym.indices, sym.data
    chip_w = float(mesh.width + mesh.height)
    occupant, slot_of, rank_of_pos = _occupancy(mesh, order, chip, n)
    rng = np.random.default_rng(seed)
    x, y, chip = x.copy(), y.copy(), chip.copy()

    def local(core: int, cx: int, cy: int, cc: int, skip: int) -> float:
        lo, hi = indptr[core], indptr[core + 1]
        nb, wt = indices[lo:hi], data[lo:hi]
        m = nb != skip
        nb, wt = nb[m], wt[m]
        return float(
            (wt * (np.abs(x[nb] - cx) + np.abs(y[nb] - cy) + chip_w * np.abs(chip[nb] - cc))).sum()
        )

    # initial temperature: typical positive cost change of a random move
    mean_w = float(data.mean())
    temp0 = max(mean_w, 1e-12) * 2.0
    radius = 2
    cores = rng.integers(0, n, size=steps)
    offs = rng.integers(-radius, radius + 1, size=(steps, 2))
    accept_u = rng.random(steps)
    for it in range(steps):
        temp = temp0 * (1.0 - it / steps) + 1e-12
        a = int(cores[it])
        nx, ny = int(x[a] + offs[it, 0]), int(y[a] + offs[it, 1])
        if not (0 <= nx < mesh.width and 0 <= ny < mesh.height) or (nx == x[a] and ny == y[a]):
            continue
        r = rank_of_pos[ny * mesh.width + nx]
        if r < 0:
            continue
        ca = int(chip[a])
        b = int(occupant[ca, r])
        ax, ay = int(x[a]), int(y[a])
        before = local(a, ax, ay, ca, b)
        after = local(a, nx, ny, ca, b)
        if b >= 0:
            before += local(b, nx, ny, ca, a)
            after += local(b, ax, ay, ca, a)
        delta = after - before
        if delta <= 0 or accept_u[it] < np.exp(-delta / temp):
            ra = slot_of[a]
            x[a], y[a] = nx, ny
            occupant[ca, r] = a
            slot_of[a] = r
            occupant[ca, ra] = b
            if b >= 0:
                x[b], y[b] = ax, ay
                slot_of[b] = ra
    return chip, x, y


def _row_major(traffic, mesh, n, *, seed, steps):
    return _slots(mesh, n, np.arange(mesh.width * mesh.height))


def _hilbert(traffic, mesh, n, *, seed, steps):
    return _slots(mesh, n, hilbert_order(mesh.width, mesh.height))


def _annealed(traffic, mesh, n, *, seed, steps):
    return _anneal(traffic, mesh, hilbert_order(mesh.width, mesh.height), n, seed=seed, steps=steps)


#: placement method name -> function(traffic, mesh, n, *, seed, steps) -> (chip, x, y)
PLACEMENTS: Registry = Registry(
    "placement method",
    MappingError,
    {"row_major": _row_major, "hilbert": _hilbert, "annealed": _annealed},
    lazy=False,
)


def place_cores(
    traffic: sp.csr_matrix,
    profile: ChipProfile,
    *,
    method: str = "annealed",
    seed: int = 0,
    anneal_steps: int = 20_000,
) -> Placement:
    """Place ``traffic.shape[0]`` cores on the profile's meshes.

    Parameters
    ----------
    traffic : csr_matrix, shape (n_cores, n_cores)
        Expected packets per time step from core a to core b.
    profile : ChipProfile
    method : str
        A key of :data:`PLACEMENTS`.
    seed : int
    anneal_steps : int
        Moves tried by ``annealed``.

    Returns
    -------
    Placement
        With the row-major total link load for comparison.
    """
    func = PLACEMENTS.lookup(method)
    mesh = Mesh.from_profile(profile)
    n = traffic.shape[0]
    traffic = sp.csr_matrix(traffic)
    chip, x, y = func(traffic, mesh, n, seed=seed, steps=anneal_steps)
    total, peak, chip_traffic = link_loads(traffic, chip, x, y, mesh)
    rc, rx, ry = _row_major(traffic, mesh, n, seed=seed, steps=0)
    rm_total, rm_peak, _ = link_loads(traffic, rc, rx, ry, mesh)
    p = Placement(
        chip=np.asarray(chip, dtype=np.int64),
        x=np.asarray(x, dtype=np.int64),
        y=np.asarray(y, dtype=np.int64),
        method=method,
        traffic=traffic,
        total_link_load=total,
        max_link_load=peak,
        row_major_total_link_load=rm_total,
        row_major_max_link_load=rm_peak,
        chip_traffic=chip_traffic,
    )
    return p
