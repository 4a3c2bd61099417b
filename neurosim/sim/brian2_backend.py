"""The ``brian2`` backend: the mapped network built and run in Brian2.

Every population of ``mapped.hw_network`` becomes a ``NeuronGroup`` and every
projection a ``Synapses`` object (weights ``w`` per synapse: the quantized
weights as the chip applies them), inside an explicit ``brian2.Network`` with
an explicit ``dt``. Nothing global is used: code objects get their class
(``numpy`` or ``cython``) through ``codeobj_class``; ``cpp_standalone`` sets
the device for the run only and resets it afterwards.

The batch of inputs is laid out side by side: group ``P`` has
``n_inputs * |P|`` neurons and synapses are replicated per input, so one run
simulates the whole batch.

Schedule: all objects run in the ``groups`` slot, ordered by the population's
position ``k`` in topological order: its update (``4k``, run_regularly), its
thresholder (``4k+1``), its resetter (``4k+2``) and the synapses leaving it
(``4k+3``, ``delay = 0``). A forward projection therefore delivers its source's
spikes before the target updates in the same step, and a recurrent one
delivers them for the next step, which is the engine's schedule
(:mod:`neurosim.sim.engine`). Synapses are created in CSR order, so each
neuron receives its inputs in increasing pre-neuron order. The updates are
written as one binary operation per statement (Brian2 passes expressions
through sympy, which may reassociate longer ones), in the same order as the
step functions of :mod:`neurosim.neurons`; with float64 weights the result is
then identical, spike for spike, to the chip backend in float64 mode.

Graded populations (``linear``, ``relu``, inputs with values) "emit" when
their output is nonzero and their synapses add ``w * y_pre``.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from neurosim.errors import SimulationError
from neurosim.neurons import SPIKING_KINDS
from neurosim.sim._common import assemble_outputs
from neurosim.sim.backends import SimRequest
from neurosim.sim.chip import integer_weights
from neurosim.sim.events import mapped_event_model
from neurosim.sim.result import SimResult

__all__ = ["TARGETS", "run_brian2"]

TARGETS = ("numpy", "cython", "cpp_standalone")

_UPDATE = {
    "relu": "y = I + b\ny = clip(y, 0, cap)\nnz += int(y != 0)\nI = 0",
    "linear": "y = I + b\nnz += int(y != 0)\nI = 0",
    "if": "J = I + b\nJ = r * J\nv = v + J\nI = 0",
    "lif": "J = I + b\nJ = r * J\nd = v_leak - v\nd = d + J\nd = alpha * d\nv = v + d\nI = 0",
    "cuba_lif": "J = I + b\nJ = w_in * J\nJ = J - i_syn\nJ = alpha_syn * J\ni_syn = i_syn + J\n"
    "K = r * i_syn\nd = v_leak - v\nd = d + K\nd = alpha * d\nv = v + d\nI = 0",
    "threshold": "v = I + b\nI = 0",
}
_MODEL = {
    "input": "y : 1\nnz : integer",
    "relu": "y : 1\nI : 1\nb : 1 (constant)\ncap : 1 (constant)\nnz : integer",
    "linear": "y : 1\nI : 1\nb : 1 (constant)\nnz : integer",
    "if": "v : 1\nI : 1\nJ : 1\nb : 1 (constant)\nr : 1 (constant)\nvth : 1 (constant)\n"
    "v_reset : 1 (constant)\nnz : integer",
    "lif": "v : 1\nI : 1\nJ : 1\nd : 1\nb : 1 (constant)\nr : 1 (constant)\nvth : 1 (constant)\n"
    "v_reset : 1 (constant)\nv_leak : 1 (constant)\nalpha : 1 (constant)\nnz : integer",
    "cuba_lif": "v : 1\ni_syn : 1\nI : 1\nJ : 1\nK : 1\nd : 1\nb : 1 (constant)\n"
    "r : 1 (constant)\nw_in : 1 (constant)\nvth : 1 (constant)\nv_reset : 1 (constant)\n"
    "v_leak : 1 (constant)\nalpha : 1 (constant)\nalpha_syn : 1 (constant)\nnz : integer",
    "threshold": "v : 1\nI : 1\nb : 1 (constant)\nvth : 1 (constant)\nnz : integer",
}


@contextlib.contextmanager
def _target(target: str) -> Iterator[tuple[Any, str | None]]:
    """Yield ``(codeobj_class, standalone_dir)``; set and reset the device for cpp_standalone."""
    import brian2 as b2

    if target == "numpy":
        from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

        yield NumpyCodeObject, None
    elif target == "cython":
        from brian2.codegen.runtime.cython_rt import CythonCodeObject

        yield CythonCodeObject, None
    elif target == "cpp_standalone":
        with tempfile.TemporaryDirectory(prefix="neurosim_b2_") as tmp:
            b2.set_device("cpp_standalone", directory=tmp, build_on_run=False)
            try:
                yield None, tmp
            finally:
                from brian2.devices.device import reset_device

                b2.device.reinit()
                reset_device()
    else:
        raise SimulationError(
            f"brian2 backend: target {target!r}; expected one of {', '.join(TARGETS)}"
        )


def _tile(values: np.ndarray, n: int, batch: int) -> np.ndarray:
    return np.tile(np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)), batch)


def _make_group(b2: Any, req: SimRequest, name: str, k: int, codeobj: Any, dt: Any) -> Any:
    """The ``NeuronGroup`` of population ``name`` (position ``k``), initialised and scheduled."""
    hw, inp = req.mapped.hw_network, req.inputs
    batch, n_steps = inp.n_inputs, inp.n_steps
    pop = hw.population(name)
    m = pop.model
    n = pop.size * batch
    kind = m.kind
    namespace: dict[str, Any] = {}
    if kind == "input":
        start_col = sum(size for _, size in inp.sizes[: list(hw.inputs).index(name)])
        if inp.per_step:
            vals = inp.values[:, :, start_col : start_col + pop.size].reshape(n_steps, n)
            namespace["stim"] = b2.TimedArray(np.ascontiguousarray(vals), dt=dt, name=f"stim{k}_*")
    if kind in SPIKING_KINDS:
        reset = "v = v_reset\n" if m.reset == "zero" else "v = v - vth\n"
        if kind == "threshold":  # stateless: v is this step's input, recomputed
            reset = ""
        threshold, reset = "v >= vth", reset + "nz += 1"
    else:
        threshold, reset = "y != 0", ""
    g = b2.NeuronGroup(
        n,
        _MODEL[kind],
        threshold=threshold,
        reset=reset,
        dt=dt,
        codeobj_class=codeobj,
        name=f"pop{k}_*",
        namespace=namespace,
    )
    if kind == "input":
        if inp.per_step:
            code = "y = stim(t, i)\nnz += int(y != 0)"
        else:
            g.y = inp.values[:, start_col : start_col + pop.size].reshape(n)
            code = "nz += int(y != 0)"
        g.run_regularly(code, dt=dt, when="groups", order=4 * k, codeobj_class=codeobj)
    else:
        _set_parameters(g, req, name)
        g.run_regularly(_UPDATE[kind], dt=dt, when="groups", order=4 * k, codeobj_class=codeobj)
    if "spike" in g.thresholder:
        g.thresholder["spike"].when = "groups"
        g.thresholder["spike"].order = 4 * k + 1
    if kind in SPIKING_KINDS:
        g.resetter["spike"].when = "groups"
        g.resetter["spike"].order = 4 * k + 2
    return g


def _set_parameters(g: Any, req: SimRequest, name: str) -> None:
    """Bias, model parameters and initial potential of a non-input group."""
    pop = req.mapped.hw_network.population(name)
    batch = req.inputs.n_inputs
    g.b = _tile(pop.bias, pop.size, batch)
    for key, value in pop.model.params.items():
        attr = {"threshold": "vth"}.get(key, key)
        if key in ("tau_mem_s", "tau_syn_s"):
            setattr(
                g,
                "alpha" if key == "tau_mem_s" else "alpha_syn",
                _tile(req.dt_s / np.broadcast_to(value, (pop.size,)), pop.size, batch),
            )
        elif key == "cap":
            g.cap = _tile(np.minimum(value, np.finfo(np.float64).max), pop.size, batch)
        else:
            setattr(g, attr, _tile(value, pop.size, batch))
    if pop.model.kind in SPIKING_KINDS:
        g.v = _tile(req.v0_for(name, pop.size), pop.size, batch)


def _make_synapses(
    b2: Any, req: SimRequest, groups: dict[str, Any], codeobj: Any, dt: Any
) -> list[Any]:
    """One ``Synapses`` object per projection with synapses, in CSR order, replicated per input."""
    mapped = req.mapped
    hw = mapped.hw_network
    batch = req.inputs.n_inputs
    objects = []
    for k, name in enumerate(hw.order()):
        src = hw.population(name)
        for pr in hw.projections_from(name):
            q = mapped.quantized[pr.name]
            w = (
                integer_weights(q)
                .multiply(np.asarray(q.scale, dtype=np.float64)[np.newaxis, :])
                .tocsr()
            )
            w.sort_indices()
            coo = w.tocoo()
            if not coo.nnz:  # Brian2 refuses Synapses without synapses; nothing to deliver
                continue
            n_pre, n_post = w.shape
            on_pre = "I_post += w" if src.model.kind in SPIKING_KINDS else "I_post += w * y_pre"
            s = b2.Synapses(
                groups[name],
                groups[pr.post],
                "w : 1",
                on_pre=on_pre,
                dt=dt,
                codeobj_class=codeobj,
                name=f"syn{k}_*",
                namespace={},
            )
            offs = np.repeat(np.arange(batch), coo.nnz)
            s.connect(
                i=np.tile(coo.row, batch) + offs * n_pre,
                j=np.tile(coo.col, batch) + offs * n_post,
            )
            s.w = np.tile(coo.data, batch)
            s.pre.when = "groups"
            s.pre.order = 4 * k + 3
            objects.append(s)
    return objects


def run_brian2(req: SimRequest) -> SimResult:
    """Build ``req.mapped.hw_network`` in Brian2 and run it (see the module docstring).

    Options: ``target`` (``numpy`` default, ``cython``, ``cpp_standalone``);
    ``profile`` (True: Brian2's profiling; ``info["loop_s"]`` is then the summed
    time of its code objects, the run loop without code generation or compilation).
    """
    import brian2 as b2

    start = time.perf_counter()
    mapped = req.mapped
    if mapped is None:
        raise SimulationError("backend 'brian2' needs a MappedNetwork (map the network first)")
    hw = mapped.hw_network
    target = str(req.options.get("target", "numpy"))
    batch, n_steps = req.inputs.n_inputs, req.inputs.n_steps
    dt = req.dt_s * b2.second
    timings: dict[str, float] = {}
    with _target(target) as (codeobj, standalone_dir):
        groups = {
            name: _make_group(b2, req, name, k, codeobj, dt) for k, name in enumerate(hw.order())
        }
        objects = [*groups.values(), *_make_synapses(b2, req, groups, codeobj, dt)]
        net = b2.Network(*objects)
        t0 = time.perf_counter()
        profile = bool(req.options.get("profile", False))
        net.run(n_steps * dt, profile=profile)
        if standalone_dir is not None:
            b2.device.build(directory=standalone_dir, compile=True, run=True, debug=False)
        timings["run_s"] = time.perf_counter() - t0
        if profile:
            timings["loop_s"] = float(sum(float(t) for _, t in net.profiling_info))
        counts = {
            name: np.asarray(g.nz[:], dtype=np.int64).reshape(batch, -1)
            for name, g in groups.items()
        }
        final = {
            name: np.asarray(g.y[:], dtype=np.float64).reshape(batch, -1)
            for name, g in groups.items()
            if hw.population(name).model.kind not in SPIKING_KINDS
        }
    model = mapped_event_model(mapped)
    events, host = model.count({n: c.sum(axis=0) for n, c in counts.items()}, batch * n_steps)
    src_names = [p.name for p in mapped.network.populations]
    return SimResult(
        backend="brian2",
        outputs=assemble_outputs(mapped.network, final, counts),
        spike_counts={n: counts[n] for n in src_names},
        events=events,
        n_inputs=batch,
        n_steps=n_steps,
        dt_s=req.dt_s,
        wall_time_s=time.perf_counter() - start,
        info={"target": target, "host_packets": host, **timings},
    )
