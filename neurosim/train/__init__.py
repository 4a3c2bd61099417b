"""Hardware-aware training: DEEP R, CoNNTrA ternary, tensor sketching and baselines.

The registry of methods is :data:`~neurosim.train.registry.TRAINING_METHODS`;
:func:`~neurosim.train.registry.train_network` trains with any of them and
returns a :class:`~neurosim.train.core.TrainResult` holding a
:class:`~neurosim.network.Network` ready for mapping. A method's keyword
options are a dataclass (:mod:`neurosim.train.options`), and :func:`trainer`
makes the method from its body.
"""

from neurosim.train.core import TrainResult, network_accuracy
from neurosim.train.options import TrainData, TrainOptions, option, options_class, trainer
from neurosim.train.registry import (
    TRAINING_METHODS,
    get_method,
    method_names,
    method_options,
    train_network,
)

__all__ = [
    "TRAINING_METHODS",
    "TrainData",
    "TrainOptions",
    "TrainResult",
    "get_method",
    "method_names",
    "method_options",
    "network_accuracy",
    "option",
    "options_class",
    "train_network",
    "trainer",
]
