import pytest

from discmri import DiscMRIError
from discmri.errors import (
    AcquisitionError,
    DatasetError,
    GeometryError,
    ImageFormatError,
    InputNotFoundError,
    OutputExistsError,
)


@pytest.mark.parametrize(
    "cls",
    [AcquisitionError, DatasetError, GeometryError, ImageFormatError, InputNotFoundError,
     OutputExistsError],
)
def test_every_input_error_is_a_discmri_value_error(cls):
    err = cls("x")
    assert isinstance(err, DiscMRIError)
    assert isinstance(err, ValueError)


def test_file_errors_are_also_os_errors():
    assert isinstance(InputNotFoundError("x"), FileNotFoundError)
    assert isinstance(OutputExistsError("x"), FileExistsError)
