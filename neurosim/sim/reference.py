"""The ``reference`` backend: float64, ideal hardware (the accuracy baseline).

It runs the *source* network (``mapped.network``, or a plain network) with
unquantized weights and no limits, on the engine schedule of
:mod:`neurosim.sim.engine`. It runs no mapping, so its ``events`` are empty.

Convolution and pooling projections stay compact: the engine applies them
by im2col + BLAS (:func:`neurosim.conv.conv_forward`) to the whole batch of a
step, not through their unrolled matrix (the same sums up to rounding: the
GEMM adds in another order). ``options={"unrolled": True}`` multiplies the
unrolled CSR instead (with the compiled whole-run kernel when it applies),
for cross-checks.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp

from neurosim.network import Network
from neurosim.neurons import SPIKING_KINDS
from neurosim.sim._common import assemble_outputs, progress_bar, run_float_plan
from neurosim.sim.backends import SimRequest
from neurosim.sim.compile import float_plan
from neurosim.sim.engine import Plan
from neurosim.sim.result import SimResult

__all__ = ["compact_plan", "run_reference"]


def compact_plan(plan: Plan, network: Network) -> Plan:
    """``plan`` with its conv and pool projections applied by their spec (im2col), not their CSR."""
    specs = {pr.name: pr.spec for pr in network.projections if pr.spec is not None}
    if not specs:
        return plan
    empty = np.zeros(0, dtype=np.int64)
    pops = tuple(
        dataclasses.replace(
            pop,
            incoming=tuple(
                dataclasses.replace(pr, spec=specs[pr.name], indptr=empty, indices=empty,
                                    data=np.zeros(0, dtype=plan.dtype))
                if pr.name in specs else pr
                for pr in pop.incoming
            ),
        )
        for pop in plan.pops
    )
    return dataclasses.replace(plan, pops=pops)


def run_reference(req: SimRequest) -> SimResult:
    """Run ``req.network`` in float64 (see the module docstring)."""
    start = time.perf_counter()
    net = req.network
    if req.options.get("unrolled", False):
        plan = float_plan(net, dtype=np.float64, dt_s=req.dt_s)
    else:  # conv and pool never unrolled: an empty matrix stands in until compact_plan
        weights = {
            pr.name: sp.csr_matrix(pr.shape) if pr.spec is not None else pr.weights
            for pr in net.projections
        }
        plan = compact_plan(float_plan(net, weights, dtype=np.float64, dt_s=req.dt_s), net)
    compact = any(pr.spec is not None for p in plan.pops for pr in p.incoming)
    v0 = {
        p.name: req.v0_for(p.name, p.size) for p in net.populations if p.model.kind in SPIKING_KINDS
    }
    inp = req.inputs
    with progress_bar(req.progress, inp.n_steps, "reference") as tick:
        out = run_float_plan(
            plan,
            inp,
            v0=v0,
            per_step=False,
            record=req.record,
            progress=tick,
            convert=lambda x: np.ascontiguousarray(x, dtype=np.float64),
            force_engine=compact or bool(req.options.get("engine", False)),
            keep=req.kept(),
            final_of=tuple(req.network.outputs),
        )
    names = [p.name for p in net.populations]
    return SimResult(
        backend="reference",
        outputs=assemble_outputs(net, out.final, out.counts),
        spike_counts={n: out.counts[n] for n in names if n in out.counts},
        events={},
        n_inputs=inp.n_inputs,
        n_steps=inp.n_steps,
        dt_s=req.dt_s,
        raster={n: out.raster[n] for n in names} if out.raster else None,
        wall_time_s=time.perf_counter() - start,
        info={"dtype": "float64"},
    )
