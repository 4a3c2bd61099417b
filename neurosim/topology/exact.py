"""Sparse ReLU networks with exact, closed-form outputs (test vectors).

Following the idea of Kepner et al., "Sparse Deep Neural Network Exact
Solutions" (IEEE HPEC 2018) -- sparse layers whose neurons fall into
categories that propagate independently, so that the output for a given input
is known in closed form -- this module builds networks of any width and depth
whose outputs are exact in float64, float32 and 8-/16-bit fixed point. The
construction is documented in ``docs/exact_solutions.md``; in short:

* every population's neurons are dealt (seeded permutation) into ``C``
  categories; neuron ``j`` of category ``c`` in layer ``l`` receives exactly
  ``k`` (= ``fan_in``, a power of two) synapses from distinct neurons of
  category ``c`` in layer ``l - 1``, all of weight ``g_l / k``, with the layer
  gain ``g_l`` in {1, 2};
* every neuron of layer ``l`` has bias ``-beta_l`` (``beta_l`` a small multiple
  of ``2^-f``), the ReLU is capped at ``cap``;
* an input sets all neurons of some categories to one value ``v_c`` (a
  multiple of ``2^-f``) and the others to 0.

All neurons of one category then hold the same value in every layer, and the
output of category ``c`` is the composition of the clamped affine maps
``v -> min(cap, max(0, g_l v - beta_l))``, itself a clamped affine map
``F(v) = min(HI, max(LO, A v + D))`` (:class:`ClampAffine`). Every weight,
bias, partial sum and activation is a multiple of ``2^-f`` (partial sums of
``2^-2f``) bounded by ``2 * cap``, so all four number formats compute it
without rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError
from neurosim.network import Network
from neurosim.neurons import NeuronModel
from neurosim.topology.fixed_fan_in import check_size

__all__ = [
    "ClampAffine",
    "ExactSolution",
    "FixedPointFormat",
    "exact_solution",
]


@dataclass(frozen=True)
class FixedPointFormat:
    """Signed two's-complement fixed point: ``bits`` in all, ``frac_bits`` after the point.

    A value ``x`` is stored as the integer ``x * 2**frac_bits``.

    Examples
    --------
    >>> q = FixedPointFormat(8, 3)
    >>> q.to_int(np.array([1.5, -0.125])).tolist(), q.max_value
    ([12, -1], 15.875)
    """

    bits: int
    frac_bits: int

    @property
    def scale(self) -> int:
        """``2**frac_bits``."""
        return 1 << self.frac_bits

    @property
    def min_int(self) -> int:
        return -(1 << (self.bits - 1))

    @property
    def max_int(self) -> int:
        return (1 << (self.bits - 1)) - 1

    @property
    def max_value(self) -> float:
        return self.max_int / self.scale

    @property
    def dtype(self) -> np.dtype:
        """The smallest numpy integer type holding ``bits`` bits."""
        return np.dtype(f"int{max(8, 1 << (self.bits - 1).bit_length())}")

    def representable(self, x: Any) -> bool:
        """True when every value of ``x`` is an exact multiple of ``2^-frac_bits`` in range."""
        s = np.asarray(x, dtype=np.float64) * self.scale
        return bool(np.all(s == np.round(s)) and np.all((s >= self.min_int) & (s <= self.max_int)))

    def to_int(self, x: Any) -> np.ndarray:
        """Exact integer codes of ``x``; raises NetworkError when ``x`` is not representable."""
        if not self.representable(x):
            raise NetworkError(
                f"value not representable in Q{self.bits - self.frac_bits}.{self.frac_bits} ({self.bits}-bit)"
            )
        return (np.asarray(x, dtype=np.float64) * self.scale).astype(self.dtype)

    def to_float(self, codes: Any) -> np.ndarray:
        """Values of integer codes, as float64."""
        return np.asarray(codes, dtype=np.float64) / self.scale

    def to_dict(self) -> dict[str, int]:
        return {"bits": self.bits, "frac_bits": self.frac_bits}


@dataclass(frozen=True)
class ClampAffine:
    """The map ``v -> min(hi, max(lo, a v + d))`` with exact rational coefficients (``a > 0``)."""

    a: Fraction = Fraction(1)
    d: Fraction = Fraction(0)
    lo: Fraction | None = None  # None = -inf
    hi: Fraction | None = None  # None = +inf

    def __call__(self, v: Fraction | int | float) -> Fraction:
        x = self.a * Fraction(v) + self.d
        if self.lo is not None and x < self.lo:
            x = self.lo
        if self.hi is not None and x > self.hi:
            x = self.hi
        return x

    def then(self, gain: Fraction, bias: Fraction, lo: Fraction, hi: Fraction) -> ClampAffine:
        """``v -> clamp(gain * self(v) + bias, lo, hi)``, again a ClampAffine (gain > 0)."""

        def clamp(x: Fraction | None, default: Fraction) -> Fraction:
            x = default if x is None else gain * x + bias
            return min(max(x, lo), hi)

        return ClampAffine(
            gain * self.a, gain * self.d + bias, clamp(self.lo, lo), clamp(self.hi, hi)
        )

    def to_dict(self) -> dict[str, str | None]:
        return {
            k: None if getattr(self, k) is None else str(getattr(self, k))
            for k in ("a", "d", "lo", "hi")
        }


@dataclass(frozen=True, eq=False)
class ExactSolution:
    """A network, inputs, and the outputs its closed form predicts.

    Attributes
    ----------
    network : Network
        Layered ReLU network (``input, layer1, ... layerL``), bias ``-beta_l``, cap ``cap``.
    inputs : ndarray, shape (n_inputs, N)
    expected_outputs : ndarray, shape (n_inputs, N)
        Exact outputs of the last layer (float64; every value a multiple of ``2^-f``).
    categories : ndarray of int64
        1-based indices of the input rows with any nonzero output (challenge convention).
    fixed_point : dict of int to FixedPointFormat
        The formats the network is exact in, by width: ``{8: Q.f8, 16: Q.f16}``.
        Weights, biases, activations use ``frac_bits``; partial sums need ``2 * frac_bits``
        fractional bits (an integer accumulator of ``bits * 2`` bits or more suffices).
    category_values : ndarray, shape (n_inputs, C)
        ``v_c`` of each input (0 for an inactive category).
    output_values : ndarray, shape (n_inputs, C)
        ``F(v_c)``, the closed-form output of each category.
    closed_form : ClampAffine
        ``F``, the composition of all layers.
    groups : tuple of ndarray
        Category of every neuron of each population (input first).
    gains, betas : tuple of Fraction
        Per layer ``g_l`` and ``beta_l`` (bias = ``-beta_l``).
    cap : Fraction
    perturbation : str
        ``"none"`` or the perturbation applied (see :meth:`perturbed`).
    """

    network: Network
    inputs: np.ndarray
    expected_outputs: np.ndarray
    categories: np.ndarray
    fixed_point: dict[int, FixedPointFormat]
    category_values: np.ndarray
    output_values: np.ndarray
    closed_form: ClampAffine
    groups: tuple[np.ndarray, ...]
    gains: tuple[Fraction, ...]
    betas: tuple[Fraction, ...]
    cap: Fraction
    perturbation: str = "none"
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_categories(self) -> int:
        return int(self.category_values.shape[1])

    def predict(self, category_values: Any) -> np.ndarray:
        """Closed-form outputs for per-category input values (n_inputs x C) -> (n_inputs x N)."""
        return self._category_outputs(np.asarray(category_values, dtype=np.float64))[
            :, self.groups[-1]
        ]

    def perturbed(self, kind: str = "subthreshold_noise", *, seed: int = 0) -> ExactSolution:
        """A copy with perturbed inputs whose effect the closed form predicts.

        Parameters
        ----------
        kind : {"subthreshold_noise", "drop_category"}
            ``subthreshold_noise``: every input neuron of an *inactive* category gets
            a value in ``[0, beta_1 / g_1]`` (multiples of ``2^-f``); layer 1 sums
            ``k`` of them with weight ``g_1 / k``, which stays at or below the
            threshold ``beta_1``, so the noise vanishes and the expected outputs
            are unchanged. ``drop_category``: one active category of each input
            row is switched off; its outputs become 0.
        seed : int
        """
        rng = np.random.default_rng(seed)
        q = self.fixed_point[min(self.fixed_point)]
        g0 = self.groups[0]
        vals = self.category_values.copy()
        inputs = self.inputs
        if kind == "subthreshold_noise":
            max_code = int(np.floor(self.betas[0] / self.gains[0] * q.scale))
            inactive = vals[:, g0] == 0
            noise = rng.integers(0, max_code + 1, size=inputs.shape) / q.scale
            inputs = np.where(inactive, noise, inputs)
        elif kind == "drop_category":
            for row in range(vals.shape[0]):
                active = np.flatnonzero(vals[row])
                if active.size:
                    vals[row, rng.choice(active)] = 0.0
            inputs = vals[:, g0]
        else:
            raise NetworkError(
                f"exact solution: unknown perturbation {kind!r}; expected subthreshold_noise or drop_category"
            )
        outputs = self._category_outputs(vals)
        expected = outputs[:, self.groups[-1]]
        return replace(
            self,
            inputs=inputs,
            expected_outputs=expected,
            categories=np.flatnonzero(expected.any(axis=1)).astype(np.int64) + 1,
            category_values=vals,
            output_values=outputs,
            perturbation=kind,
        )

    def _category_outputs(self, vals: np.ndarray) -> np.ndarray:
        return np.vectorize(lambda v: float(self.closed_form(Fraction(v))), otypes=[np.float64])(
            vals
        )


def _is_pow2(x: int) -> bool:
    return x >= 1 and x & (x - 1) == 0


def exact_solution(
    n_neurons: int = 64,
    n_layers: int = 4,
    *,
    n_categories: int = 4,
    fan_in: int = 4,
    n_inputs: int = 16,
    cap: float = 4.0,
    frac_bits: int = 3,
    seed: int = 0,
) -> ExactSolution:
    """Generate an exact-solution network and test vectors.

    Parameters
    ----------
    n_neurons : int
        Neurons per layer (any width with ``n_neurons // n_categories >= fan_in``).
    n_layers : int
        Depth (any positive number).
    n_categories : int
        Categories ``C`` (independent neuron groups).
    fan_in : int
        Synapses per neuron, a power of two ``<= 2**frac_bits``.
    n_inputs : int
        Input rows.
    cap : float
        ReLU cap, a multiple of ``2^-frac_bits`` with ``2 * cap`` representable in 8 bits.
    frac_bits : int
        Fractional bits of the 8-bit format (the 16-bit format uses ``frac_bits + 5``,
        the same value range scaled up 32 times finer, so anything exact in 8 bits is
        exact in 16).
    seed : int

    Returns
    -------
    ExactSolution

    Examples
    --------
    >>> sol = exact_solution(32, 3, n_categories=2, fan_in=2, n_inputs=4, seed=1)
    >>> sol.network.stats().fan_in_max, sol.fixed_point[8]
    (2, FixedPointFormat(bits=8, frac_bits=3))
    """
    n, L, C, k = int(n_neurons), int(n_layers), int(n_categories), int(fan_in)
    q8 = FixedPointFormat(8, int(frac_bits))
    q16 = FixedPointFormat(16, int(frac_bits) + 5)
    capf = _check_exact_args(n, L, C, k, int(n_inputs), cap, q8)
    rng = np.random.default_rng(seed)
    # categories of every population: a seeded deal of the neurons
    groups = tuple(rng.permutation(np.arange(n) % C) for _ in range(L + 1))
    weights, gains, betas = _layers(rng, groups, n, L, C, k, q8)
    closed = ClampAffine()
    for g, b in zip(gains, betas, strict=False):
        closed = closed.then(g, -b, Fraction(0), capf)
    cat_vals = _category_values(rng, int(n_inputs), C, capf, q8)
    out_vals = np.vectorize(lambda v: float(closed(Fraction(v))), otypes=[np.float64])(cat_vals)
    inputs = cat_vals[:, groups[0]]
    expected = out_vals[:, groups[-1]]
    cats = np.flatnonzero(expected.any(axis=1)).astype(np.int64) + 1
    net = _exact_network(weights, gains, betas, closed, capf, (q8, q16), seed=int(seed), C=C, k=k)
    _check_representable((inputs, expected, cat_vals, out_vals), (q8, q16))
    return ExactSolution(
        network=net,
        inputs=inputs,
        expected_outputs=expected,
        categories=cats,
        fixed_point={8: q8, 16: q16},
        category_values=cat_vals,
        output_values=out_vals,
        closed_form=closed,
        groups=groups,
        gains=tuple(gains),
        betas=tuple(betas),
        cap=capf,
        metadata=dict(net.metadata),
    )


def _exact_network(
    weights: list[sp.csr_matrix],
    gains: list[Fraction],
    betas: list[Fraction],
    closed: ClampAffine,
    capf: Fraction,
    formats: tuple[FixedPointFormat, FixedPointFormat],
    *,
    seed: int,
    C: int,
    k: int,
) -> Network:
    """The capped-ReLU network of the layers, with the construction in its metadata."""
    q8, q16 = formats
    n, L = weights[0].shape[0], len(weights)
    return Network.from_layers(
        weights,
        [-float(b) for b in betas],
        NeuronModel("relu", {"cap": float(capf)}),
        name=f"exact-n{n}-l{L}",
        metadata={
            "generator": "exact",
            "seed": seed,
            "n_categories": C,
            "fan_in": k,
            "gains": [str(g) for g in gains],
            "betas": [str(b) for b in betas],
            "cap": float(capf),
            "fixed_point": {"8": q8.to_dict(), "16": q16.to_dict()},
            "closed_form": closed.to_dict(),
        },
    )


def _layers(
    rng: np.random.Generator,
    groups: tuple[np.ndarray, ...],
    n: int,
    L: int,
    C: int,
    k: int,
    q8: FixedPointFormat,
) -> tuple[list[sp.csr_matrix], list[Fraction], list[Fraction]]:
    """Seeded gains and thresholds of the ``L`` layers and their category-wise weights."""
    unit = Fraction(1, q8.scale)
    members = [[np.flatnonzero(g == c) for c in range(C)] for g in groups]
    gains = [Fraction(1)] + [
        Fraction(2) if rng.random() < 0.25 else Fraction(1) for _ in range(L - 1)
    ]
    # layer 1 threshold leaves room for sub-threshold noise; later ones are small multiples of 2^-f
    betas = [4 * unit] + [int(rng.choice([1, 2, 4])) * unit for _ in range(L - 1)]
    weights = [
        _category_layer(rng, members[layer - 1], members[layer], gains[layer - 1], k, n)
        for layer in range(1, L + 1)
    ]
    return weights, gains, betas


def _check_representable(
    arrays: tuple[np.ndarray, ...], formats: tuple[FixedPointFormat, ...]
) -> None:
    """A construction invariant, not user input: every value exact in every format."""
    for arr in arrays:
        for q in formats:
            if not q.representable(arr):
                raise NetworkError("exact solution: internal error, value not representable")


def _check_exact_args(
    n: int, L: int, C: int, k: int, n_inputs: int, cap: float, q8: FixedPointFormat
) -> Fraction:
    """Validate :func:`exact_solution`'s sizes and cap; return the cap as a fraction."""
    if L < 1 or n < 1 or C < 1 or n_inputs < 1:
        raise NetworkError(
            "exact solution: n_neurons, n_layers, n_categories and n_inputs must be >= 1"
        )
    if not _is_pow2(k) or k > q8.scale:
        raise NetworkError(
            f"exact solution: fan_in {k} must be a power of two <= 2**frac_bits = {q8.scale}"
        )
    if n // C < k:
        raise NetworkError(
            f"exact solution: {n} neurons in {C} categories leave fewer than fan_in={k} per category"
        )
    check_size("exact solution", n * (L + 1) + n * n_inputs, n * k * L)
    capf = Fraction(cap)
    if (
        capf <= 0
        or capf * q8.scale != int(capf * q8.scale)
        or 2 * capf > Fraction(q8.max_int, q8.scale)
    ):
        raise NetworkError(
            f"exact solution: cap {cap} must be a positive multiple of 2^-{q8.frac_bits} with 2*cap <= {q8.max_value}"
        )
    return capf


def _category_layer(
    rng: np.random.Generator,
    pre_members: list[np.ndarray],
    post_members: list[np.ndarray],
    gain: Fraction,
    k: int,
    n: int,
) -> sp.csr_matrix:
    """One layer's weights: each post neuron averages ``k`` pre neurons of its category, times ``gain``."""
    rows, cols = [], []
    for pre, post in zip(pre_members, post_members, strict=True):
        # k distinct pre neurons per post neuron: a window of a seeded shuffle
        shuffled = rng.permutation(pre)
        starts = rng.integers(0, pre.size, size=post.size)
        picks = shuffled[(starts[:, None] + np.arange(k)[None, :]) % pre.size]
        rows.append(picks.ravel())
        cols.append(np.repeat(post, k))
    r, cc = np.concatenate(rows), np.concatenate(cols)
    w = float(gain / k)
    return sp.csr_matrix((np.full(r.size, w), (r, cc)), shape=(n, n))


def _category_values(
    rng: np.random.Generator, n_inputs: int, C: int, capf: Fraction, q8: FixedPointFormat
) -> np.ndarray:
    """Per input row, a random non-empty set of active categories with values in (0, cap]."""
    n_codes = int(capf * q8.scale)
    cat_vals = np.zeros((n_inputs, C))
    for row in range(n_inputs):
        active = rng.random(C) < 0.5
        active[rng.integers(C)] = True
        cat_vals[row, active] = rng.integers(1, n_codes + 1, size=int(active.sum())) / q8.scale
    return cat_vals
