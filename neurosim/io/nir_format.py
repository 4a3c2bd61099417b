"""NIR (Neuromorphic Intermediate Representation) import and export.

NIR graphs (``.nir`` HDF5 files, read and written with the ``nir`` package)
map onto a :class:`~neurosim.network.Network` as follows.

Nodes that hold state or feed data become **populations**:

=============  ===============================================================
NIR node       neurosim population
=============  ===============================================================
``Input``      kind ``input``, ``size = prod(shape)``
``IF``         kind ``if``: ``r -> r``, ``v_threshold -> threshold``, ``v_reset``
``LIF``        kind ``lif``: ``tau -> tau_mem_s``, ``r``, ``v_leak``,
               ``v_threshold -> threshold``, ``v_reset``
``CubaLIF``    kind ``cuba_lif``: ``tau_syn -> tau_syn_s``,
               ``tau_mem -> tau_mem_s``, ``r``, ``v_leak``,
               ``v_threshold -> threshold``, ``v_reset``, ``w_in``
``Threshold``  kind ``threshold``: ``threshold``
``Output``     marks its source population as a network output; when it sums
               several inputs or is fed straight by a weight node it becomes a
               ``linear`` population of its own (a readout)
``Flatten``    an identity: an alias of its source population, or a ``linear``
               population where it sums several inputs or is fed by a weight node
=============  ===============================================================

Weight nodes become **projections**: ``Affine`` and ``Linear`` carry a
``(n_out, n_in)`` matrix ``W`` that is stored transposed as our ``(n_pre,
n_post)`` CSR matrix; ``Scale`` becomes a diagonal projection. A weight node
feeding a population directly is folded into a projection named after the
node; a weight node feeding another weight node is materialised as a ``linear``
population of its own, so chained matrices are never multiplied together
and every array keeps its exact values. An edge between two populations
without a weight node is an identity projection. Several edges into one node
are summed (NIR semantics), which is what several projections into one
population mean here; recurrent edges are allowed.

**Bias.** ``Affine.bias`` is added to the bias of the population the node
feeds. Both NIR (``dv = R * I`` with ``I = W x + b``) and neurosim
(``v += r * (I + bias)``) apply ``r`` to the whole input current, bias
included (``CubaLIF``: ``w_in`` to the whole input ``S = W x + b``;
``Threshold``: the step compares ``W x + b``), so the bias is copied
unscaled and round trips exactly. When
several ``Affine`` nodes feed one population their biases are summed. On
export a population's bias goes to the ``Affine`` node of its first incoming
projection; its other incoming projections are written as ``Linear``.

**Parameters.** NIR stores one value per neuron; on import an array whose
values are all equal becomes a scalar, unless the file was written by
neurosim and says the parameter was per neuron. The network's name,
metadata and population/projection order travel in the graph metadata
entry ``neurosim`` (a JSON string), so a neurosim -> NIR -> neurosim round
trip is exact.

**Not supported** (one-line :class:`~neurosim.errors.NetworkError` naming the
node and its type): ``CubaLI``, ``LI``, ``I`` (graded leaky or integrating
states; no neurosim neuron kind has these dynamics), convolutions,
pooling, ``Delay`` and nested graphs. On export, ``relu`` populations (NIR 1.0
has no ReLU node), the ``subtract`` reset, and a bias on a population without
incoming projections are rejected. NIR fires when ``v > v_threshold``
(``Threshold``: input ``> threshold``), neurosim when ``v >= threshold``
(``threshold`` kind: ``I + bias >= threshold``); the two agree except when
the compared value equals the threshold exactly. ``CubaLIF`` is simulated with
forward Euler, the synaptic current updated before the membrane in each step
(see :mod:`neurosim.neurons`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurosim.errors import NetworkError
from neurosim.io.nirio.dialects import RESETS, SOURCES, ImportOptions
from neurosim.io.nirio.graph import (
    NIR_NODE_TYPES,
    check_node_types,
    nodes_from_dict,
    one_line,
    read_graph_dict,
)
from neurosim.io.nirio.presets import TARGETS, prepare
from neurosim.io.nirio.reader import IMPORT_KEY, network_dt_s, to_network
from neurosim.io.nirio.writer import graph_from_network
from neurosim.network import Network
from neurosim.util.atomic import atomic_path

__all__ = [
    "IMPORT_KEY",
    "NIR_NODE_TYPES",
    "RESETS",
    "SOURCES",
    "TARGETS",
    "ImportOptions",
    "import_summary",
    "network_dt_s",
    "network_from_nir",
    "network_to_nir",
    "read_nir",
    "write_nir",
]

_OPTION_NAMES = ("source", "dt_s", "reset", "fold", "snntorch_reset_delay")


def _options(where: str, options: dict[str, Any]) -> ImportOptions:
    unknown = sorted(set(options) - set(_OPTION_NAMES))
    if unknown:
        raise NetworkError(
            f"{where}: unknown NIR import option(s) {', '.join(unknown)}; expected {', '.join(_OPTION_NAMES)}"
        )
    return ImportOptions(**{k: v for k, v in options.items() if v is not None})


def network_from_nir(graph: Any, *, name: str = "network", where: str = "NIR graph", **options: Any) -> Network:
    """Convert an in-memory ``nir.NIRGraph`` into a :class:`Network`.

    Parameters
    ----------
    graph : nir.NIRGraph
    name : str
        Network name when the graph's metadata does not carry one.
    where : str
        Prefix of error messages (a file name).
    **options
        :class:`ImportOptions` fields: ``source`` (``auto``), ``dt_s``,
        ``reset``, ``fold``, ``snntorch_reset_delay``.

    Raises
    ------
    NetworkError
        Unsupported node type, inconsistent shapes, malformed parameters.
    """
    nodes = dict(graph.nodes)
    check_node_types(where, {n: type(node).__name__ for n, node in nodes.items()})
    edges = [(str(a), str(b)) for a, b in graph.edges]
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    return to_network(where, nodes, edges, meta, name, _options(where, options))


def read_nir(path: str | Path, **options: Any) -> Network:
    """Read a NIR file (HDF5, as written by ``nir.write``) into a :class:`Network`.

    Parameters
    ----------
    path : str or Path
    **options
        :class:`ImportOptions` fields (an unknown option is an error):
        ``source`` (``auto``, ``snntorch``, ``norse``, ``sinabs``, ``lava``,
        ``nir``, ``neurosim``), ``dt_s`` (the network's time step),
        ``reset`` (``zero``/``subtract``), ``fold`` (fold linear chains,
        default True), ``snntorch_reset_delay``.

    Raises
    ------
    NetworkError
        Missing or unreadable file, unsupported node (named with its type),
        inconsistent shapes; always one line naming the file.
    """
    path = Path(path)
    opts = _options(str(path), options)
    if not path.is_file():
        raise NetworkError(f"{path}: file not found")
    data = read_graph_dict(path)
    where = str(path)
    nodes, edges, meta = nodes_from_dict(where, data)
    try:
        return to_network(where, nodes, edges, meta, path.stem, opts)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, ZeroDivisionError) as exc:
        # safety net: nir node objects accept arbitrary field contents
        raise NetworkError(f"{path}: malformed NIR file ({one_line(exc)})") from None
    except MemoryError:
        raise NetworkError(
            f"{path}: a node's shape is too large to allocate; check the Input/Output shapes"
        ) from None


def import_summary(network: Network) -> str | None:
    """The one line an import printed about what it assumed (None for other networks)."""
    rec = network.metadata.get(IMPORT_KEY)
    if not isinstance(rec, dict):
        return None
    line = str(rec.get("summary", ""))
    if rec.get("folded"):
        line += f"; folded {len(rec['folded'])} linear chain(s): " + ", ".join(rec["folded"])
    if rec.get("dropped_input_dims"):
        line += "; dropped leading input dims " + ", ".join(
            f"{k} {v}" for k, v in rec["dropped_input_dims"].items()
        )
    return line


def network_to_nir(network: Network, *, target: str = "nir", dt_s: float | None = None) -> Any:
    """Convert a :class:`Network` into an in-memory ``nir.NIRGraph``.

    Parameters
    ----------
    network : Network
    target : str
        One of :data:`TARGETS`: ``nir`` (exact, NIR's equations), or the form
        that ``snntorch``, ``norse`` or ``sinabs`` import correctly.
    dt_s : float, optional
        Time step the network is simulated with (presets translate time
        constants to the library's step); default the imported network's,
        else 1 ms.

    Raises
    ------
    NetworkError
        A population the target cannot express (named, with the reason).
    """
    return graph_from_network(prepare(network, target, dt_s), target)


def write_nir(
    network: Network,
    path: str | Path,
    *,
    compression: str | int | None = "gzip",
    target: str = "nir",
    dt_s: float | None = None,
) -> Path:
    """Write ``network`` as a NIR file (atomically) and return the path.

    Parameters
    ----------
    network : Network
    path : str or Path
    compression : str, int or None
        HDF5 compression passed to ``nir.write`` (``"gzip"``, ``"lzf"``, a gzip
        level 0-9, or None); scalar datasets are always stored uncompressed.
    target, dt_s
        See :func:`network_to_nir`.
    """
    import nir

    path = Path(path)
    graph = network_to_nir(network, target=target, dt_s=dt_s)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph, compression=compression)
    return path
