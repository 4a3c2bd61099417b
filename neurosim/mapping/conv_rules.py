"""Convolutions on chips: core assignment, kernel quantization, usage, design rules, report.

A chip states how it stores convolutions in its profile's ``conv`` section
(:class:`~neurosim.hardware.profile.ConvSection`):

``shared_kernel`` (Speck/DYNAP-CNN, Akida, Loihi 2)
    A core holds a block of a conv layer's feature map (whole channels, or a
    band of rows of one channel) and the kernels of its channels, stored once.
    :func:`conv_cores` assigns the neurons (by channel, then by rows when one
    channel does not fit, as ``conv.split`` allows); :func:`conv_usage` counts
    the kernel memory, the feature-map neuron memory, the destination layers
    and the layers of every core, and the synapse memory of the non-conv
    projections only; :func:`check_conv` reports every excess.
``unrolled`` (TrueNorth, SpiNNaker, Loihi; and any profile that does not say)
    Every connection is a synapse: the mapper partitions and counts the
    unrolled view (:attr:`~neurosim.network.Projection.weights`) like any
    sparse projection, and :func:`conv_report` says so.

On every chip the kernel of a conv layer is quantized once
(:func:`quantize_conv`, the mapper's own quantizer applied to the kernel
seen as a ``(C_in/groups * k, C_out)`` matrix, one scale per output channel
group), then unrolled, so every copy of a weight has the same value. The
exception is ``axon_type`` weights (TrueNorth), whose crossbar bits are
chosen synapse by synapse.

Memory layouts (``conv.memory_layout``): ``exact`` counts entries as used;
``power_of_two`` is DYNAP-CNN's (sinabs ``memory_summary``): kernel memory
``c * 2^(ceil log2(kx ky) + ceil log2 f)``, neuron memory
``f * 2^(ceil log2 h + ceil log2 w)`` for ``f`` channels of ``h x w``.
A pooling layer needs no kernel memory (its one weight is a setting).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvSpec, PoolSpec, unroll
from neurosim.hardware.profile import ChipProfile
from neurosim.mapping.limits import memory_bits
from neurosim.mapping.loads import count_loads
from neurosim.mapping.mapped import QuantizedProjection, Violation
from neurosim.mapping.quantize import quantize_projection
from neurosim.network import Network, Projection

__all__ = [
    "CONV_RESOURCES",
    "check_conv",
    "conv_cores",
    "conv_report",
    "conv_storage",
    "conv_usage",
    "kernel_entries",
    "neuron_entries",
    "quantize_conv",
    "shared_kernel_bits",
    "with_conv_usage",
]

#: resource -> (profile field of its capacity, label) added on shared-kernel chips
CONV_RESOURCES: dict[str, tuple[str, str]] = {
    "kernel_memory_bits": ("conv.kernel_memory_bits", "kernel memory bits"),
    "feature_map_neurons": ("conv.max_feature_map_neurons", "feature-map neuron memory"),
    "destinations": ("conv.max_destinations", "destination layers"),
    "conv_layers": ("conv.max_layers_per_core", "conv layers"),
}


def conv_storage(profile: ChipProfile) -> str:
    """``"shared_kernel"`` or ``"unrolled"`` (a profile that does not say unrolls)."""
    return profile.get("conv.storage") or "unrolled"


def _pow2(n: float) -> int:
    return 1 << int(np.ceil(np.log2(max(float(n), 1.0))))


def _layout(profile: ChipProfile) -> str:
    return profile.get("conv.memory_layout") or "exact"


def kernel_entries(spec: Any, n_channels: int, layout: str = "exact") -> int:
    """Kernel memory entries for ``n_channels`` output channels of a conv (0 for a pool)."""
    if not isinstance(spec, ConvSpec) or n_channels <= 0:
        return 0
    c_in_g = spec.kernel.shape[1]
    k = int(np.prod(spec.kernel_size))
    if layout == "power_of_two":
        return c_in_g * _pow2(k) * _pow2(n_channels)
    return c_in_g * k * n_channels


def neuron_entries(n_channels: int, rows: int, cols: int, layout: str = "exact") -> int:
    """Neuron memory entries of ``n_channels`` maps of ``rows x cols``."""
    if layout == "power_of_two":
        return n_channels * _pow2(rows) * _pow2(cols)
    return n_channels * rows * cols


def _conv_inputs(hw: Network, name: str) -> list[Projection]:
    """The conv/pool projections into ``name`` when every input is one, else []."""
    into = hw.projections_into(name)
    if not into or any(pr.spec is None for pr in into):
        return []
    return list(into)


def _map_dims(spec: Any) -> tuple[int, int, int]:
    """``(C, rows, cols)`` of a spec's output (1-D maps have one row)."""
    out = tuple(spec.out_shape)
    return (out[0], 1, out[1]) if len(out) == 2 else (out[0], out[1], int(np.prod(out[2:])))


def _n_inputs(ws: list[sp.csc_matrix], cols: np.ndarray) -> int:
    """Distinct presynaptic neurons (over all inputs) reaching the neurons ``cols``."""
    return sum(int(np.unique(w[:, cols].indices).size) for w in ws)


def _channels_per_core(specs: list[Any], ws: list[sp.csc_matrix], profile: ChipProfile,
                       caps: tuple[float, float, float]) -> int:
    """Most output channels one core holds within neuron, kernel and axon limits (at least 1)."""
    c, rows, cols = _map_dims(specs[0])
    layout, bits = _layout(profile), int(profile.get("weights.bits"))
    for f in range(c, 0, -1):
        neurons = neuron_entries(f, rows, cols, layout)
        kernel = sum(kernel_entries(s, f, layout) for s in specs) * bits
        if neurons <= caps[0] and kernel <= caps[1] and _n_inputs(ws, np.arange(f * rows * cols)) <= caps[2]:
            return f
    return 1


def _rows_per_core(ws: list[sp.csc_matrix], dims: tuple[int, int, int], layout: str,
                   caps: tuple[float, float, float]) -> int:
    """Most rows of one channel a core holds within the neuron and axon limits (at least 1)."""
    _, rows, cols = dims
    for r in range(rows, 0, -1):
        if neuron_entries(1, r, cols, layout) <= caps[0] and _n_inputs(ws, np.arange(r * cols)) <= caps[2]:
            return r
    return 1


def conv_cores(hw: Network, name: str, profile: ChipProfile) -> np.ndarray | None:
    """Local core of each neuron of a conv/pool layer on a shared-kernel chip.

    Whole channels per core while neuron memory, kernel memory and input
    axons (``core.max_axons``) allow; when one channel is too large and
    ``conv.split`` allows ``spatial``, bands of rows of one channel. ``None``
    when the chip unrolls convolutions or the population has non-conv inputs
    (then the partition strategy decides).
    """
    projs = _conv_inputs(hw, name)
    if conv_storage(profile) != "shared_kernel" or not projs:
        return None
    specs = [pr.spec for pr in projs]
    dims = _map_dims(specs[0])
    c, rows, cols = dims
    n_pos = rows * cols
    split = profile.get("conv.split") or "channel_spatial"
    if split == "none":
        return np.zeros(c * n_pos, dtype=np.int64)
    fm = profile.get("conv.max_feature_map_neurons")
    caps = (min(float(profile.get("core.max_neurons")), float(fm) if fm else np.inf),
            float(profile.get("conv.kernel_memory_bits") or np.inf), float(profile.get("core.max_axons")))
    ws = [sp.csc_matrix(pr.weights) for pr in projs]
    per = _channels_per_core(specs, ws, profile, caps) if "channel" in split else c
    band = rows
    layout = _layout(profile)
    one = neuron_entries(1, rows, cols, layout) <= caps[0] and _n_inputs(ws, np.arange(n_pos)) <= caps[2]
    if "spatial" in split and per == 1 and not one:
        band = _rows_per_core(ws, dims, layout, caps)
    n_bands = -(-rows // band)
    idx = np.arange(c * n_pos)
    channel, row = idx // n_pos, (idx % n_pos) // cols
    return (channel // per) * n_bands + row // band


def quantize_conv(pr: Projection, profile: ChipProfile, seed: int = 0) -> QuantizedProjection | None:
    """Quantize a conv/pool projection's kernel once, then unroll it.

    Returns ``None`` for a sparse projection or on ``axon_type`` chips (the
    caller then quantizes the unrolled view synapse by synapse).
    """
    if pr.spec is None or profile.get("weights.kind") == "axon_type":
        return None
    conv = pr.spec.as_conv() if isinstance(pr.spec, PoolSpec) else pr.spec
    c_out = conv.kernel.shape[0]
    kmat = sp.csr_matrix(conv.kernel.reshape(c_out, -1).T)
    qk = quantize_projection(pr.name, kmat, profile, post_core=None, seed=seed)
    levels = qk.weights.toarray().T.reshape(conv.kernel.shape)
    unrolled = unroll(conv.with_kernel(levels))
    n_pos = conv.n_post // c_out
    scale = np.repeat(np.asarray(qk.scale, dtype=np.float64), n_pos)
    diag = dict(qk.diagnostics)
    diag.update({"n_params": int(conv.kernel.size), "n_synapses": int(unrolled.nnz), "quantized": "kernel_once"})
    return QuantizedProjection(name=pr.name, weights=unrolled, scale=scale, diagnostics=diag)


def _core_populations(core_of: Mapping[str, np.ndarray], n_cores: int) -> list[set[str]]:
    pops: list[set[str]] = [set() for _ in range(n_cores)]
    for name, cores in core_of.items():
        for k in np.unique(np.asarray(cores)):
            if k >= 0:
                pops[int(k)].add(name)
    return pops


def _memory_per_core(hw: Network, core_of: Mapping[str, np.ndarray], n_cores: int, profile: ChipProfile,
                     specs: dict[str, list[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Kernel bits and feature-map neuron entries of every core."""
    layout, bits = _layout(profile), int(profile.get("weights.bits"))
    kernel = np.zeros(n_cores, dtype=np.int64)
    neurons = np.zeros(n_cores, dtype=np.int64)
    for name, sl in specs.items():
        c, rows, cols = _map_dims(sl[0])
        cores = np.asarray(core_of[name]).reshape(c, rows, cols)
        for k in np.unique(cores[cores >= 0]).tolist():
            ch, r, q = np.nonzero(cores == k)
            f = int(np.unique(ch).size)
            kernel[k] += sum(kernel_entries(s, f, layout) for s in sl) * bits
            neurons[k] += neuron_entries(f, int(r.max() - r.min() + 1), int(q.max() - q.min() + 1), layout)
    return kernel, neurons


def _sparse_memory(hw: Network, core_of: Mapping[str, np.ndarray], n_cores: int, profile: ChipProfile,
                   quantized: Mapping[str, QuantizedProjection]) -> np.ndarray:
    """Synapse-memory bits of every core counting only the non-conv projections.

    Counted by the load table (:func:`neurosim.mapping.loads.count_loads`) over
    the hardware network without its conv projections, so that a network with
    no conv layer gets exactly the load table's figures.
    """
    plain = hw.replace(projections=tuple(pr for pr in hw.projections if pr.spec is None))
    return count_loads(plain, core_of, n_cores, profile, quantized).synapse_bits


def conv_usage(hw: Network, core_of: Mapping[str, np.ndarray], n_cores: int, profile: ChipProfile,
               quantized: Mapping[str, QuantizedProjection] | None = None) -> dict[str, tuple[np.ndarray, Any]]:
    """Extra per-core resources of a shared-kernel chip, as ``{resource: (used, capacity)}``.

    Empty on chips that unroll and for networks without conv/pool
    projections. ``synapse_memory_bits`` is included: on a shared-kernel chip
    it counts the non-conv projections only.
    """
    if conv_storage(profile) != "shared_kernel" or all(pr.spec is None for pr in hw.projections):
        return {}  # networks without conv/pool projections are counted as before, unchanged
    specs = {p.name: [pr.spec for pr in _conv_inputs(hw, p.name)] for p in hw.populations}
    specs = {k: v for k, v in specs.items() if v}
    kernel, neurons = _memory_per_core(hw, core_of, n_cores, profile, specs)
    pops = _core_populations(core_of, n_cores)
    dests = np.array([len({pr.post for n in ps for pr in hw.projections_from(n)}) for ps in pops], dtype=np.int64)
    layers = np.array([len(ps & set(specs)) for ps in pops], dtype=np.int64)
    out: dict[str, tuple[np.ndarray, Any]] = {
        "kernel_memory_bits": (kernel, profile.get("conv.kernel_memory_bits")),
        "feature_map_neurons": (neurons, profile.get("conv.max_feature_map_neurons")),
        "destinations": (dests, profile.get("conv.max_destinations")),
        "conv_layers": (layers, profile.get("conv.max_layers_per_core")),
        "synapse_memory_bits": (_sparse_memory(hw, core_of, n_cores, profile, quantized or {}),
                                profile.get("core.synapse_memory_bits")),
    }
    return out


def with_conv_usage(usage: Any, hw: Network, core_of: Mapping[str, np.ndarray], profile: ChipProfile,
                    quantized: Mapping[str, QuantizedProjection] | None = None) -> Any:
    """``usage`` (a UsageTable) with the resources of :func:`conv_usage` added or replaced."""
    extra = conv_usage(hw, core_of, usage.n_cores, profile, quantized)
    if not extra:
        return usage
    used, capacity = dict(usage.used), dict(usage.capacity)
    for key, (u, c) in extra.items():
        used[key], capacity[key] = u, c
    return dataclasses.replace(usage, used=used, capacity=capacity)


def _split_kinds(cores: np.ndarray) -> tuple[bool, bool]:
    """(channels on different cores, one channel on several cores) of a (C, rows*cols) core map."""
    by_channel = [tuple(np.unique(row).tolist()) for row in cores]
    spatial = any(len(u) > 1 for u in by_channel)
    return len(set(by_channel)) > 1, spatial


def _split_violations(hw: Network, core_of: Mapping[str, np.ndarray], profile: ChipProfile) -> list[Violation]:
    allowed = profile.get("conv.split") or "channel_spatial"
    out = []
    for p in hw.populations:
        specs = [pr.spec for pr in _conv_inputs(hw, p.name)]
        if not specs:
            continue
        c = specs[0].out_shape[0]
        cores = np.asarray(core_of[p.name]).reshape(c, -1)
        n = int(np.unique(cores).size)
        channel, spatial = _split_kinds(cores)
        bad = [k for k, on in (("channel", channel), ("spatial", spatial)) if on and k not in allowed]
        if bad:
            out.append(Violation(
                rule="check_conv_split", where=f"conv layer {p.name} ({n} cores)",
                resource=f"cores of one layer ({' and '.join(bad)} split)", used=n,
                capacity=1 if allowed == "none" else n - 1, field="conv.split",
                fix=f"the chip splits layers by {allowed}: fewer channels or a smaller feature map per layer",
            ))
    return out


def check_conv(ctx: Any, core_of: Mapping[str, np.ndarray]) -> list[Violation]:
    """Design rules of shared-kernel chips (:data:`CONV_RESOURCES`, ``conv.split``).

    ``ctx`` is a :class:`~neurosim.mapping.rules.RuleContext` whose usage
    went through :func:`with_conv_usage`; ``core_of`` the core of every
    hardware neuron. Nothing is checked on chips that unroll.
    """
    if conv_storage(ctx.profile) != "shared_kernel":
        return []
    out: list[Violation] = []
    usage = ctx.usage
    fixes = {
        "kernel_memory_bits": "fewer channels per core (the layer split by channel) or smaller kernels",
        "feature_map_neurons": "a smaller feature map per core (split by channel or rows) or pooling earlier",
        "destinations": "fewer layers fed by this core",
        "conv_layers": "one layer per core",
    }
    for key, (field, label) in CONV_RESOURCES.items():
        cap = usage.capacity.get(key)
        if cap is None or key not in usage.used:
            continue
        for k in np.flatnonzero(np.asarray(usage.used[key]) > cap).tolist():
            out.append(Violation(f"check_conv_{key}", usage.where(k), label, int(usage.used[key][k]),
                                 cap, field, fixes[key]))
    out.extend(_split_violations(ctx.hw_network, core_of, ctx.profile))
    return out


def _unrolled_memory(w: sp.csr_matrix, post_cores: np.ndarray, profile: ChipProfile) -> tuple[int, int]:
    """(synapse-memory bits of the unrolled synapses on their cores, halo inputs)."""
    coo = w.tocoo()
    tc = post_cores[coo.col]
    m = tc >= 0
    if not m.any():
        return 0, 0
    cores, inv = np.unique(tc[m], return_inverse=True)
    nc = cores.size
    synapses = np.bincount(inv, minlength=nc)
    pairs = np.unique(coo.row[m].astype(np.int64) * nc + inv)
    axons = np.bincount(pairs % nc, minlength=nc)
    neurons = np.bincount(np.unique(post_cores[post_cores >= 0], return_inverse=True)[1], minlength=nc)
    bits = int(np.sum(memory_bits(profile, axons, neurons, synapses)))
    return bits, int(axons.sum() - np.unique(coo.row[m]).size)


def conv_report(network: Network, hw: Network, core_of: Mapping[str, np.ndarray],
                profile: ChipProfile) -> dict[str, dict[str, Any]]:
    """Per conv/pool projection of the source network: what the chip stores.

    ``stored_weights`` (kernel entries), ``unrolled_synapses``,
    ``memory_bits_shared`` (one kernel copy per core holding the layer, in the
    profile's layout), ``memory_bits_unrolled`` (the unrolled synapses in the
    profile's synapse encoding on the same cores), ``memory_bits`` (what this
    chip uses: shared or unrolled per ``conv.storage``), ``cores``,
    ``halo_inputs`` (inputs sent to more than one core of the layer).
    """
    storage = conv_storage(profile)
    layout, bits = _layout(profile), int(profile.get("weights.bits"))
    out: dict[str, dict[str, Any]] = {}
    for pr in network.projections:
        if pr.spec is None:
            continue
        post_cores = np.asarray(core_of.get(pr.post, np.zeros(pr.shape[1], dtype=np.int64)))
        c = pr.spec.out_shape[0]
        per_core = post_cores.reshape(c, -1)
        shared = 0
        for k in np.unique(post_cores[post_cores >= 0]).tolist():
            f = int(np.unique(np.nonzero(per_core == k)[0]).size)
            shared += kernel_entries(pr.spec, f, layout) * bits
        # the source connections on the post neurons' cores (a relay or partial sum that carries
        # some of them on the chip reaches the same cores)
        unrolled_bits, halo = _unrolled_memory(sp.csr_matrix(pr.weights), post_cores, profile)
        out[pr.name] = {
            "kind": pr.kind, "pre": pr.pre, "post": pr.post, **pr.spec.to_dict(),
            "stored_weights": int(pr.n_params), "unrolled_synapses": int(pr.n_synapses),
            "storage": storage, "cores": int(np.unique(post_cores[post_cores >= 0]).size),
            "memory_bits_shared": int(shared), "memory_bits_unrolled": unrolled_bits,
            "memory_bits": int(shared) if storage == "shared_kernel" else unrolled_bits,
            "halo_inputs": halo,
        }
        if storage == "unrolled":
            out[pr.name]["note"] = "this chip stores synapses one by one: the layer is unrolled"
    return out


def shared_kernel_bits(mapped: Any) -> np.ndarray | None:
    """Synapse-store bits per core of a mapping on a shared-kernel chip, kernels counted once.

    Per core: the kernels of the conv channels it holds (in the profile's
    layout) plus the non-conv synapses in the profile's encoding. ``None``
    on chips that unroll (the load table's count is then exact).
    """
    if conv_storage(mapped.profile) != "shared_kernel" or all(pr.spec is None for pr in mapped.hw_network.projections):
        return None
    usage = conv_usage(mapped.hw_network, mapped.core_of, len(mapped.cores), mapped.profile, mapped.quantized)
    return usage["kernel_memory_bits"][0] + usage["synapse_memory_bits"][0]
