from __future__ import annotations

import pytest

from sightings.core import errors
from sightings.core.errors import (
    BackendUnavailableError,
    ConfigError,
    InputError,
    MediaError,
    SightingsError,
    TooLargeError,
)


def test_message_names_where_and_reason() -> None:
    err = MediaError("truncated video", where="/tmp/a.mp4")
    assert str(err) == "/tmp/a.mp4: truncated video"
    assert err.where == "/tmp/a.mp4" and err.reason == "truncated video"
    assert (
        str(BackendUnavailableError("onnxruntime missing", hint="pip install x"))
        == "onnxruntime missing (pip install x)"
    )


def test_message_is_one_line_whatever_the_reason_quotes() -> None:
    # a third-party message that quotes damaged input (found by the torch-file fuzz test)
    err = InputError("not a legacy torch.save file (ValueError: 'loatStorage\n')", where="fuzz.pt", hint="a\r\nb")
    assert str(err) == "fuzz.pt: not a legacy torch.save file (ValueError: 'loatStorage\\n') (a\\r\\nb)"
    assert "\n" not in str(err) and "\n" in err.reason  # the reason itself is kept as given


def test_hierarchy_and_codes() -> None:
    assert issubclass(MediaError, InputError) and issubclass(InputError, SightingsError)
    assert TooLargeError.http_status == 413 and InputError.http_status == 422
    assert ConfigError.exit_code != InputError.exit_code
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, SightingsError)
        assert cls.exit_code > 0 and 400 <= cls.http_status < 600


def test_errors_are_raisable_and_catchable_as_base() -> None:
    with pytest.raises(SightingsError):
        raise ConfigError("bad", where="server.port")
