"""``sightings explain QUERY MATCH --out x.png``: why two crops match (keypoint lines + occlusion heatmap).

Registered on the root app as ``app.command("explain")(explain)``. Unreadable images and wrong types are
:class:`SightingsError`s (one line, exit 2; a missing file exits 4); bad flags are typer errors (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import typer

from sightings.cli.common import console, echo_json, key_value_options
from sightings.core.errors import InputError

__all__ = ["explain"]


def explain(
    query: Path = typer.Argument(..., metavar="QUERY", help="Query image (the crop being identified)."),
    match: Path = typer.Argument(..., metavar="MATCH", help="Candidate image it was matched to."),
    *,
    out: Path = typer.Option(..., "--out", "-o", help="PNG to write (correspondences + occlusion heatmap)."),
    embedder: str = typer.Option("color-texture", "--embedder", help="Embedder registry name for the heatmap."),
    set_: list[str] = typer.Option(
        [], "--set", help="Embedder option KEY=VALUE (repeatable), e.g. --set model_name=osnet for --embedder onnx."
    ),
    matcher: str = typer.Option("rootsift", "--matcher", help="Local-feature matcher registry name."),
    grid: int = typer.Option(8, "--grid", min=1, max=64, help="Occlusion grid cells per side."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout."),
) -> None:
    """Draw verified keypoint correspondences between QUERY and MATCH and an occlusion-sensitivity heatmap."""
    if out.suffix.lower() != ".png":
        raise InputError("the output must be a .png file", where=out)
    from sightings.core.registry import EMBEDDERS, LOCAL_MATCHERS
    from sightings.media.images import load_image
    from sightings.vision.explain import explain_pair, write_png

    emb = EMBEDDERS.create(embedder, **key_value_options(set_, "--set"))
    local = LOCAL_MATCHERS.create(matcher)
    query_image = load_image(query)
    match_image = load_image(match)
    result = explain_pair(
        query_image, match_image, embedder=emb, matcher=local, grid=grid, labels=(query.name, match.name)
    )
    write_png(out, result.composite)
    summary = {
        "query": str(query),
        "match": str(match),
        "out": str(out),
        "inliers": result.local_match.inliers,
        "local_score": result.local_match.score,
        "cosine": result.occlusion.base_similarity,
        "max_drop": float(result.occlusion.drops.max()),
        "embedder": embedder,
        "matcher": matcher,
        "grid": grid,
    }
    if json_out:
        echo_json(summary)
    else:
        console.print(
            f"{out}: {summary['inliers']} verified inliers, cosine {summary['cosine']:.3f} ({embedder}), "
            f"heatmap {grid}×{grid}"
        )
