"""Quantization error, memory and accuracy over weight widths (issue 13's bits sweep).

Runs ``neurosim sweep NET --chip generic --set weights.bits=1,...,8 --data
digits`` in a subprocess and prints, per width, the figures its point files
hold: weights zeroed, the Frobenius relative error of each layer, the largest
per-synapse relative error, the synapse memory and the chip and reference
top-1 accuracy. Exits 1 if quantization error or memory is not monotone in
the width. Usage::

    python benchmarks/bench_quant_bits.py DIGITS.npz [OUT_DIR]

``DIGITS.npz``: e.g. ``neurosim train deep_r --data digits --hidden 64
--connectivity 0.1 --fan-in-cap 32 --epochs 100 --out digits.npz``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def _rows(out: Path) -> list[dict]:
    rows = []
    for f in (out / "points").glob("*.json"):
        d = json.loads(f.read_text())
        acc = d["report"]["accuracy"]
        q = acc["quantization"]
        rows.append(
            {
                "bits": int(d["overrides"]["weights.bits"]),
                "synapses": q["n_weights"] + q["n_zeroed"],
                "zeroed": q["n_zeroed"],
                "fro": [round(layer["rel_error_fro"], 4) for layer in q["layers"]],
                "max_rel": q["max_rel_error"],
                "memory_bits": int(d["row"]["synapse_memory_bits"]),
                "chip_top1": acc["chip_top1"],
                "reference_top1": acc["reference_top1"],
            }
        )
    return sorted(rows, key=lambda r: r["bits"])


def main(argv: list[str]) -> int:
    net = argv[0]
    out = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="quant-bits-")) / "sweep"
    cmd = ["neurosim", "sweep", net, "--chip", "generic", "--set", "weights.bits=1,2,3,4,5,6,7,8",
           "--data", "digits", "--out", str(out)]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    rows = _rows(out)
    print("| bits | zeroed | rel. error (Frobenius) per layer | max rel. error | synapse memory | top-1 chip | top-1 ref |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['bits']} | {r['zeroed']} of {r['synapses']} | {', '.join(map(str, r['fro']))} | "
            f"{r['max_rel']:.3f} | {r['memory_bits']} bit | {r['chip_top1']:.1%} | {r['reference_top1']:.1%} |"
        )
    ok = all(
        all(b <= a + 1e-12 for a, b in zip(p["fro"], n["fro"], strict=True))
        and n["max_rel"] <= p["max_rel"] + 1e-12
        and n["zeroed"] <= p["zeroed"]
        and n["memory_bits"] >= p["memory_bits"]
        for p, n in zip(rows, rows[1:], strict=False)
    )
    print("monotone in bits:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
