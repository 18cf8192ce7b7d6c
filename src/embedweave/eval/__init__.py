"""Retrieval evaluation: BEIR datasets, metrics, pipeline configs, the runner and its reports."""

from embedweave.eval.beir import BeirDataset, load_beir, load_scifact
from embedweave.eval.configs import PipelineConfig, sweep_configs
from embedweave.eval.datasets import load_dataset, resolve_dataset
from embedweave.eval.metrics import evaluate
from embedweave.eval.reports import EvalResult, plot_results, results_table, write_json
from embedweave.eval.runner import EvalRunner

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
