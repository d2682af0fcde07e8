"""Evaluation: engine, metrics, statistics and the run store."""
