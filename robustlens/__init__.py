"""robustlens: robustness audits of vision-language models for a specific deployment domain."""

__version__ = "0.1.0"
