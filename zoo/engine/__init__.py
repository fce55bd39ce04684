"""Glue to mmengine: hooks, safe checkpoints, runner construction."""
