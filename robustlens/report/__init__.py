"""Robustness reports: HTML, Markdown, JSON and CSV renderers and plots."""
