"""Chunked fits: every selected row once, bounded chunks, BLAS on one thread meanwhile."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from discmri.fitting import fit_in_chunks


def blas_threads() -> int:
    return max((lib["num_threads"] for lib in threadpool_info()
                if lib["user_api"] == "blas"), default=1)


@pytest.mark.parametrize("threads", [1, 2])
def test_rows_are_fitted_once_with_blas_held_to_one_thread(threads):
    data = np.arange(40.0).reshape(20, 2)
    select = np.zeros(20, bool)
    select[3:17] = True
    seen, inside = [], []

    def fit(rows, index):
        seen.extend(index.tolist())
        inside.append(blas_threads())
        return {"sum": rows.sum(axis=1)}

    out = {"sum": np.full(20, np.nan)}
    with threadpool_limits(limits=2, user_api="blas"):  # as on a machine with BLAS threads
        before = blas_threads()
        fit_in_chunks(data, select, fit, out, chunk_size=4, threads=threads)
        after = blas_threads()
    assert sorted(seen) == list(range(3, 17))
    np.testing.assert_array_equal(out["sum"][select], data[select].sum(axis=1))
    assert np.isnan(out["sum"][~select]).all()
    if any(lib["user_api"] == "blas" for lib in threadpool_info()):
        assert before == 2  # the limit is visible: the check below can fail
    assert set(inside) == {1}  # inside the kernels
    assert after == before  # restored afterwards
