"""``neurosim generate KIND ... --out PATH``: generate a network and save it.

Kinds (the :data:`~neurosim.topology.GENERATORS` registry):

* ``radixnet``: RadiX-Net from mixed-radix systems and Kronecker sizes;
* ``graph-challenge``: a Sparse DNN Graph Challenge network of any size,
  streamed layer by layer into a challenge directory (or materialised for .npz/.nir);
* ``exact``: an exact-solution network and its test vectors (``--vectors``);
* ``random``: random fixed fan-in layers with sparse initialisation;
* ``neurofabric``: a NeuroFabric topology (``--topology``), optionally scored.

The output format comes from ``--out`` (see :func:`neurosim.io.formats.detect_format`)
or ``--format``. An existing output is never replaced without ``--force``;
writes are atomic.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["HELP", "add_arguments", "run"]

HELP = "generate a network (radixnet, graph-challenge, exact, random, neurofabric)"


def _common(p: argparse.ArgumentParser) -> None:
    from neurosim.io.formats import FORMATS

    p.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="output: .npz, .nir, or a directory (challenge TSV)",
    )
    p.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default=None,
        help="output format (default: from --out)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of one line")


def _int_list(text: str) -> list[int]:
    from neurosim.errors import NetworkError

    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise NetworkError(f"expected comma-separated integers, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    _add_radixnet(sub)
    _add_graph_challenge(sub)
    _add_exact(sub)
    _add_random(sub)
    _add_neurofabric(sub)


def _add_radixnet(sub: Any) -> None:
    """The ``radixnet`` subcommand's options."""
    p = sub.add_parser("radixnet", help="RadiX-Net (Robinett and Kepner)")
    _common(p)
    p.add_argument(
        "--radices",
        required=True,
        metavar="R,R;R,R",
        help="mixed-radix systems: radices comma-separated, systems separated by ';' (e.g. '2,2,2,2,2,2')",
    )
    p.add_argument(
        "--kron",
        default=None,
        metavar="B,B,...",
        help="Kronecker sizes B_1..B_{L+1}, or one B for all (e.g. 16)",
    )
    p.add_argument(
        "--weight", type=float, default=None, help="value of every nonzero (default 1/B)"
    )
    p.add_argument("--bias", type=float, default=0.0, help="bias of every neuron (default 0)")
    p.add_argument("--cap", type=float, default=float("inf"), help="ReLU cap (default none)")


def _add_graph_challenge(sub: Any) -> None:
    """The ``graph-challenge`` subcommand's options."""
    p = sub.add_parser(
        "graph-challenge", help="Sparse DNN Graph Challenge network of any challenge size"
    )
    _common(p)
    p.add_argument(
        "--neurons",
        type=int,
        default=1024,
        help="neurons per layer: 1024, 4096, 16384, 65536 (default 1024)",
    )
    p.add_argument(
        "--layers", type=int, default=120, help="layers: 120, 480, 1920 or any (default 120)"
    )
    p.add_argument(
        "--bias", type=float, default=None, help="bias (default: the official one for --neurons)"
    )
    p.add_argument("--gzip", action="store_true", help="write n{N}-l{k}.tsv.gz files")


def _add_exact(sub: Any) -> None:
    """The ``exact`` subcommand's options."""
    p = sub.add_parser("exact", help="exact-solution network and test vectors (Kepner et al. 2018)")
    _common(p)
    p.add_argument("--neurons", type=int, default=64, help="neurons per layer (default 64)")
    p.add_argument("--layers", type=int, default=4, help="layers (default 4)")
    p.add_argument("--categories", type=int, default=4, help="categories (default 4)")
    p.add_argument(
        "--fan-in",
        type=int,
        default=4,
        help="synapses per neuron, a power of two <= 2^frac-bits (default 4)",
    )
    p.add_argument("--inputs", type=int, default=16, help="test-vector rows (default 16)")
    p.add_argument("--cap", type=float, default=4.0, help="ReLU cap (default 4)")
    p.add_argument(
        "--frac-bits", type=int, default=3, help="fractional bits of the 8-bit format (default 3)"
    )
    p.add_argument(
        "--perturb",
        choices=["none", "subthreshold_noise", "drop_category"],
        default="none",
        help="perturb the test inputs in a way the closed form predicts",
    )
    p.add_argument(
        "--vectors",
        default=None,
        metavar="PATH",
        help="test vectors .npz (default: next to --out, named <out>.vectors.npz)",
    )


def _add_random(sub: Any) -> None:
    """The ``random`` subcommand's options."""
    p = sub.add_parser("random", help="random fixed fan-in layers, sparse initialisation")
    _common(p)
    p.add_argument("--neurons", type=int, default=None, help="neurons per layer (with --layers)")
    p.add_argument(
        "--layers", type=int, default=None, help="number of weight layers (with --neurons)"
    )
    p.add_argument(
        "--sizes",
        default=None,
        metavar="N0,N1,...",
        help="population sizes, input first (instead of --neurons/--layers)",
    )
    # checked in _build, not by argparse: a misspelt flag must be reported as unknown,
    # not as --fan-in missing
    p.add_argument("--fan-in", type=int, default=None, help="inputs per neuron (required)")
    p.add_argument("--cap", type=float, default=float("inf"), help="ReLU cap (default none)")


def _add_neurofabric(sub: Any) -> None:
    """The ``neurofabric`` subcommand's options."""
    from neurosim.topology.neurofabric import TOPOLOGIES

    p = sub.add_parser(
        "neurofabric", help="NeuroFabric a-priori sparse topology (Isakov and Kinsy 2020)"
    )
    _common(p)
    p.add_argument("--topology", choices=sorted(TOPOLOGIES), required=True)
    p.add_argument("--width", type=int, required=True, help="neurons per layer")
    p.add_argument("--layers", type=int, required=True, help="number of layers")
    p.add_argument("--fan-in", type=int, default=None, help="random topologies: inputs per neuron")
    p.add_argument("--radix", type=int, default=None, help="butterfly / radixnet radix")
    p.add_argument(
        "--parallel", type=int, default=None, help="parallel_butterfly / radixnet: Kronecker factor"
    )
    p.add_argument("--degree", type=int, default=None, help="de_bruijn degree")
    p.add_argument("--group", type=int, default=None, help="clos group size r (width = r s)")
    p.add_argument("--cap", type=float, default=float("inf"), help="ReLU cap (default none)")
    p.add_argument("--score", action="store_true", help="also compute the data-free topology score")


def _check_out(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise FileExistsError(str(path))


def _save(network: Any, out: Path, fmt: str | None, force: bool, compress: bool = False) -> str:
    from neurosim.io.formats import detect_format, save_network
    from neurosim.topology.lazy import LazyLayeredNetwork

    name = fmt or detect_format(out)
    if name == "graph_challenge":
        save_network(network, out, format=name, force=force, compress=compress)
    else:
        if isinstance(network, LazyLayeredNetwork):
            network = network.to_network()
        save_network(network, out, format=name)
    return name


def _generate(generator: str, args: argparse.Namespace, flags: dict[str, str], **given: Any) -> Any:
    """``generate(generator, ...)`` with each keyword in ``flags`` taken from its ``args`` attribute."""
    from neurosim.topology import generate

    return generate(generator, **{key: getattr(args, attr) for key, attr in flags.items()}, **given)


def _build(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The generated network (or lazy network) and extra summary fields."""
    from neurosim.errors import NetworkError

    if args.kind == "radixnet":
        radices = [_int_list(s) for s in args.radices.split(";") if s.strip()]
        kron = None
        if args.kron:
            kron = _int_list(args.kron)
            if len(kron) == 1:
                kron = kron * (sum(len(s) for s in radices) + 1)
        flags = {"weight": "weight", "bias": "bias", "cap": "cap"}
        return _generate("radixnet", args, flags, radices=radices, kron_sizes=kron), {}
    if args.kind == "graph-challenge":
        flags = {"n_neurons": "neurons", "n_layers": "layers", "seed": "seed", "bias": "bias"}
        return _generate("graph_challenge", args, flags), {}
    if args.kind == "random":
        if args.sizes:
            sizes = _int_list(args.sizes)
        elif args.neurons is not None and args.layers is not None:
            sizes = [args.neurons] * (args.layers + 1)
        else:
            raise NetworkError("generate random: give --neurons and --layers, or --sizes")
        if args.fan_in is None:
            raise NetworkError("generate random: --fan-in is required (inputs per neuron)")
        flags = {"fan_in": "fan_in", "seed": "seed", "cap": "cap"}
        return _generate("random", args, flags, layer_sizes=sizes), {}
    if args.kind == "neurofabric":
        return _build_neurofabric(args)
    raise NetworkError(
        f"generate: unknown kind {args.kind!r}"
    )  # pragma: no cover - argparse restricts


def _build_neurofabric(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """A NeuroFabric network and, with ``--score``, its topology score."""
    params = {
        k: getattr(args, k)
        for k in ("fan_in", "radix", "parallel", "degree", "group")
        if getattr(args, k) is not None
    }
    flags = {
        "topology": "topology",
        "width": "width",
        "depth": "layers",
        "seed": "seed",
        "cap": "cap",
    }
    net = _generate("neurofabric", args, flags, **params)
    extra = {}
    if args.score:
        from neurosim.topology.score import score_topology

        extra["score"] = score_topology(net, seed=args.seed).to_dict()
    return net, extra


def _vectors_path(out: Path, given: str | None) -> Path:
    if given:
        return Path(given)
    stem = out.name[: -len(".npz")] if out.name.endswith(".npz") else out.name
    return out.with_name(f"{stem}.vectors.npz")


def _write_vectors(sol: Any, path: Path) -> None:
    import numpy as np

    from neurosim.util.atomic import atomic_path

    arrays = {
        "inputs": sol.inputs,
        "expected_outputs": sol.expected_outputs,
        "categories": sol.categories,
        "category_values": sol.category_values,
        "output_values": sol.output_values,
        "frac_bits_8": np.int64(sol.fixed_point[8].frac_bits),
        "frac_bits_16": np.int64(sol.fixed_point[16].frac_bits),
    }
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def _build_exact(args: argparse.Namespace, out: Path) -> tuple[Any, str, dict[str, Any]]:
    """Generate an exact-solution network, save it and its test vectors: ``(network, format, extra)``."""
    vectors = _vectors_path(out, args.vectors)
    _check_out(vectors, args.force)
    flags = {
        "n_neurons": "neurons",
        "n_layers": "layers",
        "n_categories": "categories",
        "fan_in": "fan_in",
        "n_inputs": "inputs",
        "cap": "cap",
        "frac_bits": "frac_bits",
        "seed": "seed",
    }
    sol = _generate("exact", args, flags)
    if args.perturb != "none":
        sol = sol.perturbed(args.perturb, seed=args.seed)
    fmt = _save(sol.network, out, args.format, args.force)
    _write_vectors(sol, vectors)
    extra = {
        "vectors": str(vectors),
        "n_inputs": int(sol.inputs.shape[0]),
        "n_categories_detected": int(sol.categories.size),
        "fixed_point": {str(k): v.to_dict() for k, v in sol.fixed_point.items()},
        "perturbation": sol.perturbation,
    }
    return sol.network, fmt, extra


def _print_summary(summary: dict[str, Any]) -> None:
    """The one-line summary (and the vectors and score lines when there are any)."""
    syn = f", {summary['n_synapses']} synapses" if summary["n_synapses"] is not None else ""
    print(
        f"wrote {summary['out']} ({summary['format']}): {summary['name']}, {summary['n_layers']} layers, "
        f"{summary['n_neurons']} neurons{syn}"
    )
    if "vectors" in summary:
        print(
            f"wrote {summary['vectors']}: {summary['n_inputs']} test inputs, fixed point {summary['fixed_point']}"
        )
    if "score" in summary:
        print(
            "score {score:.4f}: reachability {reachability:.3f}, path uniformity {path_uniformity:.3f}, "
            "edge load imbalance {edge_load_imbalance:.3f}, bottleneck width {bottleneck_width:.3f}".format(
                **summary["score"]
            )
        )


def run(args: argparse.Namespace) -> int:
    """Run ``neurosim generate``."""
    from neurosim.cli.common import print_json

    out = Path(args.out)
    _check_out(out, args.force)
    if args.kind == "exact":
        network, fmt, extra = _build_exact(args, out)
    else:
        network, extra = _build(args)
        fmt = _save(
            network, out, args.format, args.force, compress=bool(getattr(args, "gzip", False))
        )
    n_layers = getattr(network, "n_layers", None) or len(network.projections)
    n_syn = getattr(network, "n_synapses", None)
    if n_syn is None and network.metadata.get("generator") == "graph_challenge":
        n_syn = 32 * network.n_neurons  # 32 nonzeros per column in every layer
    summary = {
        "kind": args.kind,
        "out": str(out),
        "format": fmt,
        "name": network.name,
        "n_layers": n_layers,
        "n_neurons": network.n_neurons,
        "n_synapses": n_syn,
        **extra,
    }
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return 0
