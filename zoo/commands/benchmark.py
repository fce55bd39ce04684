"""``zoo benchmark [CONFIGS or MODELS] [--size PX] [--runs 20]``: CPU latency per model and runtime."""
from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("benchmark")
    def benchmark_command(
        targets: list[str] = typer.Argument(
            None, help="Configs, checkpoints, .onnx files, config names or model names (default: the built-in "
                       "ISBI configs)."),
        size: int = typer.Option(None, "--size", help="Square input size in px for every model (default: each "
                                                      "model's own, as it serves)."),
        runs: int = typer.Option(20, "--runs", help="Timed runs per runtime (the median is reported)."),
        runtimes: str = typer.Option("eager,channels_last,ort_fp32,ort_int8", "--runtimes",
                                     help="Comma-separated subset of eager, channels_last, ort_fp32, ort_int8."),
        threads: int = typer.Option(None, "--threads", help="Threads (default: the cores this process may use)."),
        calib_images: int = typer.Option(8, "--calib-images", help="Images calibrating the int8 model."),
        out_dir: Path = typer.Option(Path("benchmarks/results"), "--out-dir",
                                     help="Where the JSON and table go; cpu_latency.csv there gets a row per model "
                                          "and runtime."),
        note: str = typer.Option(None, "--note", help="A remark stored with the results (e.g. other load)."),
    ):
        """CPU latency: torch eager, channels-last, ONNX Runtime fp32 and int8; GFLOPs and share of peak.

        A two-stage model is timed as its whole predictor: global graph, patch cutting and refine graph."""
        from zoo.benchmarking import RUNTIMES, benchmark, markdown_table
        from zoo.benchmarking.run import size_label

        result = benchmark(list(targets) if targets else None, size=size, runs=runs,
                           runtimes=[r.strip() for r in runtimes.split(",") if r.strip()], threads=threads,
                           calib_images=calib_images, note=note, log=lambda m: typer.echo(m, err=True))
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"cpu_latency_{size_label(result)}"
        (out_dir / f"{stem}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        table = markdown_table(result)
        (out_dir / f"{stem}.md").write_text(table + "\n", encoding="utf-8")
        typer.echo(table)
        from zoo.benchmarking.results_csv import LATENCY_COLUMNS, append_rows, latency_command, latency_rows

        ran = [r for r in RUNTIMES if any(r in e["runtimes"] for e in result["models"])]
        rows = latency_rows(result, latency_command(result, ran))
        csv_path = append_rows(out_dir / "cpu_latency.csv", LATENCY_COLUMNS, rows)
        typer.echo(f"wrote {out_dir / (stem + '.json')} and {out_dir / (stem + '.md')}; {len(rows)} rows appended "
                   f"to {csv_path}", err=True)
