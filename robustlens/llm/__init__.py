"""LLM layer: OpenAI-compatible client, and the offline expert used when no LLM is configured."""
