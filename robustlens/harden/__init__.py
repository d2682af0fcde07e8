"""``robustlens harden``: fine-tune an image tower so corrupted embeddings stay near the clean ones.

The objective is the Divergence-Radius-style embedding-robustness fine-tuning of arXiv 2604.14973
(see ``objective.py``); ``train.py`` runs it with exact checkpoint/resume, ``card.py`` documents the
result and ``compare.py`` evaluates original vs hardened on the held-out images (paired bootstrap).
"""
