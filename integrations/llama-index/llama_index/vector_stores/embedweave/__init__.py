"""embedweave LlamaIndex integration."""
