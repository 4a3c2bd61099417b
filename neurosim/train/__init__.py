"""Hardware-aware training: DEEP R, CoNNTrA ternary, tensor sketching and baselines.

The registry of methods is :data:`~neurosim.train.registry.TRAINING_METHODS`;
:func:`~neurosim.train.registry.train_network` trains with any of them and
returns a :class:`~neurosim.train.core.TrainResult` holding a
:class:`~neurosim.network.Network` ready for mapping.
"""

from neurosim.train.core import TrainResult, network_accuracy
from neurosim.train.registry import (
    TRAINING_METHODS,
    get_method,
    method_names,
    method_options,
    train_network,
)

__all__ = [
    "TRAINING_METHODS",
    "TrainResult",
    "get_method",
    "method_names",
    "method_options",
    "network_accuracy",
    "train_network",
]
