"""Post-major ("pull") graded layers for dense activation batches.

The implementation lives in :mod:`neurosim.sim.kernels` (the kernels
themselves in :mod:`neurosim.sim._jit_pull`), where the engine's graded path
uses it; this module keeps the names under which
:func:`neurosim.io.graph_challenge.challenge_inference` and
``benchmarks/bench_graph_challenge.py`` import them. Pass a layer's
activations on to the next layer as they are: outputs are F-contiguous views
of the feature-major result.
"""

from __future__ import annotations

from neurosim.sim.kernels import PULL_BLOCK, csc_arrays, pull_block, pull_layer, pull_layer_fixed

__all__ = ["PULL_BLOCK", "csc_arrays", "pull_block", "pull_layer", "pull_layer_fixed"]
