"""Re-ID datasets (folder per identity, CSV) and the seeded query/gallery/open-set split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reid_factories import make_reid_folder, write_labels_csv
from sightings.core.errors import InputError, NotFoundError
from sightings.evaluate.reid_data import load_reid_dataset, load_reid_images, split_protocol, split_reid


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_reid_folder(tmp_path_factory.mktemp("reid"), identities=12, per_identity=5, singletons=2)


def test_folder_dataset(folder: Path) -> None:
    ds = load_reid_dataset(folder)
    assert len(ds) == 12 * 5 + 2 and ds.num_identities() == 14 and not ds.has_split
    images = load_reid_images(ds, [0, 1])
    assert images[0].shape == (32, 32, 3)


def test_seeded_split_protocol(folder: Path) -> None:
    ds = load_reid_dataset(folder)
    ids = ds.identities
    split = split_reid(ds, seed=0, open_fraction=0.2)
    again = split_reid(ds, seed=0, open_fraction=0.2)
    other = split_reid(ds, seed=1, open_fraction=0.2)
    np.testing.assert_array_equal(split.report.query, again.report.query)
    assert split.partition == "seeded identities"
    assert set(split.report.query.tolist()) != set(other.report.query.tolist())
    cal_ids = set(ids[np.r_[split.calibration.query, split.calibration.gallery]].tolist())
    rep_ids = set(ids[np.r_[split.report.query, split.report.gallery]].tolist())
    assert not cal_ids & rep_ids and len(cal_ids | rep_ids) == 14
    for part in (split.report, split.calibration):
        assert not set(part.query.tolist()) & set(part.gallery.tolist())
        gallery_ids = set(ids[part.gallery].tolist())
        for q, unknown in zip(part.query, part.unknown, strict=True):
            assert (ids[q] not in gallery_ids) == unknown
        assert part.num_unknown > 0 and part.num_known > 0
        assert set(part.open_identities) == set(ids[part.query[part.unknown]].tolist())
    # singletons are gallery distractors, never queries
    singles = {"id_12", "id_13"}
    assert not singles & set(ids[np.r_[split.report.query, split.calibration.query]].tolist())


def test_episodes_cut_the_calibration_part(folder: Path) -> None:
    ds = load_reid_dataset(folder)
    split = split_reid(ds, seed=0)
    episodes = split_protocol(split.calibration, ds.identities, 2)
    assert len(episodes) == 2
    assert sorted(np.concatenate([e.query for e in episodes]).tolist()) == sorted(split.calibration.query.tolist())
    assert not set(ds.identities[episodes[0].gallery]) & set(ds.identities[episodes[1].gallery])


def test_csv_with_split_column(folder: Path) -> None:
    ds = load_reid_dataset(write_labels_csv(folder, "with_split.csv"))
    split = split_reid(ds)
    assert split.partition == "split column"
    train = {s.identity for s in ds.samples if s.split == "train"}
    assert set(ds.identities[split.calibration.gallery].tolist()) <= train
    assert not set(ds.identities[split.report.query].tolist()) & train


def test_folder_with_labels_csv_uses_it(tmp_path: Path) -> None:
    root = make_reid_folder(tmp_path / "d", identities=4, per_identity=3)
    write_labels_csv(root)
    assert load_reid_dataset(root).has_split


def test_bad_datasets(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_reid_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images found"):
        load_reid_dataset(tmp_path / "empty")
    singles = make_reid_folder(tmp_path / "singles", identities=0, singletons=5)
    with pytest.raises(InputError, match="no queries possible"):
        split_reid(load_reid_dataset(singles))
    root = make_reid_folder(tmp_path / "d", identities=3, per_identity=2)
    csv = root / "bad.csv"
    csv.write_text("file,who\nid_00/0.png,id_00\n")
    with pytest.raises(InputError, match="missing image, identity"):
        load_reid_dataset(csv)
    csv.write_text("image,identity\nid_00/0.png,id_00\nid_00/nope.png,id_00\n")
    with pytest.raises(InputError, match=r"bad\.csv:3: image not found: id_00/nope\.png"):
        load_reid_dataset(csv)
    csv.write_text("image,identity\n")
    with pytest.raises(InputError, match="no rows"):
        load_reid_dataset(csv)
    with pytest.raises(InputError, match="query_fraction"):
        split_reid(load_reid_dataset(root), query_fraction=1.0)
    (root / "id_00" / "broken.png").write_bytes(b"not an image")
    ds = load_reid_dataset(root)
    with pytest.raises(InputError, match=r"cannot load broken\.png"):
        load_reid_images(ds)
