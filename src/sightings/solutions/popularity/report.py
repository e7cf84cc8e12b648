"""Text tables of training metrics: model beside the naive baseline (CLI, benchmark, docs)."""

from __future__ import annotations

from typing import Any

from sightings.solutions.popularity.schema import AGE_BUCKETS

__all__ = ["age_table", "metrics_table"]


def _f(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def metrics_table(metrics: dict[str, Any]) -> str:
    """Markdown: per target, test MAE / RMSE / Spearman of the model and the baseline, interval coverage."""
    lines = [
        "| target | n test | MAE model | MAE baseline | RMSE model | RMSE baseline | Spearman model | "
        "Spearman baseline | interval cover (level) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in metrics["targets"].items():
        m, b, iv = t["model"]["overall"], t["baseline"]["overall"], t["interval"]
        lines.append(
            f"| {name} | {m['n']} | **{_f(m['mae'])}** | {_f(b['mae'])} | **{_f(m['rmse'])}** | {_f(b['rmse'])} | "
            f"**{_f(m['spearman'])}** | {_f(b['spearman'])} | {_f(iv['test_coverage'], 2)} ({iv['level']}) |"
        )
    return "\n".join(lines)


def age_table(metrics: dict[str, Any], target: str) -> str:
    """Markdown: one target's MAE and Spearman by age bucket, model and baseline."""
    t = metrics["targets"][target]
    lines = [
        f"| {target}: age bucket | n | MAE model | MAE baseline | Spearman model | Spearman baseline |",
        "|---|---|---|---|---|---|",
    ]
    for name in ["overall", *(b[0] for b in AGE_BUCKETS)]:
        m, b = t["model"][name], t["baseline"][name]
        lines.append(
            f"| {name} | {m['n']} | {_f(m['mae'])} | {_f(b['mae'])} | {_f(m['spearman'])} | {_f(b['spearman'])} |"
        )
    return "\n".join(lines)
