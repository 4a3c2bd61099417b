"""The Network type: populations of neurons and sparse projections between them.

A :class:`Network` only declares; it never mentions chips. Weights are
``scipy.sparse`` CSR matrices of shape ``(n_pre, n_post)`` so inference
multiplies on the left (``I_post = y_pre @ W``), as in the Sparse DNN Graph
Challenge. Feed-forward chains are the common case, but a projection may go
back to an earlier or the same population (recurrent networks).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvSpec, PoolSpec, n_connections
from neurosim.errors import NetworkError
from neurosim.neurons import NeuronModel

__all__ = [
    "PROJECTION_KINDS",
    "Network",
    "NetworkStats",
    "Population",
    "Projection",
]


@dataclass(frozen=True, eq=False)
class Population:
    """A group of neurons sharing one neuron model.

    Parameters
    ----------
    name : str
        Unique name within the network.
    size : int
        Number of neurons.
    model : NeuronModel
        Dynamics of the neurons (``input`` for a source population).
    bias : array of float, shape (size,), optional
        Constant input current per neuron (zeros by default).
    shape : tuple of int, optional
        Feature-map shape ``(C, H, W)`` (or ``(C, L)``) of the neurons, flattened
        in C order; its product must equal ``size``. Flatten between two shaped
        populations is only a reshape: no projection is needed.
    """

    name: str
    size: int
    model: NeuronModel
    bias: np.ndarray | None = None
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise NetworkError(f"population: name must be a non-empty string, got {self.name!r}")
        if int(self.size) != self.size or self.size <= 0:
            raise NetworkError(f"population {self.name}: size must be a positive integer, got {self.size!r}")
        object.__setattr__(self, "size", int(self.size))
        bias = np.zeros(self.size) if self.bias is None else np.asarray(self.bias, dtype=np.float64)
        if bias.ndim == 0:
            bias = np.full(self.size, float(bias))
        if bias.shape != (self.size,):
            raise NetworkError(
                f"population {self.name}: bias has shape {bias.shape}; expected ({self.size},)"
            )
        if not np.isfinite(bias).all():
            raise NetworkError(f"population {self.name}: bias contains NaN or inf")
        bias.setflags(write=False)
        object.__setattr__(self, "bias", bias)
        self.model.check_size(self.size, f"population {self.name}")
        if self.shape is not None:
            try:
                shape = tuple(int(n) for n in self.shape)
            except (TypeError, ValueError):
                raise NetworkError(f"population {self.name}: shape {self.shape!r}; expected integers") from None
            if not shape or min(shape) <= 0 or int(np.prod(shape)) != self.size:
                raise NetworkError(
                    f"population {self.name}: shape {shape} does not hold {self.size} neurons"
                )
            object.__setattr__(self, "shape", shape)


class _Weights:
    """Data descriptor behind :attr:`Projection.weights`.

    A sparse projection stores its CSR matrix; a conv or pool projection
    stores ``None`` and derives the unrolled matrix on first access (cached).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return None  # dataclass default
        w = obj.__dict__.get(self.slot)
        if w is None and obj.__dict__.get("spec") is not None:
            from neurosim.conv import unroll

            w = unroll(obj.spec)
            obj.__dict__[self.slot] = w
        return w

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


#: projection kinds: explicit sparse matrix, convolution, pooling
PROJECTION_KINDS: tuple[str, ...] = ("sparse", "conv", "pool")


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses from one population to another.

    Parameters
    ----------
    pre, post : str
        Names of the source and target populations.
    weights : scipy.sparse matrix, shape (n_pre, n_post), optional
        Synaptic weights; stored as canonical CSR float64 (explicit zeros
        removed). Omit it for a conv or pool projection: ``weights`` is then
        the unrolled view of ``spec``, derived on first access and cached.
    name : str, optional
        Unique name; defaults to ``"pre->post"``.
    spec : ConvSpec or PoolSpec, optional
        Compact form of a convolution or pooling (:mod:`neurosim.conv`); the
        kernel is stored once, never unrolled.
    """

    pre: str
    post: str
    weights: sp.csr_matrix = field(default=None, repr=False)  # type: ignore[assignment]
    name: str = ""
    spec: Any = None

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"{self.pre}->{self.post}")
        w = self.__dict__.get("_weights")
        if self.spec is not None:
            self._check_spec(w)
            return
        if w is None:
            raise NetworkError(f"projection {self.name}: weights missing (give a matrix or a conv/pool spec)")
        if not sp.issparse(w):
            w = np.asarray(w)
            if w.ndim != 2:
                raise NetworkError(f"projection {self.name}: weights must be 2-D, got shape {w.shape}")
        w = sp.csr_matrix(w, dtype=np.float64)
        if not np.isfinite(w.data).all():
            raise NetworkError(f"projection {self.name}: weights contain NaN or inf")
        w.sum_duplicates()
        w.eliminate_zeros()
        w.sort_indices()
        object.__setattr__(self, "weights", w)

    def _check_spec(self, w: Any) -> None:
        if not isinstance(self.spec, (ConvSpec, PoolSpec)):
            raise NetworkError(
                f"projection {self.name}: spec is a {type(self.spec).__name__}; expected ConvSpec or PoolSpec"
            )
        if w is None:
            return
        given = sp.csr_matrix(w, dtype=np.float64)
        object.__setattr__(self, "weights", None)
        if given.shape != self.shape or (given != self.weights).nnz:
            raise NetworkError(
                f"projection {self.name}: weights disagree with the {self.spec.kind} spec; give only the spec"
            )

    @property
    def kind(self) -> str:
        """``"sparse"``, ``"conv"`` or ``"pool"`` (:data:`PROJECTION_KINDS`)."""
        return "sparse" if self.spec is None else self.spec.kind

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_pre, n_post)``."""
        if self.spec is not None:
            return (self.spec.n_pre, self.spec.n_post)
        return self.weights.shape  # type: ignore[return-value]

    @property
    def n_synapses(self) -> int:
        """Number of connections (nonzero weights of the unrolled view)."""
        if self.spec is not None:
            return n_connections(self.spec)
        return int(self.weights.nnz)

    @property
    def n_params(self) -> int:
        """Stored weights: nonzeros of a sparse matrix, kernel entries of a conv, 1 for a pool."""
        return self.n_synapses if self.spec is None else int(self.spec.n_params)

    def scaled(self, factor: float) -> Projection:
        """The same projection with every weight multiplied by ``factor`` (kind kept)."""
        if self.spec is not None:
            return Projection(self.pre, self.post, name=self.name, spec=self.spec.scaled(factor))
        return Projection(self.pre, self.post, self.weights * float(factor), self.name)

    def fan_in(self) -> np.ndarray:
        """Number of inputs of each post neuron from this projection."""
        return np.diff(self.weights.tocsc().indptr)

    def fan_out(self) -> np.ndarray:
        """Number of targets of each pre neuron in this projection."""
        return np.diff(self.weights.indptr)


_descriptor = _Weights()
_descriptor.__set_name__(Projection, "weights")
Projection.weights = _descriptor  # type: ignore[assignment,misc]


def _check_map_shapes(pr: Projection, by_name: Mapping[str, Population]) -> None:
    """A conv/pool projection's in/out shapes agree with shaped populations."""
    for end, want in ((pr.pre, pr.spec.in_shape), (pr.post, pr.spec.out_shape)):
        have = by_name[end].shape
        if have is not None and have != tuple(want):
            raise NetworkError(
                f"projection {pr.name}: population {end} has shape {have}; the {pr.kind} expects {tuple(want)}"
            )


@dataclass(frozen=True)
class NetworkStats:
    """Summary statistics of a network (see :meth:`Network.stats`).

    ``n_synapses`` counts connections (the unrolled view of conv and pool
    projections); ``n_params`` counts stored weights (a kernel once).
    """

    n_populations: int
    n_projections: int
    n_neurons: int
    n_synapses: int
    density: float
    fan_in_min: int
    fan_in_mean: float
    fan_in_max: int
    fan_out_min: int
    fan_out_mean: float
    fan_out_max: int
    n_distinct_weights: int
    is_ternary: bool
    is_feedforward: bool
    models: tuple[str, ...]
    n_params: int = 0
    kinds: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, for JSON."""
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class Network:
    """Populations and projections, with named input and output populations.

    Parameters
    ----------
    populations : sequence of Population
    projections : sequence of Projection
    inputs : sequence of str, optional
        Populations fed from outside; default: those with model ``input``.
    outputs : sequence of str, optional
        Populations read out; default: the populations with no outgoing projection.
    name : str
        Free-form name.
    metadata : mapping
        JSON-serialisable facts about the network (generator, seed, training).

    Examples
    --------
    >>> import numpy as np
    >>> net = Network.from_layers([np.eye(3), np.ones((3, 2))], model=NeuronModel("relu"))
    >>> net.stats().n_synapses
    9
    """

    populations: tuple[Population, ...]
    projections: tuple[Projection, ...]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    name: str = "network"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pops = tuple(self.populations)
        projs = tuple(self.projections)
        object.__setattr__(self, "populations", pops)
        object.__setattr__(self, "projections", projs)
        if not pops:
            raise NetworkError(f"network {self.name}: no populations")
        by_name: dict[str, Population] = {}
        for p in pops:
            if not isinstance(p, Population):
                raise NetworkError(f"network {self.name}: {p!r} is not a Population")
            if p.name in by_name:
                raise NetworkError(f"network {self.name}: duplicate population name {p.name!r}")
            by_name[p.name] = p
        seen: set[str] = set()
        for pr in projs:
            if not isinstance(pr, Projection):
                raise NetworkError(f"network {self.name}: {pr!r} is not a Projection")
            if pr.name in seen:
                raise NetworkError(f"network {self.name}: duplicate projection name {pr.name!r}")
            seen.add(pr.name)
            for end in (pr.pre, pr.post):
                if end not in by_name:
                    raise NetworkError(f"projection {pr.name}: unknown population {end!r}")
            expected = (by_name[pr.pre].size, by_name[pr.post].size)
            if pr.shape != expected:
                raise NetworkError(
                    f"projection {pr.name}: weights have shape {pr.shape}; expected {expected} (n_pre, n_post)"
                )
            if pr.spec is not None:
                _check_map_shapes(pr, by_name)
            if by_name[pr.post].model.kind == "input":
                raise NetworkError(f"projection {pr.name}: targets input population {pr.post!r}")
        inputs = tuple(self.inputs) or tuple(p.name for p in pops if p.model.kind == "input")
        has_out = {pr.pre for pr in projs}
        outputs = tuple(self.outputs) or tuple(p.name for p in pops if p.name not in has_out)
        for role, names in (("input", inputs), ("output", outputs)):
            for n in names:
                if n not in by_name:
                    raise NetworkError(f"network {self.name}: {role} population {n!r} does not exist")
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "outputs", outputs)
        object.__setattr__(self, "metadata", dict(self.metadata))
        object.__setattr__(self, "_by_name", by_name)

    # ----------------------------------------------------------------- access
    def population(self, name: str) -> Population:
        """The population called ``name``."""
        try:
            return self._by_name[name]  # type: ignore[attr-defined]
        except KeyError:
            raise NetworkError(f"network {self.name}: no population {name!r}") from None

    def projection(self, name: str) -> Projection:
        """The projection called ``name``."""
        for pr in self.projections:
            if pr.name == name:
                return pr
        raise NetworkError(f"network {self.name}: no projection {name!r}")

    def projections_into(self, name: str) -> tuple[Projection, ...]:
        """Projections whose target is population ``name``."""
        return tuple(pr for pr in self.projections if pr.post == name)

    def projections_from(self, name: str) -> tuple[Projection, ...]:
        """Projections whose source is population ``name``."""
        return tuple(pr for pr in self.projections if pr.pre == name)

    @property
    def n_neurons(self) -> int:
        """Neurons in all non-input populations."""
        return sum(p.size for p in self.populations if p.model.kind != "input")

    @property
    def n_synapses(self) -> int:
        """Nonzero weights in all projections."""
        return sum(pr.n_synapses for pr in self.projections)

    def order(self) -> tuple[str, ...]:
        """Population names in a topological order of the feed-forward edges.

        Projections that close a cycle (recurrent, or back to an earlier
        population) are ignored for the ordering; inputs come first.
        """
        names = [p.name for p in self.populations]
        indeg = {n: 0 for n in names}
        succ: dict[str, list[str]] = {n: [] for n in names}
        forward = [pr for pr in self.projections if pr.pre != pr.post]
        for pr in forward:
            succ[pr.pre].append(pr.post)
            indeg[pr.post] += 1
        ready = [n for n in names if indeg[n] == 0]
        out: list[str] = []
        while ready:
            n = ready.pop(0)
            out.append(n)
            for m in succ[n]:
                indeg[m] -= 1
                if indeg[m] == 0:
                    ready.append(m)
        # remaining populations sit on cycles: append in declaration order
        out.extend(n for n in names if n not in out)
        return tuple(out)

    @property
    def is_feedforward(self) -> bool:
        """True when no projection goes back to the same or an earlier population."""
        pos = {n: i for i, n in enumerate(self.order())}
        return all(pos[pr.pre] < pos[pr.post] for pr in self.projections)

    def layers(self) -> Iterator[tuple[Projection, Population]]:
        """Yield ``(projection, target population)`` in topological order.

        For a layered feed-forward network this walks the layers one at a
        time, which is what streaming consumers (reference inference, the
        chip backend) rely on.
        """
        for name in self.order():
            for pr in self.projections_into(name):
                yield pr, self.population(name)

    # ------------------------------------------------------------ statistics
    def stats(self) -> NetworkStats:
        """Neurons, synapses, density, fan-in/out distributions, weight alphabet."""
        sizes = {p.name: p.size for p in self.populations}
        fan_in = {p.name: np.zeros(p.size, dtype=np.int64) for p in self.populations}
        fan_out = {p.name: np.zeros(p.size, dtype=np.int64) for p in self.populations}
        possible = 0
        values: list[np.ndarray] = []
        for pr in self.projections:
            fan_in[pr.post] += pr.fan_in()
            fan_out[pr.pre] += pr.fan_out()
            possible += sizes[pr.pre] * sizes[pr.post]
            values.append(np.unique(pr.weights.data))
        fi = np.concatenate(
            [fan_in[p.name] for p in self.populations if p.model.kind != "input"] or [np.zeros(1)]
        )
        fo = np.concatenate([fan_out[p.name] for p in self.populations if p.name not in self.outputs] or [np.zeros(1)])
        distinct = np.unique(np.concatenate(values)) if values else np.zeros(0)
        nonzero = distinct[distinct != 0]
        ternary = bool(
            nonzero.size > 0 and np.unique(np.abs(nonzero)).size == 1
        )
        return NetworkStats(
            n_populations=len(self.populations),
            n_projections=len(self.projections),
            n_neurons=self.n_neurons,
            n_synapses=self.n_synapses,
            density=float(self.n_synapses / possible) if possible else 0.0,
            fan_in_min=int(fi.min()),
            fan_in_mean=float(fi.mean()),
            fan_in_max=int(fi.max()),
            fan_out_min=int(fo.min()),
            fan_out_mean=float(fo.mean()),
            fan_out_max=int(fo.max()),
            n_distinct_weights=int(distinct.size),
            is_ternary=ternary,
            is_feedforward=self.is_feedforward,
            models=tuple(sorted({p.model.kind for p in self.populations})),
            n_params=sum(pr.n_params for pr in self.projections),
            kinds=tuple(sorted({pr.kind for pr in self.projections})),
        )

    # ---------------------------------------------------------- constructors
    @classmethod
    def from_layers(
        cls,
        weights: Sequence[Any],
        biases: Sequence[Any] | None = None,
        model: NeuronModel | Sequence[NeuronModel] | None = None,
        *,
        name: str = "network",
        layer_names: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Network:
        """Build a layered feed-forward network from a list of weight matrices.

        Parameters
        ----------
        weights : sequence of (n_l, n_{l+1}) arrays or sparse matrices
        biases : sequence of arrays or scalars, optional
            One per weight matrix (bias of the target layer).
        model : NeuronModel or sequence of NeuronModel, optional
            Model of every non-input layer (default: uncapped ReLU), or one per layer.
        layer_names : sequence of str, optional
            Names of the ``len(weights) + 1`` populations; default
            ``input, layer1, layer2, ...``.
        """
        if not weights:
            raise NetworkError(f"network {name}: from_layers needs at least one weight matrix")
        n_layers = len(weights)
        if biases is not None and len(biases) != n_layers:
            raise NetworkError(f"network {name}: {len(biases)} biases for {n_layers} layers")
        models = (
            [model] * n_layers
            if model is None or isinstance(model, NeuronModel)
            else list(model)
        )
        if len(models) != n_layers:
            raise NetworkError(f"network {name}: {len(models)} neuron models for {n_layers} layers")
        names = list(layer_names) if layer_names else ["input"] + [f"layer{i + 1}" for i in range(n_layers)]
        if len(names) != n_layers + 1:
            raise NetworkError(f"network {name}: {len(names)} layer names for {n_layers + 1} populations")
        shapes = [np.shape(w) if not sp.issparse(w) else w.shape for w in weights]
        pops = [Population(names[0], shapes[0][0], NeuronModel("input"))]
        projs = []
        for i, w in enumerate(weights):
            if shapes[i][0] != pops[-1].size:
                raise NetworkError(
                    f"network {name}: layer {i + 1} weights have {shapes[i][0]} rows; expected {pops[-1].size}"
                )
            m = models[i] if models[i] is not None else NeuronModel("relu")
            b = None if biases is None else biases[i]
            pops.append(Population(names[i + 1], shapes[i][1], m, b))
            projs.append(Projection(names[i], names[i + 1], w))
        return cls(tuple(pops), tuple(projs), name=name, metadata=dict(metadata or {}))

    def replace(self, **changes: Any) -> Network:
        """A copy with some fields changed (the original is untouched)."""
        fields = {
            "populations": self.populations,
            "projections": self.projections,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "name": self.name,
            "metadata": self.metadata,
        }
        fields.update(changes)
        return Network(**fields)
