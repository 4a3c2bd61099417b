"""Shapes of NIR nodes and the linear map (:class:`LinOp`) of each linear node.

Conventions are PyTorch's, which snnTorch, sinabs and Norse write: feature
maps ``(C, H, W)`` (``(C, L)`` for ``Conv1d``) flattened in C order; kernels
``(C_out, C_in / groups, *k)``; ``bias`` one value per output channel;
``input_shape`` of a convolution is its spatial input only; ``Flatten``'s
``start_dim``/``end_dim`` do not count the batch dimension.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvSpec, PoolSpec
from neurosim.errors import NetworkError
from neurosim.io.nirio.ops import LinOp

__all__ = ["expected_input", "node_op", "shape_of_value", "type_shape"]

Err = Callable[[str], NetworkError]


def shape_of_value(value: Any, err: Err, what: str) -> tuple[int, ...]:
    """A shape given in a file (list/array of positive integers) as a tuple."""
    raw = np.asarray(value) if value is not None else np.zeros(0)
    if value is None or raw.dtype.kind not in "iu" or raw.ndim > 1:
        text = list(raw.tolist()) if isinstance(raw, np.ndarray) and raw.ndim == 1 else value
        raise err(f"{what} {text!r} is not a list of integers")
    dims = tuple(int(v) for v in raw.ravel())
    if any(d < 1 for d in dims):
        raise err(f"{what} {list(dims)}; expected positive dimensions")
    return dims


def type_shape(node: Any, key: str) -> Any:
    """``node.input_type['input']`` or ``node.output_type['output']`` (None if absent)."""
    types = getattr(node, f"{key}_type", None)
    return types.get(key) if isinstance(types, dict) else None


def _numeric(node: Any, field: str, err: Err) -> np.ndarray:
    value = np.asarray(getattr(node, field))
    if value.dtype.kind not in "biuf":
        raise err(f"{field} has dtype {value.dtype}; expected numbers")
    value = value.astype(np.float64)
    if not np.isfinite(value).all():
        raise err(f"{field} contains NaN or inf")
    return value


def _ints(value: Any, n: int, err: Err, field: str) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf8", "replace")
    if isinstance(value, str):
        return value
    raw = np.atleast_1d(np.asarray(value))
    if raw.dtype.kind not in "iuf" or raw.ndim != 1 or raw.size not in (1, n) or (raw != np.round(raw)).any():
        raise err(f"{field} {value!r}; expected an integer or {n} integers")
    return tuple(int(v) for v in np.broadcast_to(raw, (n,)))


def _dense(node: Any, kind: str, in_shape: tuple[int, ...], err: Err) -> tuple[LinOp, np.ndarray | None]:
    w = np.asarray(node.weight)
    if w.ndim != 2 or w.dtype.kind not in "biuf":
        raise err(f"weight has shape {tuple(w.shape)} and dtype {w.dtype}; expected a 2-D numeric (n_out, n_in) matrix")
    w = w.astype(np.float64)
    if not np.isfinite(w).all():
        raise err("weight contains NaN or inf")
    bias = None
    if kind == "Affine":
        b = _numeric(node, "bias", err)
        if b.ndim == 0:
            b = np.full(w.shape[0], float(b))
        if b.shape != (w.shape[0],):
            raise err(f"bias has shape {tuple(b.shape)}; expected ({w.shape[0]},) to match weight {tuple(w.shape)}")
        bias = b
    op = LinOp((w.shape[1],), (w.shape[0],), matrix=sp.csr_matrix(w.T))
    return op, bias


def _conv(node: Any, kind: str, in_shape: tuple[int, ...], err: Err, where: str) -> tuple[LinOp, np.ndarray]:
    nd = 1 if kind == "Conv1d" else 2
    k = np.asarray(node.weight)
    if k.ndim != nd + 2 or k.dtype.kind not in "biuf":
        raise err(f"weight has shape {tuple(k.shape)}; expected (C_out, C_in/groups, {'L' if nd == 1 else 'H, W'})")
    given = getattr(node, "input_shape", None)
    if given is not None:
        spatial = _ints(given, nd, err, "input_shape")
        if isinstance(spatial, str) or tuple(spatial) != tuple(in_shape[1:]):
            raise err(f"input_shape {np.atleast_1d(given).tolist()} disagrees with its input {list(in_shape)}")
    if len(in_shape) != nd + 1:
        raise err(f"input has shape {list(in_shape)}; expected (C, {'L' if nd == 1 else 'H, W'})")
    groups = np.asarray(node.groups)
    if groups.size != 1 or groups.dtype.kind not in "iu":
        raise err(f"groups {node.groups!r}; expected one positive integer")
    spec = ConvSpec(
        k.astype(np.float64), tuple(in_shape),
        stride=_ints(node.stride, nd, err, "stride"),
        padding=_ints(node.padding, nd, err, "padding"),
        dilation=_ints(node.dilation, nd, err, "dilation"),
        groups=int(groups.ravel()[0]), where=where,
    )
    b = _numeric(node, "bias", err)
    c_out = spec.out_shape[0]
    if b.ndim == 0:
        b = np.full(c_out, float(b))
    if b.shape != (c_out,):
        raise err(f"bias has shape {tuple(b.shape)}; expected ({c_out},), one per output channel")
    bias = np.repeat(b, int(np.prod(spec.out_shape[1:])))
    return LinOp(spec.in_shape, spec.out_shape, spec=spec), bias


def _pool(node: Any, kind: str, in_shape: tuple[int, ...], err: Err, where: str) -> LinOp:
    if len(in_shape) != 3:
        raise err(f"input has shape {list(in_shape)}; expected (C, H, W)")
    mode = "sum" if kind == "SumPool2d" else "avg"
    spec = PoolSpec(
        mode, _ints(node.kernel_size, 2, err, "kernel_size"), tuple(in_shape),
        stride=_ints(node.stride, 2, err, "stride"), padding=_ints(node.padding, 2, err, "padding"),
        where=where,
    )
    return LinOp(spec.in_shape, spec.out_shape, spec=spec)


def _flatten(node: Any, in_shape: tuple[int, ...], err: Err) -> LinOp:
    nd = len(in_shape)
    start, end = int(node.start_dim), int(node.end_dim)
    s, e = start % nd if nd else 0, end % nd if nd else 0
    if nd and (not -nd <= start < nd or not -nd <= end < nd or s > e):
        raise err(f"start_dim {start}, end_dim {end} do not fit an input of shape {list(in_shape)}")
    out = (*in_shape[:s], int(np.prod(in_shape[s:e + 1])), *in_shape[e + 1:]) if nd else in_shape
    return LinOp.reshape(in_shape, out)


def node_op(node: Any, kind: str, in_shape: tuple[int, ...], err: Err, where: str) -> tuple[LinOp, np.ndarray | None]:
    """The linear map of a linear node fed by ``in_shape``, and its bias (flat, or None).

    Raises
    ------
    NetworkError
        One line naming the node and the field (through ``err``/``where``).
    """
    if kind in ("Affine", "Linear"):
        return _dense(node, kind, in_shape, err)
    if kind in ("Conv1d", "Conv2d"):
        return _conv(node, kind, in_shape, err, where)
    if kind in ("SumPool2d", "AvgPool2d"):
        return _pool(node, kind, in_shape, err, where), None
    if kind == "Flatten":
        return _flatten(node, in_shape, err), None
    if kind == "Scale":
        s = _numeric(node, "scale", err)
        n = int(np.prod(in_shape))
        if s.size == 0:
            raise err("scale is empty")
        try:
            d = np.broadcast_to(s, in_shape).ravel().copy() if s.ndim else np.full(n, float(s))
        except ValueError:
            raise err(f"scale has shape {tuple(s.shape)}; expected one broadcastable to its input {list(in_shape)}") from None
        return LinOp(tuple(in_shape), tuple(in_shape), diag=d), None
    raise err(f"internal: {kind} is not a linear node")  # pragma: no cover


def expected_input(node: Any, kind: str) -> Callable[[tuple[int, ...]], bool] | None:
    """A test of whether an input shape suits a linear node (None: anything does)."""
    if kind in ("Affine", "Linear"):
        w = np.asarray(node.weight)
        return (lambda s: int(np.prod(s)) == w.shape[1]) if w.ndim == 2 else None
    if kind in ("Conv1d", "Conv2d"):
        w = np.asarray(node.weight)
        try:
            c_in = w.shape[1] * int(np.asarray(node.groups).ravel()[0])
        except (IndexError, TypeError, ValueError):
            return None
        return lambda s: len(s) == w.ndim - 1 and s[0] == c_in
    if kind in ("SumPool2d", "AvgPool2d"):
        return lambda s: len(s) == 3
    if kind == "Scale":
        n = int(np.size(node.scale))
        return lambda s: n == 1 or int(np.prod(s)) == n
    return None
