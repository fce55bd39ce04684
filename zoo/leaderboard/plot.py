"""The leaderboard picture: accuracy against CPU latency, bubble area by parameter count."""
from __future__ import annotations

from pathlib import Path

#: which latency the x axis uses, best first (the first one every ranked row has)
X_PREFERENCE = (("ort_fp32_ms", "ONNX Runtime fp32"), ("torch_ms", "torch eager fp32"),
                ("ort_int8_ms", "ONNX Runtime int8"))


def _axis(rows):
    for key, label in X_PREFERENCE:
        if rows and all(r.get(key) for r in rows):
            return key, label
    return None, None


def plot(rows: list[dict], path: Path, *, title: str, y_key: str, anchors: dict | None = None) -> Path | None:
    """Write the PNG; None when no ranked row has a latency to plot against."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranked = [r for r in rows if r.get("rank") and r.get(y_key) is not None]
    x_key, x_label = _axis(ranked)
    if not ranked or x_key is None:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=110)
    params = [r.get("params_m") or 1.0 for r in ranked]
    scale = 1400.0 / max(params)
    colors = plt.get_cmap("tab10")
    for i, r in enumerate(ranked):
        x, y = r[x_key], r[y_key]
        ax.scatter([x], [y], s=max(40.0, params[i] * scale), alpha=0.55, color=colors(i % 10),
                   edgecolors="black", linewidths=0.8, label=f"{r['model']} ({params[i]:.3g} M params)")
        moved = r.get(f"{y_key}_moved")
        if moved:
            ax.errorbar([x], [y], yerr=[[moved / 2], [moved / 2]], color="black", capsize=3, lw=0.8)
        ax.annotate(f"#{r['rank']} {r['model']}", (x, y), textcoords="offset points", xytext=(8, 8), fontsize=8)
    unit = "mm" if y_key.endswith("mm") else "px"
    if anchors and unit == "mm" and anchors.get("best_band_mm"):
        lo, hi = anchors["best_band_mm"]
        ax.axhspan(lo, hi, color="green", alpha=0.15, label=f"best published ({lo:g}-{hi:g} mm)")
    xs = [r[x_key] for r in ranked]
    if max(xs) / max(min(xs), 1e-9) > 8:
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ys = [r[y_key] for r in ranked] + (list(anchors["best_band_mm"]) if anchors and unit == "mm" else [])
    ax.set_ylim(0, max(ys) * 1.25)
    lo_x, hi_x = min(xs), max(xs)
    pad = (hi_x - lo_x) * 0.25 or hi_x * 0.25
    ax.set_xlim(max(0.0, lo_x - pad) if ax.get_xscale() == "linear" else lo_x / 1.5, hi_x + pad)
    ax.set_xlabel(f"CPU latency per image, {x_label}, batch 1 (ms)")
    ax.set_ylabel(f"mean radial error ({unit}), lower is better")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper right", markerscale=0.4)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


