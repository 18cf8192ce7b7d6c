"""LangChain integration for embedweave."""
