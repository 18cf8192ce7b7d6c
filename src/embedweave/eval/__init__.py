"""Retrieval evaluation: BEIR-format data loading and ranking metrics."""
