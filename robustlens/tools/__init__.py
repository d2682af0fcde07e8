"""LLM-facing tools: a pydantic argument model and one plain function call each. No logic here."""
