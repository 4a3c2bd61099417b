"""``neurosim convert SRC DST``: convert a network between .npz, NIR and Graph Challenge TSV.

Formats come from the paths (see :func:`neurosim.io.formats.detect_format`)
or from ``--format-in`` / ``--format-out``. Reading and writing go through
the :data:`~neurosim.io.formats.FORMATS` registry. ``DST`` is never
overwritten without ``--force``, and a failed conversion leaves nothing
behind (every writer is atomic). NIR input takes ``--source``, ``--nir-dt``,
``--reset`` and ``--no-fold`` (the exporting library's conventions; one stderr
line says what was assumed and which linear chains were folded); NIR output
takes ``--target`` (the form snnTorch, Norse or sinabs import correctly).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neurosim.errors import NetworkError

__all__ = ["HELP", "add_arguments", "convert", "run"]

HELP = "convert a network between .npz, NIR and Graph Challenge TSV"

_FILE_FORMATS = frozenset({"npz", "nir"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from neurosim.io.formats import FORMATS

    names = sorted(FORMATS)
    parser.add_argument(
        "src",
        metavar="SRC",
        help="network to read (.npz, .nir, or a challenge directory / .tsv[.gz])",
    )
    parser.add_argument(
        "dst", metavar="DST", help="where to write it (format from the name unless --format-out)"
    )
    parser.add_argument(
        "--format-in", choices=names, default=None, help="format of SRC (default: from its name)"
    )
    parser.add_argument(
        "--format-out", choices=names, default=None, help="format of DST (default: from its name)"
    )
    parser.add_argument(
        "--n-layers",
        type=int,
        default=None,
        metavar="K",
        help="graph_challenge input: read only the first K layers",
    )
    parser.add_argument(
        "--target",
        choices=("nir", "snntorch", "norse", "sinabs"),
        default=None,
        help="NIR output: write the form this library's NIR importer reads correctly (default nir: "
        "NIR's equations, exact round trip); see docs/formats.md",
    )
    parser.add_argument(
        "--target-dt",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --target: the time step neurosim simulates the network with, which the preset "
        "translates to the library's (default: the network's NIR dt, else 1 ms)",
    )
    parser.add_argument("--force", action="store_true", help="replace DST if it exists")
    parser.add_argument(
        "--json", action="store_true", help="print a JSON summary instead of one line"
    )
    from neurosim.cli.common import add_nir_import_options

    add_nir_import_options(parser)


def _check_dst(dst: Path, fout: str, force: bool) -> None:
    """Refuse an existing ``dst`` without ``force``, or one of the wrong kind (file vs directory)."""
    if not dst.exists():
        return
    if not force:
        raise FileExistsError(str(dst))
    if fout in _FILE_FORMATS and dst.is_dir():
        raise NetworkError(
            f"{dst}: is a directory; a {fout} network is one file (remove it or pick another name)"
        )
    if fout not in _FILE_FORMATS and dst.is_file() and not dst.name.endswith((".tsv", ".tsv.gz")):
        raise NetworkError(
            f"{dst}: is a file; a {fout} network is a directory (remove it or pick another name)"
        )


def _read_options(
    src: Path, fin: str, n_layers: int | None, nir_options: dict | None
) -> dict[str, Any]:
    """``load_network`` options: the NIR options (NIR input), ``n_layers`` (Graph Challenge)."""
    options = dict(nir_options or {}) if fin == "nir" else {}
    if n_layers is not None:
        if fin != "graph_challenge":
            raise NetworkError(f"--n-layers applies to graph_challenge input only; {src} is {fin}")
        options["n_layers"] = n_layers
    return options


def _write_options(
    dst: Path, fout: str, force: bool, target: str | None, target_dt: float | None
) -> dict[str, Any]:
    """``save_network`` options: replace a Graph Challenge directory, the NIR preset and its dt."""
    if target is not None and fout != "nir":
        raise NetworkError(f"--target applies to NIR output only; {dst} is {fout}")
    if target_dt is not None and (target is None or not 0 < target_dt <= 10):
        raise NetworkError(f"--target-dt {target_dt:g}: expected a time step in (0, 10] seconds, with --target")
    write_options: dict[str, Any] = {"force": True} if fout == "graph_challenge" and force else {}
    if target is not None:
        write_options["target"] = target
        write_options["dt_s"] = target_dt
    return write_options


def convert(
    src: str | Path,
    dst: str | Path,
    *,
    format_in: str | None = None,
    format_out: str | None = None,
    force: bool = False,
    n_layers: int | None = None,
    nir_options: dict | None = None,
    target: str | None = None,
    target_dt: float | None = None,
) -> dict:
    """Read ``src`` and write it to ``dst``; return a summary dict.

    Parameters
    ----------
    src, dst : str or Path
    format_in, format_out : str, optional
        Keys of :data:`~neurosim.io.formats.FORMATS`; guessed from the paths when omitted.
    force : bool
        Replace an existing ``dst`` (a file by a file, a directory by a directory).
    n_layers : int, optional
        Read only the first ``n_layers`` layers (graph_challenge input only).
    nir_options : dict, optional
        :func:`~neurosim.io.nir_format.read_nir` options (``source``, ``dt_s``,
        ``reset``, ``fold``; NIR input only).
    target : str, optional
        NIR output preset (``nir``, ``snntorch``, ``norse``, ``sinabs``).
    target_dt : float, optional
        Simulation time step the preset translates (needs ``target``).

    Raises
    ------
    FileExistsError
        ``dst`` exists and ``force`` is false; nothing is read or written.
    NetworkError
        Unreadable ``src``, a network the output format cannot express, or a
        ``dst`` of the wrong kind (directory vs file).
    """
    from neurosim.io.formats import FORMATS, detect_format, load_network, save_network

    src, dst = Path(src), Path(dst)
    fin = format_in or detect_format(src)
    fout = format_out or detect_format(dst)
    for role, name in (("input", fin), ("output", fout)):
        if name not in FORMATS:
            raise NetworkError(
                f"unknown {role} format {name!r}; expected one of {', '.join(FORMATS)}"
            )
    _check_dst(dst, fout, force)
    options = _read_options(src, fin, n_layers, nir_options)
    write_options = _write_options(dst, fout, force, target, target_dt)
    network = load_network(src, format=fin, **options)
    save_network(network, dst, format=fout, **write_options)
    stats = network.stats()
    imported = network.metadata.get("nir_import") if fin == "nir" else None
    return {
        "src": str(src),
        "dst": str(dst),
        "format_in": fin,
        "format_out": fout,
        "name": network.name,
        "n_populations": stats.n_populations,
        "n_projections": stats.n_projections,
        "n_neurons": stats.n_neurons,
        "n_synapses": stats.n_synapses,
        "n_params": stats.n_params,
        **({"nir_import": imported} if isinstance(imported, dict) else {}),
        **({"target": target} if target is not None else {}),
    }


def _print_import(summary: dict) -> None:
    """One stderr line: what a NIR import assumed and which chains it folded."""
    import sys

    rec = summary.get("nir_import")
    if not rec:
        return
    line = rec["summary"]
    if rec.get("folded"):
        line += f"; folded {len(rec['folded'])} linear chain(s): " + ", ".join(rec["folded"])
    print(f"neurosim: NIR import: {line}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run ``neurosim convert``."""
    from neurosim.cli.common import nir_options_from_args, print_json
    from neurosim.io.formats import detect_format

    fin = args.format_in or detect_format(args.src)
    summary = convert(
        args.src,
        args.dst,
        format_in=args.format_in,
        format_out=args.format_out,
        force=args.force,
        n_layers=args.n_layers,
        nir_options=nir_options_from_args(args, fin, args.src),
        target=args.target,
        target_dt=args.target_dt,
    )
    _print_import(summary)
    if args.json:
        print_json(summary)
    else:
        print(
            f"{summary['src']} ({summary['format_in']}) -> {summary['dst']} ({summary['format_out']}): "
            f"{summary['n_populations']} populations, {summary['n_projections']} projections, "
            f"{summary['n_neurons']} neurons, {summary['n_synapses']} synapses"
        )
    return 0
