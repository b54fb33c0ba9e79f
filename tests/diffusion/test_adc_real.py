"""ADC on real diffusion files that dipy ships (read as data), against dipy's tensor fit."""

from pathlib import Path

import numpy as np
import pytest

from discmri import fit_adc
from discmri.io import load_dwi

dipy = pytest.importorskip("dipy")
FILES = Path(dipy.__file__).parent / "data" / "files"


def load(name: str, ext: str):
    return load_dwi(FILES / f"{name}{ext}", bval=FILES / f"{name}.bval",
                    bvec=FILES / f"{name}.bvec")


def test_small_64d_adc_agrees_with_dipy_tensor_mean_diffusivity():
    # real brain data: one b = 0 (its .bvec row is NaN) and 64 directions at b ≈ 1000, the
    # .bvec written one row per volume
    from dipy.core.gradients import gradient_table
    from dipy.reconst.dti import TensorModel

    dwi = load("small_64D", ".nii")
    b, g = dwi.meta["bvals"], dwi.meta["bvecs"]
    assert np.isnan(np.loadtxt(FILES / "small_64D.bvec")[0]).all()
    np.testing.assert_array_equal(g[0], 0)
    data = np.asarray(dwi.data, np.float64)
    mask = data[..., 0] > 0
    md = TensorModel(gradient_table(b, bvecs=g), fit_method="WLS").fit(data, mask=mask).md
    fits = {m: fit_adc(dwi.data, b, bvecs=g, method=m, mask=mask) for m in ("ols", "wls", "nlls")}
    for method, fit in fits.items():
        ok = (fit.status == 0) & (md > 0)
        assert ok.sum() > 0.95 * mask.sum(), method
        ratio = float(np.median(fit.adc[ok] / md[ok]))
        # the trace ADC is the tensor's mean diffusivity (measured median ratio 0.9989)
        assert abs(ratio - 1) < 0.002, (method, ratio)
    np.testing.assert_allclose(fits["nlls"].adc[ok], fits["wls"].adc[ok], rtol=2e-3)


def test_a_real_scheme_without_b0_is_fitted():
    dwi = load("small_101D", ".nii.gz")  # lowest b = 15 s/mm²
    assert dwi.meta["bvals"].min() > 10
    fit = fit_adc(dwi.data, dwi.meta["bvals"], bvecs=dwi.meta["bvecs"], b_range=(0, 1000))
    assert fit.parameters["s0_extrapolated"] is True
    brain = fit.status == 0
    assert brain.mean() > 0.5
    assert 0.2e-3 < np.median(fit.adc[brain]) < 3.5e-3  # brain tissue ADC, mm²/s
