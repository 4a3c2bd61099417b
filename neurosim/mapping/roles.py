"""What each hardware population is for: :class:`Role`, set where the population is created.

The mapper keeps every source population and adds partial-sum and relay
populations (:mod:`neurosim.mapping.split`). Each hardware population carries
one role in :attr:`MappedNetwork.roles <neurosim.mapping.mapped.MappedNetwork.roles>`;
the simulator (accumulator width), the cost models (split and relay overhead)
and the reports read it there. No code derives a role from a population name:
a user layer called ``encoder.relay0`` is an ordinary layer.

Roles
-----
``input``        a host-fed input population (no core)
``source``       a population of the source network
``accumulator``  a source population whose fan-in was split: it sums partial sums
``partial_sum``  a partial-sum (dendritic) population added by the fan-in split
``relay``        a relay (splitter) population added for the fan-out rule
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

import numpy as np

from neurosim.network import Network

__all__ = [
    "ADDED_ROLES",
    "Role",
    "billing_role",
    "complete_roles",
    "served_layer",
    "source_roles",
]


class Role(str, Enum):
    """Role of one hardware population (the value is what the mapping store writes)."""

    INPUT = "input"
    SOURCE = "source"
    ACCUMULATOR = "accumulator"
    PARTIAL_SUM = "partial_sum"
    RELAY = "relay"


#: roles of the populations the mapper adds (not in the source network)
ADDED_ROLES: frozenset[Role] = frozenset({Role.PARTIAL_SUM, Role.RELAY})

#: role -> the group the cost models bill it to (``neuron``, ``split``, ``relay``)
_BILLING: dict[Role, str] = {
    Role.INPUT: "neuron",
    Role.SOURCE: "neuron",
    Role.ACCUMULATOR: "neuron",
    Role.PARTIAL_SUM: "split",
    Role.RELAY: "relay",
}


def billing_role(role: Role) -> str:
    """``"neuron"``, ``"split"`` or ``"relay"``: the energy report's column for ``role``.

    Examples
    --------
    >>> billing_role(Role.PARTIAL_SUM)
    'split'
    """
    return _BILLING[Role(role)]


def source_roles(network: Network) -> dict[str, Role]:
    """``input`` or ``source`` for every population of a source network."""
    return {
        p.name: Role.INPUT if p.model.kind == "input" else Role.SOURCE for p in network.populations
    }


def served_layer(name: str, served: Mapping[str, tuple[str, np.ndarray]]) -> str:
    """The source population an added population ultimately serves (itself for a source one).

    A relay of a partial-sum population serves the partial sum's accumulator:
    the chain ``served`` records is followed to its end.
    """
    seen = {name}
    while name in served:
        name = served[name][0]
        if name in seen:  # a malformed cycle: stop rather than loop
            break
        seen.add(name)
    return name


def complete_roles(
    hw: Network,
    roles: Mapping[str, Role] | None,
    served: Mapping[str, tuple[str, np.ndarray]],
) -> dict[str, Role]:
    """``roles`` with a role for every population of ``hw`` that it leaves out.

    A mapping built by :func:`~neurosim.mapping.mapper.map_network` names
    every role; this fills in hand-built mappings and files saved before
    roles were stored, from the structure only: an added population (a key of
    ``served``) fed by the population it serves is a relay, any other added
    population a partial sum; a population served by partial sums is an
    accumulator; the rest are inputs and source populations.
    """
    out = {k: Role(v) for k, v in (roles or {}).items()}
    for name, (base, _) in served.items():
        if name not in out:
            fed_by_base = any(pr.pre == base for pr in hw.projections_into(name))
            out[name] = Role.RELAY if fed_by_base else Role.PARTIAL_SUM
    accumulators = {base for name, (base, _) in served.items() if out[name] is Role.PARTIAL_SUM}
    for p in hw.populations:
        if p.name in out:
            continue
        if p.model.kind == "input":
            out[p.name] = Role.INPUT
        else:
            out[p.name] = Role.ACCUMULATOR if p.name in accumulators else Role.SOURCE
    return out
