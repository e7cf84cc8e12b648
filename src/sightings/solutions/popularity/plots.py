"""Training plots (Matplotlib, Agg backend): predicted vs actual per target, model vs baseline MAE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_plots"]


def write_plots(
    folder: Path, test_preds: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], metrics: dict[str, Any]
) -> list[Path]:
    """``<target>_test.png`` (scatter, log1p scale) per target + ``mae_vs_baseline.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sightings.core.atomic import make_output_dir

    make_output_dir(folder)
    written = []
    meta = {"Software": "sightings"}
    for name, (y, pred, _buckets) in test_preds.items():
        fig, ax = plt.subplots(figsize=(4, 4), dpi=90)
        ax.scatter(y, pred, s=8, alpha=0.6)
        if y.size:
            lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
            ax.plot([lo, hi], [lo, hi], color="grey", linewidth=1)
        ax.set_xlabel("actual log1p growth")
        ax.set_ylabel("predicted log1p growth")
        ax.set_title(f"{name} (test)")
        fig.tight_layout()
        path = folder / f"{name}_test.png"
        fig.savefig(path, metadata=meta)
        plt.close(fig)
        written.append(path)
    names = list(metrics["targets"])
    model_mae = [metrics["targets"][n]["model"]["overall"]["mae"] or 0.0 for n in names]
    base_mae = [metrics["targets"][n]["baseline"]["overall"]["mae"] or 0.0 for n in names]
    fig, ax = plt.subplots(figsize=(max(5, len(names) * 0.8), 3.5), dpi=90)
    xs = np.arange(len(names))
    ax.bar(xs - 0.2, model_mae, 0.4, label="model")
    ax.bar(xs + 0.2, base_mae, 0.4, label="baseline (median by age)")
    ax.set_xticks(xs, names, rotation=45, ha="right")
    ax.set_ylabel("MAE, log1p scale (test)")
    ax.legend()
    fig.tight_layout()
    path = folder / "mae_vs_baseline.png"
    fig.savefig(path, metadata=meta)
    plt.close(fig)
    written.append(path)
    return written
