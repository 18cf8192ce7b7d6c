"""embedweave: production-grade retrieval."""
