"""Apply a per-voxel fit over a large array in bounded-memory chunks, optionally threaded."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["fit_in_chunks"]


def fit_in_chunks(
    data: np.ndarray,
    select: np.ndarray,
    fit: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]],
    outputs: dict[str, np.ndarray],
    *,
    chunk_size: int = 16384,
    threads: int = 1,
    progress: bool = False,
    description: str = "fitting",
) -> None:
    """Run ``fit`` on the selected rows of ``data``, a chunk at a time, into ``outputs``.

    Parameters
    ----------
    data : (n, m) ndarray
        All voxels (a view of the caller's array; only one chunk at a time is copied).
    select : (n,) bool ndarray
        Rows to fit.
    fit : callable
        ``fit(rows, index) -> {name: (k,) array}`` for the selected rows of one chunk and their
        row indices.
    outputs : dict of (n,) ndarray
        Filled in place at the selected rows.
    chunk_size : int
        Voxels per chunk; about 16 k keeps the working set in cache.
    threads : int
        Chunks run on this many threads (NumPy releases the GIL in its kernels). BLAS is held
        to one thread meanwhile (threadpoolctl), so that ``threads`` is the parallelism.
    progress : bool
        Show a progress bar (tqdm) on standard error.
    description : str
        Label of the progress bar.
    """
    from threadpoolctl import threadpool_limits

    starts = range(0, len(data), chunk_size)

    def run(start: int) -> int:
        sel = select[start:start + chunk_size]
        index = start + np.flatnonzero(sel)
        if index.size:
            block = data[start:start + chunk_size]
            result = fit(block if index.size == len(block) else block[sel], index)
            for name, values in result.items():
                outputs[name][index] = values
        return int(index.size)

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=int(select.sum()), desc=description, unit="vox", unit_scale=True)
    # The kernels' matrix products are small: BLAS threads gain nothing on a quiet machine and
    # halve throughput when the other cores are busy. Parallelism is ours (``threads``).
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            if threads > 1:
                with ThreadPoolExecutor(max_workers=threads) as pool:
                    for done in pool.map(run, starts):
                        if bar is not None:
                            bar.update(done)
            else:
                for start in starts:
                    done = run(start)
                    if bar is not None:
                        bar.update(done)
    finally:
        if bar is not None:
            bar.close()
