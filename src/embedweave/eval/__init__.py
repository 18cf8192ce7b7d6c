"""Retrieval evaluation: BEIR-format data loading and ranking metrics."""

from embedweave.eval.beir import BeirDataset, load_beir, load_scifact
from embedweave.eval.metrics import evaluate
from embedweave.eval.runner import (
    EvalResult,
    EvalRunner,
    PipelineConfig,
    load_dataset,
    plot_results,
    resolve_dataset,
    results_table,
    sweep_configs,
    write_json,
)

__all__ = [
    "BeirDataset",
    "EvalResult",
    "EvalRunner",
    "PipelineConfig",
    "evaluate",
    "load_beir",
    "load_dataset",
    "load_scifact",
    "plot_results",
    "resolve_dataset",
    "results_table",
    "sweep_configs",
    "write_json",
]
