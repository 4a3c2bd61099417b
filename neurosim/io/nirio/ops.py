"""Linear maps between two neuron layers, and their composition (the fold of a NIR chain).

A :class:`LinOp` maps a flat input (C order, ``in_shape``) to a flat output
(``out_shape``). It is one of: a reshape (``Flatten``; no weights), a
diagonal (``Scale``), a sparse matrix (``Affine``/``Linear``), or a compact
convolution or pooling (:class:`~neurosim.conv.ConvSpec`,
:class:`~neurosim.conv.PoolSpec`). :meth:`LinOp.then` composes two maps and
keeps the compact form where the product is still one (a reshape around
anything; a convolution or pooling followed by a per-channel scale); any
other product is the sparse matrix product of the unrolled views, exact up
to floating-point rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvSpec, PoolSpec, conv_forward, unroll

__all__ = ["LinOp"]


@dataclass(frozen=True, eq=False)
class LinOp:
    """A linear map ``y = x @ M`` from ``prod(in_shape)`` to ``prod(out_shape)`` values.

    Exactly one of ``matrix``, ``spec``, ``diag`` is set, or none (a reshape).
    """

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    matrix: sp.csr_matrix | None = None
    spec: ConvSpec | PoolSpec | None = None
    diag: np.ndarray | None = None

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def is_reshape(self) -> bool:
        return self.matrix is None and self.spec is None and self.diag is None

    @property
    def kind(self) -> str:
        """``reshape``, ``scale``, ``sparse``, ``conv`` or ``pool``."""
        if self.spec is not None:
            return self.spec.kind
        if self.matrix is not None:
            return "sparse"
        return "scale" if self.diag is not None else "reshape"

    @classmethod
    def reshape(cls, in_shape: tuple[int, ...], out_shape: tuple[int, ...] | None = None) -> LinOp:
        return cls(tuple(in_shape), tuple(out_shape if out_shape is not None else in_shape))

    def as_matrix(self) -> sp.csr_matrix:
        """The ``(n_in, n_out)`` CSR matrix (a convolution unrolled)."""
        if self.matrix is not None:
            return self.matrix
        if self.spec is not None:
            return unroll(self.spec)
        d = np.ones(self.n_in) if self.diag is None else self.diag
        return sp.diags(d, format="csr")

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``x @ M`` for one flat vector ``x`` (a bias carried through the map)."""
        if self.matrix is not None:
            return np.asarray(self.matrix.T @ x).ravel()
        if self.spec is not None:
            return conv_forward(self.spec, x[None, :])[0]
        return x * self.diag if self.diag is not None else x.copy()

    def then(self, other: LinOp) -> LinOp:
        """The map ``x -> other(self(x))``."""
        if self.is_reshape:
            return replace(other, in_shape=self.in_shape)
        if other.is_reshape:
            return replace(self, out_shape=other.out_shape)
        if self.diag is not None and other.diag is not None:
            return replace(self, diag=self.diag * other.diag, out_shape=other.out_shape)
        if self.spec is not None and other.diag is not None:
            per = _per_channel(other.diag, self.spec.out_shape)
            if per is not None and isinstance(self.spec, PoolSpec) and (per == per[0]).all():
                return LinOp(self.in_shape, other.out_shape, spec=self.spec.scaled(float(per[0])))
            if per is not None:
                conv = self.spec.as_conv() if isinstance(self.spec, PoolSpec) else self.spec
                kernel = conv.kernel * per.reshape((-1,) + (1,) * (conv.kernel.ndim - 1))
                return LinOp(self.in_shape, other.out_shape, spec=conv.with_kernel(kernel))
        if self.matrix is not None and other.diag is not None:
            m = sp.csr_matrix(self.matrix.multiply(other.diag[None, :]))
            return LinOp(self.in_shape, other.out_shape, matrix=m)
        product = sp.csr_matrix(self.as_matrix() @ other.as_matrix())
        return LinOp(self.in_shape, other.out_shape, matrix=product)

    def plus(self, other: LinOp) -> LinOp:
        """The sum of two maps with the same input and output (as a sparse matrix)."""
        total = sp.csr_matrix(self.as_matrix() + other.as_matrix())
        return LinOp(self.in_shape, self.out_shape, matrix=total)


def _per_channel(diag: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray | None:
    """The per-channel factors of ``diag`` over a ``(C, *spatial)`` map, or None if they vary."""
    if shape is None or diag.size != int(np.prod(shape)):
        return None
    per = diag.reshape(shape[0], -1)
    if (per == per[:, :1]).all():
        return per[:, 0].copy()
    return None
