"""Checks of a validated scenario against the library: do the names it uses exist?

The schema (:mod:`neurosim.scenario.schema`) checks types and shapes; these
checks ask the library: chips load with their overrides; generators,
training methods, strategies, placements, backends, encodings and plots
exist in their registries; parameters passed to library functions are
parameters those functions take (required ones present); every sweep point
is valid. Each failure is a one-line :class:`~neurosim.errors.ScenarioError`
naming the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from neurosim.errors import NeurosimError, ScenarioError
from neurosim.scenario.locate import at_field
from neurosim.scenario.schema import Scenario

__all__ = ["check_names", "check_network_source", "check_sweep"]


def check_names(scenario: Scenario, where: str, text: str | None = None) -> None:
    """Chips load; named generators, methods, strategies, backends, encodings and plots
    exist; parameters given to library functions are parameters they take."""
    from neurosim.hardware.profile import load_profile

    for i, chip in enumerate(scenario.chip_specs):
        try:
            load_profile(chip.name, chip.overrides)
        except NeurosimError as exc:
            raise ScenarioError(f"{at_field(where, text, ['chips', i])}: {exc}") from None

    def unknown(name: str, registry: Any, loc: list[Any]) -> None:
        if name not in registry:
            raise ScenarioError(
                f"{at_field(where, text, loc)}: unknown name {name!r}; expected one of {', '.join(sorted(registry))}"
            )

    def params(
        given: Mapping[str, Any], allowed: Iterable[str] | None, loc: list[Any], what: str
    ) -> None:
        if allowed is None:  # the function takes **kwargs
            return
        allowed = sorted(set(allowed))
        extra = sorted(set(given) - set(allowed))
        if extra:
            raise ScenarioError(
                f"{at_field(where, text, loc + [extra[0]])}: {what} takes no parameter {extra[0]!r}; "
                f"expected some of {', '.join(allowed)}"
            )

    node, loc = scenario.network, ["network"]
    while node is not None:  # the network, then the network its training starts from, ...
        check_network_source(node, loc, unknown, params, where, text)
        node, loc = (node.train.init if node.train is not None else None), loc + ["train", "init"]
    from neurosim.mapping.mapper import map_network
    from neurosim.mapping.partition import STRATEGIES
    from neurosim.mapping.placement import PLACEMENTS

    if scenario.mapping.strategy is not None:
        unknown(scenario.mapping.strategy, STRATEGIES, ["mapping", "strategy"])
    params(
        scenario.mapping.options,
        _keywords(map_network, exclude=("network", "profile", "strategy", "seed")),
        ["mapping", "options"],
        "map_network",
    )
    placement = scenario.mapping.options.get("placement")
    if isinstance(placement, str):
        unknown(placement, PLACEMENTS, ["mapping", "options", "placement"])
    from neurosim.sim.backends import BACKENDS
    from neurosim.sim.simulate import simulate

    for i, b in enumerate(scenario.simulation.backends):
        unknown(b, BACKENDS, ["simulation", "backends", i])
    params(
        scenario.simulation.options,
        _keywords(simulate, exclude=("mapped", "inputs", "backend", "n_steps", "seed", "encoding")),
        ["simulation", "options"],
        "simulate",
    )
    if scenario.simulation.encoding is not None:
        from neurosim.io.encoding import ENCODINGS

        unknown(scenario.simulation.encoding.kind, ENCODINGS, ["simulation", "encoding", "kind"])
    if scenario.report.plots is not None:
        from neurosim.plots.report import REPORT_PLOTS

        for i, name in enumerate(scenario.report.plots):
            unknown(name, {**REPORT_PLOTS, "sweep": None}, ["report", "plots", i])


def check_sweep(
    scenario: Scenario,
    where: str,
    text: str | None,
    *,
    rebuild: Callable[..., Scenario],
) -> None:
    """Every point of the sweep grid is valid: a profile it can be applied to, or a valid scenario.

    ``rebuild(data, where=..., overrides=point)`` builds a scenario from a
    dict (the loader's ``scenario_from_dict``, passed in so that this module
    does not import the loader).
    """
    from neurosim.hardware.profile import SECTIONS, apply_overrides, load_profile
    from neurosim.sweep import expand_grid

    spec = scenario.sweep
    points = expand_grid(spec.grid)
    if {k.split(".", 1)[0] for k in spec.grid} <= set(SECTIONS):
        key = spec.chip or scenario.chip_specs[0].key
        chip = next(c for c in scenario.chip_specs if c.key == key)
        profile = load_profile(chip.name, chip.overrides)
        for point in points:
            try:
                apply_overrides(profile, point)
            except NeurosimError as exc:
                raise ScenarioError(
                    f"{at_field(where, text, ['sweep', 'grid'])}: point {point}: {exc}"
                ) from None
        return
    base = scenario.model_dump(mode="python")
    base.update(sweep=None, reduced={}, path=None)
    for point in points:
        try:
            rebuild(base, where=f"{where}: sweep point {point}", overrides=point)
        except NeurosimError as exc:
            raise ScenarioError(f"{exc}") from None


def _required(fn: Any) -> list[str]:
    """Parameters of ``fn`` without a default."""
    import inspect

    return [
        n
        for n, p in inspect.signature(fn).parameters.items()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]


def _keywords(fn: Any, exclude: Iterable[str] = ()) -> list[str] | None:
    """Keyword parameters of ``fn`` (None when it takes ``**kwargs``, i.e. any name)."""
    import inspect

    sig = inspect.signature(fn)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return [n for n in sig.parameters if n not in set(exclude)]


def check_network_source(
    net: Any, loc: list[Any], unknown: Any, params: Any, where: str, text: str | None
) -> None:
    """Generator or training method of one network source (``generate``/``train``) and its parameters."""
    if net.generate is not None:
        from neurosim.topology import GENERATORS, resolve_generator

        unknown(net.generate.generator, GENERATORS, [*loc, "generate", "generator"])
        fn = resolve_generator(net.generate.generator)
        # unknown names first: a misspelt parameter is why the right one is missing
        params(
            net.generate.parameters,
            _keywords(fn, exclude=("seed",)),
            [*loc, "generate", "parameters"],
            f"generator {net.generate.generator}",
        )
        missing = [n for n in _required(fn) if n != "seed" and n not in net.generate.parameters]
        if missing:
            raise ScenarioError(
                f"{at_field(where, text, [*loc, 'generate', 'parameters'])}: generator "
                f"{net.generate.generator} needs parameter(s) {', '.join(missing)}"
            )
    if net.train is not None:
        from neurosim.train import TRAINING_METHODS, method_options

        unknown(net.train.method, TRAINING_METHODS, [*loc, "train", "method"])
        allowed = [o for o in method_options(net.train.method) if o != "seed"]
        if net.train.init is not None and "init" not in allowed:
            raise ScenarioError(
                f"{at_field(where, text, [*loc, 'train', 'init'])}: method {net.train.method} "
                "takes no initial network; methods that do: "
                + ", ".join(m for m in sorted(TRAINING_METHODS) if "init" in method_options(m))
            )
        allowed = [o for o in allowed if o != "init"]
        params(
            net.train.parameters,
            allowed,
            [*loc, "train", "parameters"],
            f"method {net.train.method}",
        )
