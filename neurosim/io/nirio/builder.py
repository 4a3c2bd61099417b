"""NIR nodes and edges -> populations and projections.

Populations: ``Input`` and neuron nodes; an ``Output`` fed by anything but
one population through reshapes (a readout that sums, or a weight node
straight into the output) becomes a ``linear`` population. Everything
between two populations is a chain of linear nodes (``Affine``, ``Linear``,
``Scale``, ``Flatten``, ``Conv1d``, ``Conv2d``, ``SumPool2d``,
``AvgPool2d``): each path from a source population to a target population is
**folded** into one projection (:class:`~neurosim.io.nirio.ops.LinOp`), its
biases carried through the chain into the target's bias. With
``fold=False`` a weight node that feeds another weight node is kept as a
``linear`` population instead. Files written by neurosim are read with the
rules neurosim writes them by (no folding; ``Flatten`` nodes with several
inputs are ``linear`` populations), so round trips are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.io.nirio.dialects import Dialect, neuron_params
from neurosim.io.nirio.graph import LINEAR_TYPES, NEURON_TYPES
from neurosim.io.nirio.ops import LinOp
from neurosim.io.nirio.shapes import expected_input, node_op, shape_of_value, type_shape
from neurosim.network import Population, Projection
from neurosim.neurons import NeuronModel

__all__ = ["PARAM_MAP", "Builder"]

#: NIR parameter name -> neurosim parameter name, per neuron type
PARAM_MAP: dict[str, dict[str, str]] = {
    "IF": {"r": "r", "v_threshold": "threshold", "v_reset": "v_reset"},
    "LIF": {"tau": "tau_mem_s", "r": "r", "v_leak": "v_leak", "v_threshold": "threshold", "v_reset": "v_reset"},
    "CubaLIF": {
        "tau_syn": "tau_syn_s", "tau_mem": "tau_mem_s", "r": "r", "v_leak": "v_leak",
        "v_threshold": "threshold", "v_reset": "v_reset", "w_in": "w_in",
    },
    "Threshold": {"threshold": "threshold"},
}
_WEIGHTS = LINEAR_TYPES - {"Flatten"}

Term = tuple[str, LinOp, list[str]]


@dataclass
class Builder:
    """Turns nir nodes and edges into populations and projections (see the module docstring)."""

    where: str
    nodes: dict[str, Any]
    edges: list[tuple[str, str]]
    dialect: Dialect
    fold: bool = True
    per_neuron: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.preds: dict[str, list[str]] = {n: [] for n in self.nodes}
        self.succs: dict[str, list[str]] = {n: [] for n in self.nodes}
        for a, b in self.edges:
            self.preds[b].append(a)
            self.succs[a].append(b)
        self.kind = {n: type(node).__name__ for n, node in self.nodes.items()}
        self.legacy = self.dialect.source == "neurosim"
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._ops: dict[str, tuple[LinOp, np.ndarray | None]] = {}
        self._expanded: dict[str, tuple[list[Term], np.ndarray | None]] = {}
        self._busy: set[str] = set()
        self.dropped: dict[str, list[int]] = {}
        self.folded: list[str] = []

    def err(self, name: str, msg: str) -> NetworkError:
        return NetworkError(f"{self.where}: node {name!r} ({self.kind[name]}): {msg}")

    def _errf(self, name: str):
        return lambda msg: self.err(name, msg)

    # ---------------------------------------------------------- populations
    def _feeds_weight(self, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether ``name`` feeds a weight node, through reshapes."""
        for s in self.succs[name]:
            if self.kind[s] in _WEIGHTS:
                return True
            if self.kind[s] == "Flatten" and s not in seen and self._feeds_weight(s, seen | {name}):
                return True
        return False

    def _is_gain(self, name: str) -> bool:
        """A ``Scale`` named ``<pool>.gain`` after a pooling node: neurosim's pooling gain."""
        p = self.preds[name]
        return self.kind[name] == "Scale" and len(p) == 1 and name == f"{p[0]}.gain" and self.kind[p[0]].endswith("Pool2d")

    def _legacy_pop(self, name: str) -> bool:
        k = self.kind[name]
        if self._is_gain(name):
            return False
        if k in _WEIGHTS:
            return any(self.kind[s] in _WEIGHTS and not self._is_gain(s) for s in self.succs[name])
        p = self.preds[name]
        return len(p) != 1 or (self.kind[p[0]] in _WEIGHTS and not self._legacy_pop(p[0]))

    def is_pop(self, name: str) -> bool:
        """Whether node ``name`` becomes a population of its own."""
        k = self.kind[name]
        if k == "Input" or k in NEURON_TYPES:
            return True
        if self.legacy:
            return self._legacy_pop(name)
        if k == "Output":
            return self.alias_of(name) is None
        if k == "Flatten" or self.fold:
            return False
        return self._feeds_weight(name)

    def alias_of(self, name: str) -> str | None:
        """The population a reshape-only path from one source brings to ``name`` (None if not so)."""
        q, seen = name, set()
        while True:
            p = self.preds[q]
            if len(p) != 1 or p[0] in seen:
                return None
            q = p[0]
            seen.add(q)
            if self.kind[q] == "Flatten" and not self.is_pop(q):
                continue
            return q if self.is_pop(q) else None

    # --------------------------------------------------------------- shapes
    def shape(self, name: str) -> tuple[int, ...]:
        """Output shape of node ``name``."""
        if name not in self._shapes:
            k = self.kind[name]
            if k == "Input":
                out = self._input_shape(name)
            elif k in NEURON_TYPES:
                out = self._neuron_shape(name)
            elif k == "Output":
                out = self._in_shape(name)
            else:
                out = self.op(name)[0].out_shape
            self._shapes[name] = out
        return self._shapes[name]

    def _in_shape(self, name: str) -> tuple[int, ...]:
        if name in self._busy:
            raise self.err(name, "is part of a loop of linear nodes (an algebraic loop)")
        self._busy.add(name)
        try:
            cands = [p for p in self.preds[name] if p not in self._busy or self.kind[p] in NEURON_TYPES]
            for p in cands:
                if p not in self._busy:
                    return self.shape(p)
        finally:
            self._busy.discard(name)
        given = type_shape(self.nodes[name], "output" if self.kind[name] == "Output" else "input")
        if given is not None:
            return shape_of_value(given, self._errf(name), "shape")
        raise self.err(name, "has no input and no shape; cannot tell its size")

    def _input_shape(self, name: str) -> tuple[int, ...]:
        raw = shape_of_value(type_shape(self.nodes[name], "input"), self._errf(name), "shape")
        if not raw:
            raise self.err(name, "shape []; expected at least one dimension")
        tests = []
        for s in self.succs[name]:
            t = expected_input(self.nodes[s], self.kind[s]) if self.kind[s] in LINEAR_TYPES else None
            if t is not None:
                tests.append(t)
        if self.legacy or not tests:
            return raw
        # drop leading batch / time dimensions: the shortest suffix every consumer takes
        for k in range(len(raw) - 1, -1, -1):
            if all(t(raw[k:]) for t in tests):
                if k:
                    self.dropped[name] = list(raw[:k])
                return raw[k:]
        return raw

    def _neuron_shape(self, name: str) -> tuple[int, ...]:
        node, k = self.nodes[name], self.kind[name]
        shapes = [np.shape(getattr(node, p)) for p in PARAM_MAP[k] if np.size(getattr(node, p, 0)) > 1]
        if not shapes:
            return self._in_shape(name)
        own = tuple(int(d) for d in max(shapes, key=len))
        if not self.preds[name]:
            return own
        try:  # per-channel parameters, e.g. (C, 1, 1), broadcast over the incoming map
            incoming = self._in_shape(name)
            if np.broadcast_shapes(own, incoming) == tuple(incoming) and own != tuple(incoming):
                return tuple(incoming)
        except (NetworkError, ValueError):
            pass
        return own

    def op(self, name: str) -> tuple[LinOp, np.ndarray | None]:
        """The linear map and bias of linear node ``name``."""
        if name not in self._ops:
            where = f"{self.where}: node {name!r} ({self.kind[name]})"
            self._ops[name] = node_op(self.nodes[name], self.kind[name], self._in_shape(name), self._errf(name), where)
        return self._ops[name]

    # ------------------------------------------------------------ expansion
    def expand(self, q: str) -> tuple[list[Term], np.ndarray | None]:
        """The paths into node ``q`` from populations, as ``(source, map, nodes)``, and the bias."""
        if self.is_pop(q):
            return [(q, LinOp.reshape(self.shape(q)), [q])], None
        if q in self._expanded:
            return self._expanded[q]
        if not self.preds[q]:
            raise self.err(q, "has no incoming edge")
        if q in self._busy:
            raise self.err(q, "is part of a loop of linear nodes (an algebraic loop)")
        op_q, b_q = self.op(q)
        self._busy.add(q)
        terms: list[Term] = []
        bias = None
        for p in self.preds[q]:
            sub, b = self.expand(p)
            for src, o, path in sub:
                if o.n_out != op_q.n_in:
                    raise self.err(q, f"takes {op_q.n_in} inputs but its source {src!r} has {o.n_out} neurons"
                                   if o.is_reshape else f"takes {op_q.n_in} inputs but {path[-1]!r} gives {o.n_out}")
                terms.append((src, o.then(op_q), [*path, q]))
            if b is not None:
                bias = b if bias is None else bias + b
        self._busy.discard(q)
        bias = op_q.apply(bias) if bias is not None else None
        if b_q is not None:
            bias = b_q if bias is None else bias + b_q
        self._expanded[q] = (terms, bias)
        return terms, bias

    # ------------------------------------------------------------ building
    def build(self) -> tuple[list[Population], list[Projection]]:
        """All populations and projections, in node order."""
        pops: list[Population] = []
        projs: list[Projection] = []
        for name in self.nodes:
            if not self.is_pop(name):
                continue
            if self.kind[name] == "Input" and self.preds[name]:
                raise self.err(name, f"has incoming edges from {', '.join(self.preds[name])}; expected none")
            shape = self.shape(name)
            n = int(np.prod(shape))
            bias = np.zeros(n)
            terms, b = self._incoming(name)
            for q, src, op, path in terms:
                projs.append(self._projection(name, q, src, op, path, n))
            if b is not None:
                bias = bias + b
            pops.append(self._population(name, shape, bias))
            if self.dialect.reset_delay and self.kind[name] == "LIF":
                projs.append(self._reset_delay(pops[-1]))
        return pops, projs

    def _incoming(self, name: str) -> tuple[list[tuple[str, str, LinOp, list[str]]], np.ndarray | None]:
        """Paths into population ``name`` (through its own map when it is a kept linear node) and its bias."""
        out: list[tuple[str, str, LinOp, list[str]]] = []
        bias = None
        own = self.op(name) if self.kind[name] in LINEAR_TYPES else None
        if own is not None and not self.preds[name]:
            raise self.err(name, "has no incoming edge")
        for q in self.preds[name]:
            terms, b = self.expand(q)
            for src, op, path in terms:
                if own is not None:
                    if op.n_out != own[0].n_in:
                        raise self.err(name, f"takes {own[0].n_in} inputs but its source {src!r} has {op.n_out} neurons")
                    op, path = op.then(own[0]), [*path, name]
                out.append((q, src, op, path))
            if b is not None:
                bias = b if bias is None else bias + b
        if own is not None:
            bias = own[0].apply(bias) if bias is not None else None
            if own[1] is not None:
                bias = own[1] if bias is None else bias + own[1]
        return out, bias

    def _projection(self, post: str, q: str, src: str, op: LinOp, path: list[str], n: int) -> Projection:
        last = path[-1]
        if op.n_out != n:
            raise self.err(last, f"gives {op.n_out} outputs but its target {post!r} has {n} neurons")
        chain = path[1:]
        if chain and chain[-1] == post:  # a kept linear node: its own map, named by its ends
            name = f"{src}->{post}"
            if op.spec is not None:
                return Projection(src, post, name=name, spec=op.spec)
            return Projection(src, post, op.as_matrix(), name)
        if op.is_reshape or not chain:
            return Projection(src, post, sp.identity(n, format="csr"), f"{q}->{post}")
        label = "+".join(c for c in chain if self.kind[c] != "Flatten" and not self._is_gain(c)) or "+".join(chain)
        single = all(len(self.preds[c]) == 1 and len(self.succs[c]) == 1 for c in chain)
        name = label if single else f"{label}:{src}->{post}"
        if sum(self.kind[c] != "Flatten" and not self._is_gain(c) for c in chain) > 1:
            self.folded.append(f"{label} -> one {op.kind} projection")
        if op.spec is not None:
            return Projection(src, post, name=name, spec=op.spec)
        return Projection(src, post, op.as_matrix(), name)

    def _population(self, name: str, shape: tuple[int, ...], bias: np.ndarray) -> Population:
        n = int(np.prod(shape))
        try:
            model = self._model(name, shape)
            return Population(name, n, model, bias, shape=shape if len(shape) > 1 else None)
        except NetworkError as exc:
            if str(exc).startswith(self.where):
                raise
            raise self.err(name, str(exc)) from None

    def _model(self, name: str, shape: tuple[int, ...]) -> NeuronModel:
        k = self.kind[name]
        if k == "Input":
            return NeuronModel("input")
        if k not in NEURON_TYPES:
            return NeuronModel("linear")
        node = self.nodes[name]
        raw: dict[str, np.ndarray] = {}
        for nir_name in PARAM_MAP[k]:
            value = np.asarray(getattr(node, nir_name))
            if value.dtype.kind not in "biuf":
                raise self.err(name, f"parameter {nir_name} has dtype {value.dtype}; expected numbers")
            raw[nir_name] = value.astype(np.float64)
        raw = neuron_params(k, raw, self.dialect)
        keep = set(self.per_neuron.get(name, ()))
        params = {}
        for nir_name, ours in PARAM_MAP[k].items():
            params[ours] = self._sized(name, nir_name, raw[nir_name], shape, ours not in keep)
        reset = "zero" if k == "Threshold" else self.dialect.reset
        return NeuronModel(NEURON_TYPES[k], params, reset)

    def _sized(self, name: str, field_: str, value: np.ndarray, shape: tuple[int, ...], squeeze: bool) -> np.ndarray:
        """A parameter broadcast to the layer (scalar kept as a scalar when every value is equal)."""
        n = int(np.prod(shape))
        if value.size == n and value.ndim >= 1:
            flat = value.ravel()
        else:
            try:
                flat = np.broadcast_to(value, shape).ravel()
            except ValueError:
                raise self.err(name, f"parameter {field_} has {value.size} values (shape {list(value.shape)}); "
                               f"expected 1 or {n} (layer shape {list(shape)})") from None
        if squeeze and flat.size and (flat == flat[0]).all():
            return np.asarray(flat[0])
        return flat.copy()

    def _reset_delay(self, pop: Population) -> Projection:
        """snnTorch's late subtraction as a self-projection of weight ``-threshold / r``."""
        thr = np.broadcast_to(pop.model.param("threshold"), (pop.size,))
        r = np.broadcast_to(pop.model.param("r"), (pop.size,))
        return Projection(pop.name, pop.name, sp.diags(-thr / r, format="csr"), f"{pop.name}.reset_delay")
