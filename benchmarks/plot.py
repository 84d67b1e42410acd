"""The forwarding benchmark's figure: p50/p99 latency and throughput of every front (PNG)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class PlotRow:
    label: str
    p50_us: float
    p99_us: float
    rps: float


def draw(rows: list[PlotRow], path: Path, title: str) -> None:
    """Write a PNG with two panels: latency at 1 connection, throughput at 16."""
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt

    labels = [row.label for row in rows]
    positions = list(range(len(rows)))
    height = 0.38
    figure, (latency, throughput) = plt.subplots(
        1, 2, figsize=(13, 0.5 * len(rows) + 1.8), sharey=True
    )
    latency.barh(
        [p - height / 2 for p in positions],
        [row.p50_us for row in rows],
        height,
        label="p50",
        color="#4c72b0",
    )
    latency.barh(
        [p + height / 2 for p in positions],
        [row.p99_us for row in rows],
        height,
        label="p99",
        color="#a1c9f4",
    )
    # p99 on a busy machine can be 100x p50: a log scale keeps both readable.
    latency.set_xscale("log")
    latency.set_xlabel("latency at 1 connection, µs, log scale (lower is better)")
    latency.legend(loc="lower right")
    throughput.barh(positions, [row.rps for row in rows], 0.6, color="#55a868")
    throughput.set_xlabel("requests/s at 16 connections (higher is better)")
    for position, row in zip(positions, rows, strict=True):
        throughput.text(row.rps, position, f" {row.rps:,.0f}", va="center", fontsize=8)
    latency.set_yticks(positions)
    latency.set_yticklabels(labels)
    latency.invert_yaxis()
    for axis in (latency, throughput):
        axis.grid(axis="x", alpha=0.3)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
