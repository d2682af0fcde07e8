"""The offline expert: imaging-chain facts, planner and rule critic (no LLM, deterministic)."""
