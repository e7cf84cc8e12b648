"""The legacy torch.save reader on damaged files: a dict of arrays or one IntegrityError, never anything else
(no other exception, no code run, no huge allocation)."""

from __future__ import annotations

import numpy as np
import pytest

from sightings.core.errors import IntegrityError
from sightings.models.torch_legacy import read_state_dict
from torch_legacy_factories import legacy_torch_bytes

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

GOOD = legacy_torch_bytes(
    {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(3, np.float32), "n": np.array(5, np.int64)}
)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(GOOD)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "zero"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[at : at + 8] = bytes(8)
    return bytes(data)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, database=None
)
@given(blob=damaged())
def test_damaged_files_give_arrays_or_one_integrity_error(blob: bytes) -> None:
    try:
        state = read_state_dict(blob, where="fuzz.pt")
    except IntegrityError as err:
        assert "\n" not in str(err) and str(err).startswith("fuzz.pt: ")
        return
    assert all(isinstance(v, np.ndarray) and v.nbytes <= len(blob) * 8 for v in state.values())


def test_a_huge_shape_is_refused_not_allocated() -> None:
    blob = bytearray(GOOD)
    # the 3x4 tensor's size tuple is pickled as small ints: rewrite (3, 4) as (2**30, 4)
    pattern = bytes([0x4B, 3, 0x4B, 4, 0x86])  # BININT1 3, BININT1 4, TUPLE2
    at = bytes(blob).find(pattern)
    assert at > 0
    blob[at : at + 5] = bytes([0x4A]) + (1 << 30).to_bytes(4, "little") + bytes([0x4B, 4, 0x86])
    with pytest.raises(IntegrityError):
        read_state_dict(bytes(blob), where="bomb.pt")
