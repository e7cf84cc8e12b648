"""``WildlifeReports``: the read side of a :class:`~sightings.solutions.wildlife.service.WildlifeService` — drift,
CSV and Darwin Core exports, keypoint evidence images."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sightings.core.errors import InputError, NotFoundError
from sightings.solutions.wildlife.species import check_name, rerank_matcher

if TYPE_CHECKING:
    from sightings.solutions.wildlife.service import WildlifeService

__all__ = ["WildlifeReports"]


class WildlifeReports:
    """Read-side reports of a :class:`WildlifeService`: drift, exports, evidence images."""

    def __init__(self, service: WildlifeService) -> None:
        self.service = service

    def drift(self, species: str, *, window: int = 200) -> Any:
        from sightings.solutions.wildlife.drift import drift_report

        index = self.service.species(species)
        predictions = self.service.store.list_predictions(species=species, newest_first=True, limit=window)
        cal = index.calibration
        return drift_report(
            species,
            predictions,
            baseline_projection=cal.baseline_projection if cal else (),
            baseline_confidence=cal.baseline_confidence if cal else None,
            window=window,
        )

    def _known(self, species: str | None) -> None:
        """An unknown species is a NotFoundError (404 / exit 4), as everywhere else, not an empty export."""
        if species is not None:
            self.service.species(species)

    def export_csv(self, species: str | None = None) -> str:
        from sightings.solutions.wildlife.export import predictions_csv

        self._known(species)
        store = self.service.store
        return predictions_csv(store.list_predictions(species=species), store.latest_reviews())

    def export_dwc(self, species: str | None = None, *, media_base_url: str = "") -> str:
        from sightings.solutions.wildlife.export import DWC_COLUMNS, dwc_rows, to_csv

        self._known(species)
        store = self.service.store
        names = {s.name: s for s in store.list_species()}
        rows = dwc_rows(
            store.list_predictions(species=species), store.latest_reviews(), names, media_base_url=media_base_url
        )
        return to_csv(DWC_COLUMNS, rows)

    def evidence_png(self, prediction_id: str, rank: int = 0) -> bytes:
        """Keypoint correspondences between the prediction's photo and its rank-th candidate's gallery image."""
        import cv2

        from sightings.core.atomic import atomic_write_bytes
        from sightings.media.images import load_image
        from sightings.vision.explain import draw_correspondences

        service = self.service
        pred = service.store.get_prediction(check_name(prediction_id, "prediction"))
        if not 0 <= rank < len(pred.matches):
            raise NotFoundError(f"no candidate at rank {rank}", where=f"prediction {prediction_id}")
        cached = service.root / "evidence" / f"{pred.id}-{rank}.png"
        if cached.is_file():
            return cached.read_bytes()
        index = service.species(pred.species)
        eid = str(pred.matches[rank].get("embedding_id"))
        query = load_image(service.query_image_path(pred.id))
        gallery = load_image(index.media_path(check_name(eid, "embedding")))
        local = index.matcher.local_matcher
        if local is None:
            local = rerank_matcher(service.config.rerank_max_side, service.config.rerank_octave_layers)
        fq, fg = local.extract(query), local.extract(gallery)
        canvas = draw_correspondences(query, gallery, fq, fg, local.match(fq, fg), height=240)
        ok, encoded = cv2.imencode(".png", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
            raise InputError("PNG encoding failed", where=str(cached))
        atomic_write_bytes(cached, encoded.tobytes())
        return encoded.tobytes()
