"""Training, beside the query path and never below it: pairs, hard negatives, trainers.

``data`` builds (query, positive) examples, ``mining`` finds hard negatives, ``reranker``
trains cross-encoders. Query-time code (``embedding``, ``rerank``, ``store``, ``pipeline``)
never imports this package.
"""

from embedweave.train.data import title_dataset
from embedweave.train.mining import (
    DENSE_MINER,
    MINERS,
    bm25_candidates,
    dense_candidates,
    mine_groups,
    negative_candidates,
)
from embedweave.train.reranker import (
    DEFAULT_BLEND,
    DEFAULT_CONFIG,
    MANIFEST,
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
    "MANIFEST",
    "MINERS",
    "RECIPE_VERSION",
    "SCIFACT_RERANKER",
    "RerankerTrainConfig",
    "base_model_path",
    "bm25_candidates",
    "build_scifact_reranker",
    "dense_candidates",
    "is_trained",
    "mine_groups",
    "negative_candidates",
    "scifact_reranker_path",
    "title_dataset",
    "train_reranker",
]
