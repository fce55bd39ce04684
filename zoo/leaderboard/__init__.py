"""The leaderboard: models trained under one budget, tested on one split, costed on one CPU.

``run_leaderboard(configs, checkpoints, out=..., iters=N | budget_minutes=M)`` writes
``leaderboard.md``, ``.csv``, ``.json`` and ``leaderboard.png``; ``zoo leaderboard`` is its command.
A board (``zoo.leaderboard.board``, ``zoo leaderboard --board isbi19``) holds every row to one protocol, runs
several seeds, records each run in ``benchmarks/results/`` as it finishes and resumes from there; its report
(``zoo.leaderboard.board_report``) is rebuilt from those files alone.
"""
from .budget import BudgetError, apply_budget, iters_for_minutes, stretch_schedule
from .model_run import LeaderboardError
from .run import DEFAULT_RUNTIMES, recost, render, run_leaderboard
from .tables import CSV_COLUMNS

__all__ = ["BudgetError", "CSV_COLUMNS", "DEFAULT_RUNTIMES", "LeaderboardError", "apply_budget",
           "iters_for_minutes", "recost", "render", "run_leaderboard", "stretch_schedule"]
