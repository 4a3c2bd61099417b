"""Training on a fixed, a-priori sparse topology (NeuroFabric-style sparse training).

:func:`train_fixed_topology` trains the weights of a given layered network
(``init``: a generated NeuroFabric/RadiX-Net/random topology, or any trained
network) on exactly its sparsity pattern: each layer's mask is the set of
nonzero weights of ``init``, and the weights are trained by masked minibatch
SGD or Adam (:func:`~neurosim.train.sgd.fit_layers`, the same loop as the
fine-tuning of magnitude pruning). No connection is added or removed.

The network's own input width must equal the number of features (no input
projection is added: pixel ``i`` drives input neuron ``i``). When the last
layer does not have one neuron per class, a dense linear readout layer
(``n_out x n_classes``, He-normal initialised) is appended and trained with
it (``readout="auto"``); it is recorded as ``info["readout"]`` and the number
of leading layers that are the kept topology as ``info["topology_layers"]``.
The hidden layers are ReLU and the last layer is linear (the logits), as in
every method of :mod:`neurosim.train`; biases are trained (they are not
connections).
"""

from __future__ import annotations

import numpy as np

from neurosim.errors import TrainingError
from neurosim.network import Network
from neurosim.train.baselines import _result, layers_of
from neurosim.train.core import DTYPE, TrainResult
from neurosim.train.options import (
    InitOptions,
    OptimizerOptions,
    TrainData,
    TrainOptions,
    WeightDecayOptions,
    fit_kwargs,
    option,
    options_class,
    trainer,
)
from neurosim.train.sgd import fit_layers

__all__ = ["READOUTS", "FixedTopologyOptions", "train_fixed_topology", "topology_masks_of"]

#: values of ``readout``
READOUTS = ("auto", "dense", "none")


def topology_masks_of(weights: list[np.ndarray]) -> list[np.ndarray]:
    """Boolean masks of the nonzero weights of each layer."""
    return [np.asarray(w) != 0 for w in weights]


def _init_layers(init: Network, n_features: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Float64 dense weights (so ``sparse_init``'s tiny entries stay nonzero) and biases."""
    layers = list(init.layers())
    if not layers:
        raise TrainingError(f"init network {init.name}: has no layers")
    n_in = sum(init.population(p).size for p in init.inputs)
    if n_in != n_features:
        raise TrainingError(
            f"init network {init.name}: has {n_in} inputs; the data has {n_features} features "
            "(fixed_topology adds no input layer: choose the topology's width to match)"
        )
    n_out = layers[-1][1].size
    _, bs = layers_of(init, n_features, n_out)  # checks the chain and the input width
    return [proj.weights.toarray() for proj, _ in layers], bs


@options_class("fixed topology")
class FixedTopologyOptions(TrainOptions, OptimizerOptions, WeightDecayOptions, InitOptions):
    """Options of :func:`train_fixed_topology`; ``init`` is required (the topology kept)."""

    readout: str = option(
        "auto",
        "auto, dense or none: a dense linear readout after init's last layer "
        "(auto: when that layer does not have one neuron per class)",
    )
    epochs: int = 20
    batch_size: int = 32
    lr: float = 3e-3


@trainer(FixedTopologyOptions)
def train_fixed_topology(d: TrainData, o: FixedTopologyOptions) -> TrainResult:
    """Train ``init``'s weights with its sparsity pattern fixed.

    ``init`` is a layered feed-forward network with one input population of
    ``x.shape[1]`` neurons; its nonzero weights are the connections kept and
    its weights (e.g. ``sparse_init``'s fan-in scaled ones) the starting
    point. ``seed`` seeds the validation split, the shuffles and the readout
    initialisation. The options are :class:`FixedTopologyOptions`.

    Returns
    -------
    TrainResult
        The network has exactly ``init``'s connections (plus the readout, if
        any); ``info`` holds ``topology_layers``, ``readout`` and the
        connection counts.

    Raises
    ------
    TrainingError
        No ``init``, an ``init`` that is not a chain or whose input width is
        not the feature count, or an unknown ``readout``.
    """
    init = o.init
    _check_request(init, o.readout)
    ws, bs, masks, n_topology, add_readout = _topology_start(
        init, d.n_features, d.n_classes, o.readout, o.seed
    )
    fit = fit_kwargs(o, weight_decay=True)
    w0 = [np.asarray(m, dtype=DTYPE) for m in ws]
    xt, yt, xv, yv = d.split
    w, b, out = fit_layers(
        xt, yt, w0, bs, masks=masks, x_val=xv, y_val=yv, label="fixed topology", **fit
    )
    _keep_zero_synapses(w, masks)
    head = {"init": init.name, "topology_layers": n_topology}
    head["readout"] = "dense" if add_readout else "none"
    return _fixed_result(w, b, out, d, head, fit)


def _fixed_result(w, b, out, d: TrainData, head, fit) -> TrainResult:
    """Assemble :func:`train_fixed_topology`'s result; ``head`` starts its ``info``."""
    sizes = (d.n_features, *(m.shape[1] for m in w))
    info = {
        **head,
        "optimizer": fit["optimizer"],
        "lr": fit["lr"],
        "batch_size": fit["batch_size"],
        "epochs": fit["epochs"],
        "max_fan_in": int(max(int(np.count_nonzero(m, axis=0).max()) for m in w)),
    }
    outcome = (out.best_val_accuracy, out.epochs_run, out.history)
    return _result("fixed_topology", w, b, d, outcome, sizes, info, seed=fit["seed"])


def _check_request(init: Network | None, readout: str) -> None:
    """Raise :class:`TrainingError` for a missing ``init`` or an unknown ``readout``."""
    if init is None:
        raise TrainingError(
            "training method fixed_topology: needs init, the network whose topology is kept "
            "(e.g. network.train.init in a scenario, --init FILE on the command line)"
        )
    if readout not in READOUTS:
        raise TrainingError(f"readout = {readout!r}; expected one of {', '.join(READOUTS)}")


def _topology_start(init: Network, n_features: int, n_classes: int, readout: str, seed: int):
    """``(weights, biases, masks, n_topology_layers, add_readout)`` to start training from.

    Appends the He-normal dense readout (mask ``None``) when ``readout`` asks for one.
    """
    ws, bs = _init_layers(init, n_features)
    n_topology = len(ws)
    n_out = ws[-1].shape[1]
    add_readout = readout == "dense" or (readout == "auto" and n_out != n_classes)
    if not add_readout and n_out != n_classes:
        raise TrainingError(
            f"init network {init.name}: has {n_out} outputs; the data has {n_classes} classes "
            "(use readout: auto or dense)"
        )
    masks: list[np.ndarray | None] = list(topology_masks_of(ws))
    if add_readout:
        rng = np.random.default_rng([seed, 30])
        ws.append(rng.standard_normal((n_out, n_classes)) * np.sqrt(2.0 / n_out))
        bs.append(np.zeros(n_classes, dtype=DTYPE))
        masks.append(None)
    return ws, bs, masks, n_topology, add_readout


def _keep_zero_synapses(w: list[np.ndarray], masks: list[np.ndarray | None]) -> None:
    """Set kept weights that trained to exactly 0 to the smallest float, in place."""
    tiny = np.finfo(DTYPE).tiny
    for wl, m in zip(w, masks, strict=True):
        if m is not None:  # a kept weight that trained to exactly 0 keeps its synapse
            wl[m & (wl == 0)] = tiny
