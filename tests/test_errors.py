import pytest

from discmri import DiscMRIError
from discmri.errors import (
    AcquisitionError,
    DatasetError,
    GeometryError,
    ImageFormatError,
    InputNotFoundError,
    MapError,
    MeasurementError,
    OutputError,
    OutputExistsError,
    ParameterError,
)


@pytest.mark.parametrize(
    "cls",
    [AcquisitionError, DatasetError, GeometryError, ImageFormatError, InputNotFoundError,
     OutputExistsError, OutputError, ParameterError, MapError, MeasurementError],
)
def test_every_input_error_is_a_discmri_value_error(cls):
    err = cls("x")
    assert isinstance(err, DiscMRIError)
    assert isinstance(err, ValueError)


def test_file_errors_are_also_os_errors():
    assert isinstance(InputNotFoundError("x"), FileNotFoundError)
    assert isinstance(OutputExistsError("x"), FileExistsError)
    assert isinstance(OutputError("x"), OSError)


def test_no_bare_value_error_is_raised_in_the_package():
    # input errors are DiscMRIError (exit 2, one line); anything else is a bug (traceback)
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "discmri"
    offenders = [f"{p.relative_to(package)}:{i}" for p in package.rglob("*.py")
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if "raise ValueError" in line or "raise TypeError" in line]
    assert not offenders
