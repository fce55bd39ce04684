"""Hooks registered for mmengine Runner."""
