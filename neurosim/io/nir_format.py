"""NIR (Neuromorphic Intermediate Representation) import and export: the entry points.

:func:`read_nir` / :func:`network_from_nir` turn a NIR graph into a
:class:`~neurosim.network.Network`; :func:`write_nir` / :func:`network_to_nir`
write one. The work is done in :mod:`neurosim.io.nirio`; docs/formats.md has
the full mapping, the per-library conventions and the measured conformance.

Import:

* ``Input`` and neuron nodes (``IF``, ``LIF``, ``CubaLIF``, ``Threshold``)
  become populations; an ``Output`` marks its source as an output (or is a
  ``linear`` readout when it sums or is fed by a weight node).
* Every chain of linear nodes between two populations (``Affine``,
  ``Linear``, ``Scale``, ``Flatten``, ``Conv1d``, ``Conv2d``, ``SumPool2d``,
  ``AvgPool2d``) is folded into one projection, compact (a
  :class:`~neurosim.conv.ConvSpec` / :class:`~neurosim.conv.PoolSpec`) when
  it is one convolution or pooling, else the sparse product; biases are
  carried into the target's bias. ``fold=False`` keeps weight nodes that
  feed weight nodes as ``linear`` populations.
* Neuron parameters may be 0-d, per neuron, or broadcastable to the layer.
* :class:`ImportOptions` (``source``, ``dt_s``, ``reset``, ``fold``,
  ``snntorch_reset_delay``) apply the exporting library's conventions
  (:mod:`neurosim.io.nirio.dialects`); ``source="auto"`` recognises snnTorch,
  Norse and sinabs files. What was assumed is recorded in
  ``network.metadata["nir_import"]`` (:func:`import_summary`,
  :func:`network_dt_s`).
* Files written by neurosim (graph metadata entry ``neurosim``) read back
  exactly: names, order, per-neuron flags, shapes, kernels, pooling gains.

Export: ``target="nir"`` writes NIR's equations literally (exact round
trip); ``snntorch``, ``norse`` and ``sinabs`` write the form those libraries'
importers read correctly (:mod:`neurosim.io.nirio.presets`).

Refused with a one-line :class:`~neurosim.errors.NetworkError` naming the
file, node and field: ``CubaLI``, ``LI``, ``I``, ``Delay``, nested graphs,
a graph without ``Input`` or edges, inconsistent shapes, a kernel larger
than its input, groups not dividing the channels, a pooling window that
does not tile. NIR fires on ``v > threshold``, neurosim on ``>=``: they
differ only when ``v`` equals the threshold exactly.
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
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, ZeroDivisionError, RecursionError) as exc:
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
