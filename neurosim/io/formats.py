"""One entry point for every network format: :func:`load_network` and :func:`save_network`.

Formats live in one explicit registry, :data:`FORMATS`: a name maps to the
module and functions that read and write it, imported only when used. The
format is taken from an explicit ``format`` argument or guessed from the
path (:func:`detect_format`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from neurosim.errors import NetworkError

__all__ = [
    "FORMATS",
    "NetworkFormat",
    "check_connected",
    "detect_format",
    "load_network",
    "save_network",
]


@dataclass(frozen=True)
class NetworkFormat:
    """A network file format: where its reader and writer live."""

    name: str
    module: str
    reader: str
    writer: str
    description: str

    def read(self, path: Path, **options: Any):
        return getattr(import_module(self.module), self.reader)(path, **options)

    def write(self, network, path: Path, **options: Any):
        return getattr(import_module(self.module), self.writer)(network, path, **options)


FORMATS: dict[str, NetworkFormat] = {
    "npz": NetworkFormat("npz", "neurosim.io.npz", "read_npz", "write_npz", "neurosim lossless .npz"),
    "nir": NetworkFormat("nir", "neurosim.io.nir_format", "read_nir", "write_nir", "Neuromorphic Intermediate Representation (.nir, HDF5)"),
    "graph_challenge": NetworkFormat(
        "graph_challenge",
        "neurosim.io.graph_challenge",
        "read_challenge_network",
        "write_challenge_network",
        "Sparse DNN Graph Challenge directory of n{N}-l{k}.tsv[.gz] layer files",
    ),
}


def detect_format(path: str | Path) -> str:
    """Guess a format name from a path.

    ``.npz`` -> ``npz``; ``.nir``/``.h5``/``.hdf5`` -> ``nir``; a directory, or a
    ``.tsv``/``.tsv.gz`` file -> ``graph_challenge``.
    """
    p = Path(path)
    name = p.name.lower()
    if name.endswith(".npz"):
        return "npz"
    if name.endswith((".nir", ".h5", ".hdf5")):
        return "nir"
    if p.is_dir() or name.endswith((".tsv", ".tsv.gz")) or not p.suffix:
        return "graph_challenge"
    raise NetworkError(
        f"{p}: cannot tell the network format from the name; expected .npz, .nir or a challenge "
        f"directory, or pass --format ({', '.join(FORMATS)})"
    )


def _format(name: str | None, path: Path) -> NetworkFormat:
    key = detect_format(path) if name is None else name
    try:
        return FORMATS[key]
    except KeyError:
        raise NetworkError(f"unknown network format {key!r}; expected one of {', '.join(FORMATS)}") from None


def load_network(path: str | Path, format: str | None = None, **options: Any):
    """Load a network from any supported format.

    Parameters
    ----------
    path : str or Path
    format : str, optional
        A key of :data:`FORMATS`; guessed from ``path`` when omitted.
    **options
        Passed to the format's reader (e.g. ``n_layers`` for a challenge directory).

    Returns
    -------
    Network
    """
    path = Path(path)
    fmt = _format(format, path)
    if not path.exists():
        raise NetworkError(f"{path}: file not found")
    try:
        network = fmt.read(path, **options)
    except NetworkError as exc:
        if str(path) in str(exc) or path.name in str(exc):
            raise
        raise NetworkError(f"{path}: {exc}") from None  # every error names the file
    check_connected(network, str(path))
    return network


def check_connected(network: Any, where: str) -> None:
    """A loaded network must have a projection and every output reachable from an input.

    A graph with no edges (a NIR ``Input -> Output`` pair with nothing between,
    an ``.npz`` with no projections) is refused here, at the boundary, instead
    of "fitting" with its output mapped as neurons. Lazy networks (streamed
    challenge layers) carry no population list and are connected by construction.

    Raises
    ------
    NetworkError
        Naming ``where`` and the population that cannot be reached.
    """
    projections = getattr(network, "projections", None)
    populations = getattr(network, "populations", None)
    if projections is None or populations is None:
        return
    if not projections:
        raise NetworkError(f"{where}: the network has no projections (no edges); expected at least one")
    inputs = [p.name for p in populations if p.model.kind == "input"] or list(network.inputs)
    reached = set(inputs)
    changed = True
    while changed:
        changed = False
        for pr in projections:
            if pr.pre in reached and pr.post not in reached:
                reached.add(pr.post)
                changed = True
    cut = [name for name in network.outputs if name not in reached]
    if cut:
        raise NetworkError(
            f"{where}: output population {cut[0]!r} is not reachable from the inputs "
            f"({', '.join(inputs) or 'none'}); expected a path of projections to every output"
        )


def save_network(network, path: str | Path, format: str | None = None, **options: Any) -> Path:
    """Save a network in any supported format (atomically); returns the path."""
    path = Path(path)
    fmt = _format(format, path)
    fmt.write(network, path, **options)
    return path
