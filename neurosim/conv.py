"""Convolution and pooling as compact projection kinds.

A convolutional projection is declared by its kernel and its input/output
shapes (:class:`ConvSpec`); a pooling projection by its window
(:class:`PoolSpec`). Neither is ever stored unrolled: the kernel is the only
array. :func:`unroll` derives the equivalent ``(n_pre, n_post)`` sparse
matrix on demand, for cross-checks and for chips that store synapses one by
one; :func:`conv_forward` runs graded inference with im2col + BLAS.

Conventions (those of PyTorch and NIR):

* feature maps are flattened in C order, ``(C, H, W)`` (or ``(C, L)`` for 1-D);
* the kernel has shape ``(C_out, C_in / groups, *k)`` and is applied as a
  cross-correlation: ``y[o, p] = sum_{c, t} K[o, c, t] * x[g(o) * C_in/g + c,
  p * stride - padding + t * dilation]``;
* padding is symmetric and implicit zeros; padded taps are not connections;
* the bias of a convolution lives on the post population (one value per
  neuron, usually one per channel broadcast over the map);
* average pooling divides by the full window area (PyTorch's
  ``count_include_pad=True``), sum pooling adds with weight 1.

Examples
--------
>>> import numpy as np
>>> spec = ConvSpec(np.ones((4, 1, 3, 3)), in_shape=(1, 8, 8), padding=1)
>>> spec.out_shape
(4, 8, 8)
>>> unroll(spec).shape
(64, 256)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError

__all__ = [
    "POOL_MODES",
    "ConvSpec",
    "PoolSpec",
    "conv_forward",
    "conv_output_shape",
    "im2col_index",
    "n_connections",
    "unroll",
]

#: bytes of one im2col block in :func:`conv_forward` (batch chunks are sized to it)
_IM2COL_BYTES = 8 << 20

#: pooling modes understood by :class:`PoolSpec`
POOL_MODES: tuple[str, ...] = ("sum", "avg")


def _tuple(value: Any, n: int, where: str, name: str, minimum: int) -> tuple[int, ...]:
    """``value`` (an int or a sequence of ``n`` ints >= ``minimum``) as an n-tuple."""
    raw = np.atleast_1d(np.asarray(value))
    if raw.size == 1:
        raw = np.repeat(raw, n)
    if raw.ndim != 1 or raw.size != n or raw.dtype.kind not in "iuf" or (raw != np.round(raw)).any():
        raise NetworkError(f"{where}: {name} {value!r}; expected an integer or {n} integers")
    out = tuple(int(v) for v in raw)
    if min(out) < minimum:
        raise NetworkError(f"{where}: {name} {out}; expected integers >= {minimum}")
    return out


def _shape(value: Any, ndim: int, where: str, name: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise NetworkError(f"{where}: {name} {value!r}; expected {ndim} positive integers") from None
    if len(out) != ndim or min(out) <= 0:
        raise NetworkError(f"{where}: {name} {out}; expected {ndim} positive integers (C, *spatial)")
    return out


def _store(spec: Any, where: str, out: tuple[int, ...], **fields: Any) -> None:
    """Check ``spec.out_shape`` (when given) against the computed ``out``, then store ``out`` and the normalised fields."""
    if spec.out_shape is not None and _shape(spec.out_shape, len(out), where, "out_shape") != out:
        raise NetworkError(f"{where}: out_shape {tuple(spec.out_shape)} is inconsistent; expected {out}")
    for name, value in {**fields, "out_shape": out}.items():
        object.__setattr__(spec, name, value)


def conv_output_shape(
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """Spatial output size of a convolution (PyTorch's floor formula).

    ``out = floor((in + 2 * padding - dilation * (k - 1) - 1) / stride) + 1``
    per spatial dimension; a value <= 0 means the kernel does not fit.
    """
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(size, kernel, stride, padding, dilation, strict=True)
    )


def _resolve_padding(padding: Any, ksize: tuple[int, ...], dilation: tuple[int, ...], where: str) -> Any:
    """``"valid"`` -> 0; ``"same"`` -> half the dilated kernel (odd kernels only)."""
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding == "same":
        span = [d * (k - 1) for k, d in zip(ksize, dilation, strict=True)]
        if any(s % 2 for s in span):
            raise NetworkError(f"{where}: padding 'same' needs an odd dilated kernel, got kernel {ksize}")
        return tuple(s // 2 for s in span)
    raise NetworkError(f"{where}: padding {padding!r}; expected integers, 'same' or 'valid'")


class _Sized:
    """The neuron counts of a projection kind with ``in_shape`` and ``out_shape``."""

    in_shape: Any
    out_shape: Any

    @property
    def n_pre(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_post(self) -> int:
        return int(np.prod(self.out_shape))  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class ConvSpec(_Sized):
    """A 1-D or 2-D (or n-D) convolution, stored as its kernel.

    Parameters
    ----------
    kernel : ndarray, shape (C_out, C_in / groups, *k)
        Weights (float64); 3-D for Conv1d, 4-D for Conv2d.
    in_shape : tuple of int
        ``(C_in, *spatial)`` of the pre population.
    out_shape : tuple of int, optional
        ``(C_out, *spatial_out)``; computed when omitted, checked when given.
    stride, padding, dilation : int or tuple of int
        Per spatial dimension (an int applies to all); ``padding`` may also be
        ``"same"`` or ``"valid"``.
    groups : int
        Channel groups; must divide ``C_in`` and ``C_out``.
    where : str
        Name used in error messages (the layer or NIR node).

    Raises
    ------
    NetworkError
        One line naming ``where`` and the field: inconsistent shapes, a kernel
        larger than the (padded) input, groups not dividing the channels.
    """

    kernel: np.ndarray
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...] | None = None
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    where: str = field(default="conv", repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self.where
        k = np.array(self.kernel, dtype=np.float64)
        if k.ndim < 3:
            raise NetworkError(f"{where}: kernel has shape {k.shape}; expected (C_out, C_in/groups, *k)")
        if not np.isfinite(k).all():
            raise NetworkError(f"{where}: kernel contains NaN or inf")
        k.setflags(write=False)
        nd = k.ndim - 2
        in_shape = _shape(self.in_shape, nd + 1, where, "in_shape")
        stride = _tuple(self.stride, nd, where, "stride", 1)
        dilation = _tuple(self.dilation, nd, where, "dilation", 1)
        padding = _tuple(_resolve_padding(self.padding, k.shape[2:], dilation, where), nd, where, "padding", 0)
        groups = _tuple(self.groups, 1, where, "groups", 1)[0]
        c_out, c_in_g = k.shape[:2]
        if in_shape[0] % groups or c_out % groups:
            raise NetworkError(
                f"{where}: groups {groups} does not divide the channels (C_in {in_shape[0]}, C_out {c_out})"
            )
        if c_in_g * groups != in_shape[0]:
            raise NetworkError(
                f"{where}: kernel has {c_in_g} input channels per group; in_shape {in_shape} "
                f"with groups {groups} needs {in_shape[0] // groups}"
            )
        span = tuple(d * (n - 1) + 1 for n, d in zip(k.shape[2:], dilation, strict=True))
        if any(s > n + 2 * p for s, n, p in zip(span, in_shape[1:], padding, strict=True)):
            raise NetworkError(
                f"{where}: kernel {tuple(k.shape[2:])} (dilated {span}) is larger than the padded input "
                f"{tuple(n + 2 * p for n, p in zip(in_shape[1:], padding, strict=True))}"
            )
        out = (c_out, *conv_output_shape(in_shape[1:], k.shape[2:], stride, padding, dilation))
        _store(self, where, out, kernel=k, in_shape=in_shape, stride=stride, padding=padding,
               dilation=dilation, groups=groups)

    @property
    def kind(self) -> str:
        """``"conv"``."""
        return "conv"

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions (1 for Conv1d, 2 for Conv2d)."""
        return self.kernel.ndim - 2

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return tuple(self.kernel.shape[2:])

    @property
    def n_params(self) -> int:
        """Stored weights: the kernel's entries (nonzero or not)."""
        return int(self.kernel.size)

    def scaled(self, factor: float) -> ConvSpec:
        """The same convolution with the kernel multiplied by ``factor``."""
        return self.with_kernel(self.kernel * float(factor))

    def with_kernel(self, kernel: np.ndarray) -> ConvSpec:
        """The same geometry with another kernel of the same shape."""
        kernel = np.asarray(kernel, dtype=np.float64)
        if kernel.shape != self.kernel.shape:
            raise NetworkError(f"{self.where}: kernel has shape {kernel.shape}; expected {self.kernel.shape}")
        return ConvSpec(kernel, self.in_shape, self.out_shape, self.stride, self.padding, self.dilation,
                        self.groups, self.where)

    def to_dict(self) -> dict[str, Any]:
        """Geometry as plain JSON (the kernel is left out)."""
        return {
            "kind": "conv", "in_shape": list(self.in_shape), "out_shape": list(self.out_shape or ()),
            "kernel_shape": list(self.kernel.shape), "stride": list(self.stride),
            "padding": list(self.padding), "dilation": list(self.dilation), "groups": self.groups,
        }


@dataclass(frozen=True, eq=False)
class PoolSpec(_Sized):
    """Sum or average pooling over windows of each channel (2-D, or 1-D).

    Parameters
    ----------
    mode : {"sum", "avg"}
    window : int or tuple of int
        Window size per spatial dimension.
    in_shape : tuple of int
        ``(C, *spatial)``.
    out_shape : tuple of int, optional
        Computed when omitted, checked when given.
    stride : int or tuple of int, optional
        Defaults to the window (non-overlapping pooling).
    padding : int or tuple of int
    gain : float
        Extra factor on every tap (1 by default; set by threshold balancing).
    where : str
        Name used in error messages.

    Raises
    ------
    NetworkError
        When the windows do not tile the padded input exactly
        (``(in + 2 * padding - window) % stride != 0``), or shapes disagree.
    """

    mode: str
    window: Any
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...] | None = None
    stride: Any = None
    padding: Any = 0
    gain: float = 1.0
    where: str = field(default="pool", repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self.where
        if self.mode not in POOL_MODES:
            raise NetworkError(f"{where}: mode {self.mode!r}; expected one of {', '.join(POOL_MODES)}")
        try:
            nd = len(self.in_shape) - 1
        except TypeError:
            nd = 0
        if nd < 1:
            raise NetworkError(f"{where}: in_shape {self.in_shape!r}; expected (C, *spatial)")
        in_shape = _shape(self.in_shape, nd + 1, where, "in_shape")
        window = _tuple(self.window, nd, where, "window", 1)
        stride = window if self.stride is None else _tuple(self.stride, nd, where, "stride", 1)
        padding = _tuple(self.padding, nd, where, "padding", 0)
        for n, w, s, p in zip(in_shape[1:], window, stride, padding, strict=True):
            if w > n + 2 * p:
                raise NetworkError(f"{where}: window {window} is larger than the padded input {in_shape[1:]}")
            if (n + 2 * p - w) % s:
                raise NetworkError(
                    f"{where}: window {window} with stride {stride} does not tile the input {in_shape[1:]} "
                    f"(padding {padding})"
                )
        out = (in_shape[0], *conv_output_shape(in_shape[1:], window, stride, padding, (1,) * nd))
        gain = float(self.gain)
        if not np.isfinite(gain) or gain == 0:
            raise NetworkError(f"{where}: gain {self.gain!r}; expected a finite nonzero number")
        _store(self, where, out, in_shape=in_shape, window=window, stride=stride, padding=padding, gain=gain)

    @property
    def kind(self) -> str:
        """``"pool"``."""
        return "pool"

    @property
    def weight(self) -> float:
        """The one weight of every tap: ``gain`` (sum) or ``gain`` / window area (avg)."""
        return self.gain if self.mode == "sum" else self.gain / float(np.prod(self.window))

    @property
    def n_params(self) -> int:
        """Stored weights: the single tap weight."""
        return 1

    def scaled(self, factor: float) -> PoolSpec:
        """The same pooling with ``gain`` multiplied by ``factor``."""
        return PoolSpec(self.mode, self.window, self.in_shape, self.out_shape, self.stride, self.padding,
                        self.gain * float(factor), self.where)

    def as_conv(self) -> ConvSpec:
        """The equivalent depthwise convolution (``groups = C``)."""
        c = self.in_shape[0]
        kernel = np.full((c, 1, *self.window), self.weight)
        return ConvSpec(kernel, self.in_shape, self.out_shape, self.stride, self.padding, 1, c, self.where)

    def to_dict(self) -> dict[str, Any]:
        """Geometry as plain JSON."""
        return {
            "kind": "pool", "mode": self.mode, "in_shape": list(self.in_shape),
            "out_shape": list(self.out_shape or ()), "window": list(self.window),
            "stride": list(self.stride), "padding": list(self.padding), "gain": self.gain,
        }


def im2col_index(spec: ConvSpec) -> np.ndarray:
    """Flat spatial input index of every (kernel tap, output position).

    Returns
    -------
    ndarray of int64, shape (K, P)
        ``K = prod(kernel_size)`` taps, ``P = prod(out spatial)`` positions;
        ``-1`` where the tap falls on padding.
    """
    insize = spec.in_shape[1:]
    outsize = spec.out_shape[1:]  # type: ignore[index]
    taps = np.indices(spec.kernel_size).reshape(spec.ndim, -1)  # (nd, K)
    pos = np.indices(outsize).reshape(spec.ndim, -1)  # (nd, P)
    flat = np.zeros((taps.shape[1], pos.shape[1]), dtype=np.int64)
    valid = np.ones(flat.shape, dtype=bool)
    for d in range(spec.ndim):
        coord = (pos[d][None, :] * spec.stride[d] - spec.padding[d]) + taps[d][:, None] * spec.dilation[d]
        valid &= (coord >= 0) & (coord < insize[d])
        flat = flat * insize[d] + coord
    return np.where(valid, flat, -1)


def unroll(spec: ConvSpec | PoolSpec) -> sp.csr_matrix:
    """The ``(n_pre, n_post)`` CSR matrix of a convolution or pooling.

    Vectorized over taps, channels and positions; zero kernel entries and
    padded taps are not stored.
    """
    conv = spec.as_conv() if isinstance(spec, PoolSpec) else spec
    idx = im2col_index(conv)  # (K, P)
    c_out, c_in_g = conv.kernel.shape[:2]
    hw_in = int(np.prod(conv.in_shape[1:]))
    n_pos = idx.shape[1]
    group = np.arange(c_out) // (c_out // conv.groups)
    ci = group[:, None] * c_in_g + np.arange(c_in_g)[None, :]  # (C_out, C_in_g)
    pre = ci[:, :, None, None] * hw_in + idx[None, None, :, :]
    post = np.arange(c_out)[:, None, None, None] * n_pos + np.arange(n_pos)[None, None, None, :]
    w = conv.kernel.reshape(c_out, c_in_g, -1)[:, :, :, None]
    shape4 = (c_out, c_in_g, idx.shape[0], n_pos)
    keep = np.broadcast_to((idx >= 0)[None, None], shape4) & np.broadcast_to(w != 0, shape4)
    rows = np.broadcast_to(pre, shape4)[keep]
    cols = np.broadcast_to(post, shape4)[keep]
    vals = np.broadcast_to(w, shape4)[keep]
    m = sp.csr_matrix((vals, (rows, cols)), shape=(conv.n_pre, conv.n_post))
    m.sum_duplicates()
    m.sort_indices()
    return m


def n_connections(spec: ConvSpec | PoolSpec) -> int:
    """Nonzero weights of :func:`unroll` ``(spec)``, counted without unrolling."""
    conv = spec.as_conv() if isinstance(spec, PoolSpec) else spec
    valid = (im2col_index(conv) >= 0).sum(axis=1)  # (K,) positions each tap reaches
    nonzero = (conv.kernel != 0).reshape(conv.kernel.shape[0], conv.kernel.shape[1], -1)
    return int((nonzero * valid[None, None, :]).sum())


def conv_forward(spec: ConvSpec | PoolSpec, x: np.ndarray) -> np.ndarray:
    """Graded forward pass ``x @ unroll(spec)`` by im2col + BLAS.

    Parameters
    ----------
    spec : ConvSpec or PoolSpec
    x : ndarray, shape (batch, n_pre)
        Flattened (C order) input maps.

    Returns
    -------
    ndarray, shape (batch, n_post)
    """
    conv = spec.as_conv() if isinstance(spec, PoolSpec) else spec
    x = np.asarray(x, dtype=np.float64)
    idx = im2col_index(conv)
    # batch chunks whose im2col matrix stays within ~8 MB (cache-friendly gather)
    chunk = max(1, _IM2COL_BYTES // (8 * conv.in_shape[0] * idx.size))
    out = np.empty((x.shape[0], conv.n_post))
    for s in range(0, x.shape[0], chunk):
        out[s:s + chunk] = _forward_chunk(spec, conv, idx, x[s:s + chunk])
    return out


def _forward_chunk(spec: ConvSpec | PoolSpec, conv: ConvSpec, idx: np.ndarray, x: np.ndarray) -> np.ndarray:
    batch = x.shape[0]
    c_in = conv.in_shape[0]
    c_out, c_in_g = conv.kernel.shape[:2]
    k, n_pos = idx.shape
    # batch last: the gather copies contiguous runs of `batch` values
    padded = np.zeros((c_in, x.shape[1] // c_in + 1, batch))
    padded[:, :-1, :] = x.T.reshape(c_in, -1, batch)
    cols = padded[:, idx, :]  # (C_in, K, P, B)
    if isinstance(spec, PoolSpec):
        return (cols.sum(axis=1) * spec.weight).transpose(2, 0, 1).reshape(batch, -1)
    g = conv.groups
    cols = cols.reshape(g, c_in_g * k, n_pos * batch)
    kern = conv.kernel.reshape(g, c_out // g, c_in_g * k)
    out = np.matmul(kern, cols)  # one GEMM per group: (C_out/g, C_in/g * K) x (C_in/g * K, P * B)
    return out.reshape(c_out, n_pos, batch).transpose(2, 0, 1).reshape(batch, -1)
