"""source_fingerprint: stable for the same code, different when a file of the package changes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sightings.evaluate.fingerprint import source_fingerprint


def test_the_same_code_gives_the_same_fingerprint() -> None:
    a = source_fingerprint("sightings.vision.track", "sightings.media")
    assert a == source_fingerprint("sightings.media", "sightings.vision.track")  # order of names does not matter
    assert len(a) == 16 and a != source_fingerprint("sightings.vision.track")


def test_a_changed_file_changes_the_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "fp_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "linking.py").write_text("GROWN = 'gap'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = source_fingerprint("fp_probe_pkg")
    (package / "linking.py").write_text("GROWN = 'min(gap, short_gap_s)'\n")
    assert source_fingerprint("fp_probe_pkg") != before
    (package / "linking.py").write_text("GROWN = 'gap'\n")
    assert source_fingerprint("fp_probe_pkg") == before
    sys.modules.pop("fp_probe_pkg", None)
