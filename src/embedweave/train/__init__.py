"""Training, beside the query path and never below it: pairs, hard negatives, trainers.

``data`` builds (query, positive) examples, ``mining`` finds hard negatives, ``embedder``
fine-tunes bi-encoders (``report``: before/after scores), ``reranker`` trains
cross-encoders. Query-time code (``embedding``, ``rerank``, ``store``, ``pipeline``) never
imports this package.
"""

from embedweave.train.data import (
    DataReport,
    TrainingData,
    TrainingDataWarning,
    from_beir,
    from_jsonl,
    load_training_data,
    synthetic_pairs,
    title_dataset,
)
from embedweave.train.embedder import (
    EMBEDDER_MANIFEST,
    EmbedderTrainConfig,
    TrainedEmbedder,
    is_trained_embedder,
    train_embedder,
)
from embedweave.train.mining import (
    DENSE_MINER,
    MINERS,
    POOL_MINERS,
    MinedPools,
    bm25_candidates,
    dense_candidates,
    mine_groups,
    mine_negatives,
    negative_candidates,
)
from embedweave.train.report import BeforeAfter
from embedweave.train.reranker import (
    DEFAULT_BLEND,
    DEFAULT_CONFIG,
    MANIFEST,
    QUICK_CONFIG,
    RECIPE_VERSION,
    SCIFACT_RERANKER,
    RerankerTrainConfig,
    base_model_path,
    build_scifact_reranker,
    is_trained,
    scifact_reranker_path,
    train_reranker,
)

__all__ = [
    "DEFAULT_BLEND",
    "DEFAULT_CONFIG",
    "DENSE_MINER",
    "EMBEDDER_MANIFEST",
    "MANIFEST",
    "MINERS",
    "POOL_MINERS",
    "QUICK_CONFIG",
    "RECIPE_VERSION",
    "SCIFACT_RERANKER",
    "BeforeAfter",
    "DataReport",
    "EmbedderTrainConfig",
    "MinedPools",
    "RerankerTrainConfig",
    "TrainedEmbedder",
    "TrainingData",
    "TrainingDataWarning",
    "base_model_path",
    "bm25_candidates",
    "build_scifact_reranker",
    "dense_candidates",
    "from_beir",
    "from_jsonl",
    "is_trained",
    "is_trained_embedder",
    "load_training_data",
    "mine_groups",
    "mine_negatives",
    "negative_candidates",
    "scifact_reranker_path",
    "synthetic_pairs",
    "title_dataset",
    "train_embedder",
    "train_reranker",
]
