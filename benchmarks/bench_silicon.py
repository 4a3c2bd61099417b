"""neurosim's energy against published silicon measurements (issue 17, item 4).

Each case builds the paper's network as far as the paper describes it (neuron
count, synapses per neuron, firing rate, time step), maps it on the matching
profile, simulates it on the ``chip`` backend with Poisson inputs, and prices
it with :func:`neurosim.cost.energy.energy_model` (static energy over the
real-time run: steps x the profile's ``chip.timestep_s``). Printed per case:
the paper, the quantity, the paper's value and its stated spread or bound,
neurosim's value, the ratio, and whether neurosim falls within the spread.

Cases (sources in docs/energy.md, "Silicon measurements"):

* ``sharp2012``: Sharp, Galluppi, Rast, Furber, J. Neurosci. Methods 210(1),
  2012 (abstract): 4 SpiNNaker chips simulate 10,000 neurons with 4 million
  synapses in real time; the hardware consumes 43 nJ per postsynaptic
  potential and 100 nJ per neuron per millisecond (the two coefficients of a
  linear model of measured power). neurosim's coefficients are obtained the
  same way: two runs of the same network at two input rates, the difference
  gives the energy per synaptic event, the rest the energy per neuron-ms.
  No spread is stated; the paper's values are printed with "none stated".
* ``stromatias2013``: Stromatias, Galluppi, Patterson, Furber, IJCNN 2013
  (abstract): a 48-chip SpiNNaker board simulates up to 250,000 neurons with
  81 million synapses and 1.8 billion synaptic events per second, "the most
  complex simulations consuming less than 1 W per chip". Quantity: power per
  chip at that load (324 synapses per neuron, 22.2 Hz presynaptic rate),
  checked against the stated bound (< 1 W). The run uses two whole chips of
  neurosim's packing (17 cores x 256 neurons); the power per chip is then
  the static power plus the measured dynamic power per neuron times the
  paper's 250,000 / 48 = 5,208 neurons per chip.
* ``merolla2014``: TrueNorth's 26 pJ per synaptic event (Merolla et al.,
  Science 2014) at 20 Hz and 128 active synapses per neuron. This is the
  profile's own ``energy.synop_pj``: the row is a *restatement* (a check that
  the model returns its input), not a reproduction, and is printed as such.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_silicon.py [--scale 0.25]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np

__all__ = ["Case", "CASES", "measure", "run_case", "main"]


@dataclasses.dataclass(frozen=True)
class Case:
    """One published measurement and the network behind it."""

    key: str
    paper: str
    quantity: str
    chip: str
    n_neurons: int
    fan_in: int
    rates_hz: tuple[float, ...]
    value: float
    unit: str
    spread: str
    #: ``"value"``: within ``[lo, hi]``; ``"bound"``: at most ``hi``; ``"restate"``: input of the profile
    kind: str
    lo: float
    hi: float
    steps: int = 200


#: the paper's load: 250,000 neurons on a 48-chip board
STROMATIAS_NEURONS_PER_CHIP = 250_000 / 48

CASES: dict[str, tuple[Case, ...]] = {
    "sharp2012": (
        Case(
            "sharp2012",
            "Sharp et al. 2012, J Neurosci Methods 210:110",
            "energy per synaptic event (PSP)",
            "spinnaker",
            10_000,
            400,
            (5.0, 20.0),
            43.0,
            "nJ",
            "none stated",
            "value",
            43.0,
            43.0,
        ),
        Case(
            "sharp2012",
            "Sharp et al. 2012, J Neurosci Methods 210:110",
            "energy per neuron per ms",
            "spinnaker",
            10_000,
            400,
            (5.0, 20.0),
            100.0,
            "nJ",
            "none stated",
            "value",
            100.0,
            100.0,
        ),
    ),
    "stromatias2013": (
        Case(
            "stromatias2013",
            "Stromatias et al. 2013, IJCNN",
            "power per chip, 5,208 neurons at 7,200 syn. events/s each",
            "spinnaker",
            2 * 17 * 256,
            324,
            (22.2,),
            1.0,
            "W",
            "bound: < 1 W per chip",
            "bound",
            0.0,
            1.0,
        ),
    ),
    "merolla2014": (
        Case(
            "merolla2014",
            "Merolla et al. 2014, Science 345:668",
            "energy per synaptic event (20 Hz, 128 syn.)",
            "truenorth",
            1024,
            128,
            (20.0,),
            26.0,
            "pJ",
            "restatement of the profile's synop_pj",
            "restate",
            26.0,
            26.0,
        ),
    ),
}


def _network(n_in: int, n: int, fan_in: int, seed: int):
    """``n_in`` Poisson inputs -> ``n`` LIF neurons, exactly ``fan_in`` inputs each."""
    from neurosim.network import Network
    from neurosim.neurons import NeuronModel
    from neurosim.topology.fixed_fan_in import random_fixed_fan_in_mask

    w = random_fixed_fan_in_mask(n_in, n, fan_in, seed=seed).astype(np.float64)
    model = NeuronModel("lif", {"threshold": 4.0, "tau_mem_s": 0.02})
    return Network.from_layers([w], model=model, name="silicon")


def run_case(chip: str, n: int, fan_in: int, rate_hz: float, steps: int, seed: int = 0) -> dict:
    """Map, simulate and price one run; counts and energies in SI units."""
    from neurosim.cost.energy import energy_model
    from neurosim.hardware.profile import load_profile
    from neurosim.io.encoding import encode
    from neurosim.mapping import map_network
    from neurosim.sim import simulate

    prof = load_profile(chip)
    dt = float(prof.get("chip.timestep_s"))
    n_in = max(n, fan_in)
    net = _network(n_in, n, fan_in, seed)
    mapped = map_network(net, prof, strategy="sequential", placement="row_major", seed=seed)
    p = min(rate_hz * dt, 1.0)
    x = encode("poisson", np.full((1, n_in), p), steps, seed=seed).astype(np.float64)
    res = simulate(mapped, x, "chip")
    run_time = steps * dt
    en = energy_model(mapped, res, run_time_s=run_time)
    return {
        "synop": float(en.counts["synop"].sum()),
        "total_j": float(en.total_pj) * 1e-12,
        "dynamic_j": float(en.dynamic_pj) * 1e-12,
        "n_chips": int(en.n_chips),
        "n_neurons": n,
        "time_s": run_time,
    }


def measure(case: Case, scale: float = 1.0, seed: int = 0) -> float:
    """neurosim's value of ``case.quantity`` in ``case.unit``."""
    n = max(int(round(case.n_neurons * scale)), case.fan_in)
    runs = [run_case(case.chip, n, case.fan_in, r, case.steps, seed) for r in case.rates_hz]
    unit = {"nJ": 1e-9, "pJ": 1e-12, "W": 1.0}[case.unit]
    if case.key == "sharp2012":
        a, b = runs
        per_event = (b["total_j"] - a["total_j"]) / (b["synop"] - a["synop"])
        if case.quantity.startswith("energy per synaptic"):
            return per_event / unit
        per_neuron_ms = (a["total_j"] - per_event * a["synop"]) / (n * a["time_s"] * 1e3)
        return per_neuron_ms / unit
    r = runs[0]
    if case.key == "stromatias2013":
        static_w = (r["total_j"] - r["dynamic_j"]) / (r["n_chips"] * r["time_s"])
        per_neuron_w = r["dynamic_j"] / (r["n_neurons"] * r["time_s"])
        return (static_w + per_neuron_w * STROMATIAS_NEURONS_PER_CHIP) / unit
    return r["total_j"] / r["synop"] / unit


def _within(case: Case, v: float) -> str:
    if case.kind == "restate":
        return "restatement"
    if case.kind == "bound":
        return "yes" if v <= case.hi else "no"
    if case.spread == "none stated":
        return "no spread"
    return "yes" if case.lo <= v <= case.hi else "no"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--scale", type=float, default=1.0, help="fraction of each paper's neuron count"
    )
    ap.add_argument("--case", choices=sorted(CASES), action="append")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    keys = args.case or list(CASES)
    head = f"{'paper':48} {'quantity':52} {'paper value':>12} {'spread':>38} {'neurosim':>10} {'ratio':>7}  within"
    print(head)
    for key in keys:
        for case in CASES[key]:
            v = measure(case, args.scale if case.kind != "bound" else 1.0, args.seed)
            print(
                f"{case.paper:48} {case.quantity:52} {case.value:>9.3g} {case.unit:2} {case.spread:>38} "
                f"{v:>10.4g} {v / case.value:>7.3f}  {_within(case, v)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
