"""b-value shells: grouping scanner-rounded b-values and reducing each shell to one signal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..acquisition import B0_MAX

__all__ = ["Shells", "group_shells"]


@dataclass(frozen=True)
class Shells:
    """Volumes grouped into shells of (nearly) equal b-value.

    Attributes
    ----------
    bvals : (k,) ndarray
        Mean b-value of each shell, s/mm², increasing (a b ≈ 0 shell first when present).
    index : (n,) int ndarray
        Shell of each volume.
    counts : (k,) int ndarray
        Volumes per shell.
    """

    bvals: np.ndarray
    index: np.ndarray
    counts: np.ndarray

    @property
    def has_b0(self) -> bool:
        """Whether the first shell is a b ≈ 0 shell."""
        return bool(self.bvals[0] <= B0_MAX)

    def reduce(self, signal: np.ndarray) -> np.ndarray:
        """One signal per shell: b ≈ 0 volumes averaged, others combined by geometric mean.

        The geometric mean over directions is the trace-weighted signal: for Gaussian
        diffusion ``S0·exp(−b·gᵀDg)`` and directions forming a tight frame (e.g. three
        orthogonal ones) it equals ``S0·exp(−b·MD)``, MD = trace(D)/3. Non-positive values
        make the geometric mean 0.

        Parameters
        ----------
        signal : (n_vox, n) ndarray

        Returns
        -------
        (n_vox, k) ndarray, same dtype
        """
        s = np.asarray(signal)
        out = np.empty((s.shape[0], len(self.bvals)), dtype=s.dtype)
        for k in range(len(self.bvals)):
            cols = s[:, self.index == k]
            if k == 0 and self.has_b0 or cols.shape[1] == 1:
                out[:, k] = cols.mean(axis=1)
            else:
                with np.errstate(divide="ignore"):
                    logs = np.log(np.maximum(cols, 0))
                out[:, k] = np.exp(logs.mean(axis=1))
        return out




def group_shells(bvals: np.ndarray, *, tolerance: float = 25.0) -> Shells:
    """Group b-values into shells: sorted values closer than ``tolerance`` share a shell.

    Parameters
    ----------
    bvals : (n,) array_like
        s/mm² (e.g. 0, 795, 800, 805 → two shells).
    tolerance : float
        Largest gap within a shell, s/mm².

    Returns
    -------
    Shells
    """
    b = np.asarray(bvals, dtype=np.float64)
    order = np.argsort(b, kind="stable")
    new = np.concatenate([[True], np.diff(b[order]) > tolerance])
    # b ≈ 0 never merges with a low nonzero shell
    new[1:] |= (b[order][1:] > B0_MAX) & (b[order][:-1] <= B0_MAX)
    shell_sorted = np.cumsum(new) - 1
    index = np.empty(len(b), int)
    index[order] = shell_sorted
    k = int(shell_sorted[-1]) + 1
    counts = np.bincount(index, minlength=k)
    means = np.bincount(index, weights=b, minlength=k) / counts
    return Shells(means, index, counts)
