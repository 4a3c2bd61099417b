"""Error types of neurosim.

Every error a user can cause is a :class:`NeurosimError` whose message is one
line: what was wrong, where (file, field, line), and what was expected. The CLI
prints that line on stderr and exits with :data:`EXIT_BAD_INPUT` (2); a network
that is valid but does not fit its chip exits with :data:`EXIT_DOES_NOT_FIT` (3).
"""

from __future__ import annotations

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_DOES_NOT_FIT",
    "DataError",
    "FaultError",
    "MappingError",
    "NetworkError",
    "NeurosimError",
    "ProfileError",
    "ScenarioError",
    "SimulationError",
    "TrainingError",
]

EXIT_BAD_INPUT = 2
EXIT_DOES_NOT_FIT = 3


class NeurosimError(Exception):
    """Base class of every error neurosim raises on purpose.

    The message is kept on one line (newlines are folded into ``"; "``) so the
    CLI can print it as a single line.
    """

    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split("\n")).strip())


class ProfileError(NeurosimError):
    """A chip profile is missing, malformed, or contradicts itself."""


class NetworkError(NeurosimError):
    """A network (in memory or in a file) is malformed."""


class MappingError(NeurosimError):
    """A mapping request cannot be carried out (bad strategy, bad options)."""


class ScenarioError(NeurosimError):
    """A scenario file is malformed or names something that does not exist."""


class DataError(NeurosimError):
    """A dataset or input file is missing or malformed."""


class SimulationError(NeurosimError):
    """A simulation request is invalid (backend, inputs, steps)."""


class TrainingError(NeurosimError):
    """A training request is invalid (method, budget, data)."""


class FaultError(NeurosimError):
    """A fault specification is invalid (kind, rate, a mismatch sigma the chip lacks)."""
