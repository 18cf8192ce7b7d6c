"""Reranker training: hard-negative mining, a small real training run, the cached default."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import pytest
import torch
from sentence_transformers import CrossEncoder

from embedweave import cli
from embedweave.eval.beir import load_beir, load_scifact
from embedweave.rerank import Reranker
from embedweave.train import (
    DEFAULT_CONFIG,
    MANIFEST,
    QUICK_CONFIG,
    RerankerTrainConfig,
    base_model_path,
    bm25_candidates,
    build_scifact_reranker,
    dense_candidates,
    is_trained,
    mine_groups,
    negative_candidates,
    scifact_reranker_path,
    title_dataset,
    train_reranker,
)

TINY = RerankerTrainConfig(
    negatives=2, negative_pool=5, epochs=2, groups_per_step=4, max_length=64, title_queries=6
)


SLICE_CLAIMS, SLICE_DOCS = 20, 600


@pytest.fixture(scope="module")
def slice_root(tmp_path_factory):
    """SciFact's train split cut to its first 20 claims over 600 abstracts (their cited ones
    first), as a BEIR folder.

    Dense mining embeds every abstract with MiniLM: all 5,183 take minutes per pass on a
    CPU without bf16, and the mining and training logic is the same on a slice.
    """
    full = load_scifact("train")
    claims = sorted(full.queries)[:SLICE_CLAIMS]
    cited = list(dict.fromkeys(d for q in claims for d in full.qrels[q]))
    full_cited = set(cited)
    docs = (cited + [d for d in full.corpus if d not in full_cited])[:SLICE_DOCS]
    root = tmp_path_factory.mktemp("scifact-slice")
    (root / "qrels").mkdir()
    (root / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": d, **full.corpus[d]}) + "\n" for d in docs))
    (root / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q, "text": full.queries[q]}) + "\n" for q in claims))
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{r}\n" for q in claims for d, r in full.qrels[q].items()))
    return root


@pytest.fixture(scope="module")
def train_data(slice_root):
    data = load_beir(slice_root, "train")
    assert len(data.queries) == SLICE_CLAIMS and len(data.corpus) == SLICE_DOCS
    return data


def test_hard_negatives_are_uncited_bm25_and_dense_candidates(train_data):
    qids = sorted(train_data.queries)[:20]
    texts = {d: train_data.doc_text(d) for d in train_data.corpus}
    queries = {q: train_data.queries[q] for q in qids}
    bm25 = bm25_candidates(texts, queries, TINY.negative_pool)
    dense = dense_candidates(texts, queries, TINY.negative_pool)
    assert all(len(c) == TINY.negative_pool for c in (*bm25.values(), *dense.values()))
    pools = negative_candidates(texts, queries, TINY)
    for q in qids:
        assert set(pools[q]) == set(bm25[q]) | set(dense[q])
        interleaved = [bm25[q][0], dense[q][0], bm25[q][1]]
        assert pools[q][:2] == list(dict.fromkeys(interleaved))[:2]
    assert any(set(dense[q]) - set(bm25[q]) for q in qids)  # the dense miner adds negatives
    bm25_only = negative_candidates(texts, queries, dataclasses.replace(TINY, miners=("bm25",)))
    assert bm25_only == bm25
    data = dataclasses.replace(train_data, queries=queries)
    groups = mine_groups(data, TINY, pools, random.Random(0))
    assert len(groups) == sum(len(train_data.qrels[q]) for q in qids)
    by_claim = {train_data.queries[q]: q for q in qids}
    for claim, pos, negs in groups:
        q = by_claim[claim]
        cited = {train_data.doc_text(d) for d in train_data.qrels[q]}
        pool = {texts[d] for d in pools[q]}
        assert pos in cited
        assert len(negs) == TINY.negatives and len(set(negs)) == TINY.negatives
        assert all(n in pool and n not in cited for n in negs)
    # seeded: the same config mines the same groups
    assert mine_groups(data, TINY, pools, random.Random(0)) == groups


def test_title_pairs_hide_the_title_from_the_body(train_data):
    titles = title_dataset(train_data, 5, random.Random(0))
    assert len(titles.queries) == 5
    for qid, title in titles.queries.items():
        (did,) = titles.qrels[qid]
        assert title == train_data.corpus[did]["title"]
        assert titles.doc_text(did) == train_data.corpus[did]["text"].strip()
    assert titles.corpus.keys() == train_data.corpus.keys()


def test_small_training_run_saves_a_loadable_cross_encoder(tmp_path, slice_root, train_data):
    out = tmp_path / "ce"
    qids = sorted(train_data.queries)[:8]
    assert train_reranker(out, TINY, data_root=slice_root, query_ids=qids, device="cpu") == out
    assert is_trained(out)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["train_claims"] == 8 and manifest["title_groups"] == 6
    assert manifest["config"]["negatives"] == 2
    assert manifest["steps"] == 2 * math.ceil(manifest["groups"] / 4) == len(manifest["losses"])
    assert all(math.isfinite(x) for x in manifest["losses"])
    ce = CrossEncoder(str(out), device="cpu")
    assert ce.num_labels == 1
    rr = Reranker(out, device="cpu")
    assert rr.model_name == str(out)
    assert rr.max_length == 64  # capped at the length it was trained at
    with pytest.raises(FileExistsError, match="already holds"):
        train_reranker(out, TINY, data_root=slice_root, query_ids=qids)
    assert not list(tmp_path.glob("*.tmp-*"))  # the temporary folder was renamed


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="negative_pool"):
        RerankerTrainConfig(negatives=5, negative_pool=3)
    with pytest.raises(ValueError, match="epochs"):
        RerankerTrainConfig(epochs=0)
    with pytest.raises(ValueError, match="miners"):
        RerankerTrainConfig(miners=("bm25", "splade"))
    with pytest.raises(ValueError, match="miners"):
        RerankerTrainConfig(miners=())
    with pytest.raises(ValueError, match="not in the train split"):
        train_reranker(tmp_path / "x", TINY, query_ids=["no-such-claim"])


def test_fingerprint_follows_the_recipe():
    assert RerankerTrainConfig().fingerprint() == RerankerTrainConfig().fingerprint()
    assert RerankerTrainConfig(seed=1).fingerprint() != RerankerTrainConfig().fingerprint()
    assert (RerankerTrainConfig(miners=("bm25",)).fingerprint()
            != RerankerTrainConfig().fingerprint())


@pytest.mark.slow
def test_a_scifact_recipe_is_trained_once_and_cached(scifact_reranker, tmp_path, monkeypatch):
    path = scifact_reranker  # build_scifact_reranker(QUICK_CONFIG): trained on first use
    assert is_trained(path) and path == scifact_reranker_path(QUICK_CONFIG)
    assert QUICK_CONFIG.fingerprint() in path.name
    assert QUICK_CONFIG.fingerprint() != DEFAULT_CONFIG.fingerprint()
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["train_claims"] == 809 and manifest["config"]["epochs"] == 1
    # the listwise loss starts near chance (ln 5 for 1 positive + 3 hard + 1 in-batch
    # negative) and falls
    assert manifest["loss_last_50"] < manifest["loss_first_50"] - 0.3
    assert build_scifact_reranker(QUICK_CONFIG) == path  # cached: no second training
    # only the default recipe is scifact-minilm: the quick one leaves the name alone
    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path))
    (tmp_path / "rerankers").mkdir()
    (tmp_path / "rerankers" / path.name).symlink_to(path, target_is_directory=True)
    assert build_scifact_reranker(QUICK_CONFIG) == tmp_path / "rerankers" / path.name
    assert not (tmp_path / "rerankers" / "scifact-minilm.json").exists()


@pytest.mark.slow
def test_cli_reports_the_cached_reranker(scifact_reranker, capsys):
    assert cli.main(["train", "reranker", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == str(scifact_reranker) and out["train_claims"] == 809
    assert out["config"] == dataclasses.asdict(QUICK_CONFIG) | {"miners": ["bm25"]}
    assert cli.main(["train-reranker", "--quick", "--json"]) == 0  # the one-word spelling
    assert json.loads(capsys.readouterr().out) == out


# A tiny task, written here: each passage answers exactly one question. The reranker is
# trained on 14 of the questions and must rank the right passage first for the other 6.
TOPICS = [
    ("Honey bees communicate the direction of flowers to their hive mates with a waggle "
     "dance.", "How do bees tell each other where flowers are?"),
    ("The Great Wall of China was built over many centuries to protect against northern "
     "invasions.", "Why was the Great Wall of China built?"),
    ("Penicillin was discovered by Alexander Fleming in 1928 when mould killed bacteria "
     "in a dish.", "Who discovered penicillin?"),
    ("Volcanic eruptions happen when magma rises through the crust and escapes as lava "
     "and ash.", "What causes a volcano to erupt?"),
    ("Sourdough bread rises because wild yeast and lactic acid bacteria ferment the "
     "dough.", "What makes sourdough bread rise?"),
    ("The marathon distance of 42.195 kilometres was fixed at the 1908 London Olympics.",
     "How long is a marathon race?"),
    ("Tides are caused mainly by the gravitational pull of the moon on the oceans.",
     "What causes ocean tides?"),
    ("Chess originated in India around the sixth century as a game called chaturanga.",
     "Where did the game of chess come from?"),
    ("Insulin is a hormone made by the pancreas that lets cells take up glucose.",
     "Which organ produces insulin?"),
    ("The Rosetta Stone helped scholars decipher Egyptian hieroglyphs because it carries "
     "the same text in Greek.", "How were Egyptian hieroglyphs deciphered?"),
    ("Rainbows appear when sunlight is refracted and reflected inside raindrops, "
     "splitting into colours.", "Why do rainbows form?"),
    ("The violin has four strings tuned in fifths and is played with a bow.",
     "How many strings does a violin have?"),
    ("Coral reefs are built by tiny animals called polyps that secrete calcium carbonate.",
     "What builds coral reefs?"),
    ("Mount Everest, on the border of Nepal and China, is the highest mountain above sea "
     "level.", "Which mountain is the highest in the world?"),
    ("Photosynthesis in plant leaves turns carbon dioxide and water into sugar using "
     "sunlight.", "How do plants make sugar from sunlight?"),
    ("The printing press with movable type was developed by Johannes Gutenberg around "
     "1440.", "Who invented the printing press?"),
    ("Vaccines train the immune system by exposing it to a harmless piece of a pathogen.",
     "How do vaccines protect against disease?"),
    ("Bats find insects in the dark by echolocation: they emit calls and listen to the "
     "echoes.", "How do bats hunt in the dark?"),
    ("The Amazon is the largest tropical rainforest, spanning nine South American "
     "countries.", "What is the largest rainforest on Earth?"),
    ("Lightning is a giant electrical discharge between charged regions of a storm cloud "
     "and the ground.", "What is lightning?"),
]
HELD_OUT = range(14, 20)


def write_task(folder):
    folder.mkdir()
    (folder / "qrels").mkdir()
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": f"p{i}", "title": "", "text": p}) + "\n"
        for i, (p, _q) in enumerate(TOPICS)))
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": f"q{i}", "text": q}) + "\n" for i, (_p, q) in enumerate(TOPICS)))
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"q{i}\tp{i}\t1\n" for i in range(len(TOPICS)) if i not in HELD_OUT))
    return folder


def _rank_of_answer(scorer, i):
    """Rank (0 = first) of topic i's passage among all passages, for its question."""
    order = sorted(range(len(TOPICS)), key=lambda j: j == i)  # the answer starts last
    scores = scorer([(TOPICS[i][1], TOPICS[j][0]) for j in order])
    ranked = [order[j] for j in sorted(range(len(order)), key=lambda j: -scores[j])]
    return ranked.index(i)


def test_training_on_a_tiny_task_ranks_held_out_answers_first(tmp_path):
    root = write_task(tmp_path / "tiny")
    config = RerankerTrainConfig(negatives=3, negative_pool=10, epochs=6, groups_per_step=4,
                                 max_length=96, title_queries=0, frozen_layers=0,
                                 learning_rate=2e-4)
    out = train_reranker(tmp_path / "ce", config, data_root=root, device="cpu")
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["train_claims"] == 14  # the held-out questions have no train qrels
    trained = CrossEncoder(str(out), device="cpu")
    torch.manual_seed(config.seed)
    untrained = CrossEncoder(base_model_path(), num_labels=1, device="cpu")
    before = [_rank_of_answer(untrained.predict, i) for i in HELD_OUT]
    after = [_rank_of_answer(trained.predict, i) for i in HELD_OUT]
    assert after == [0] * len(HELD_OUT), (before, after)
    assert before != after  # the fresh head alone does not do it


def test_a_diverging_run_raises_and_leaves_nothing_behind(tmp_path):
    root = write_task(tmp_path / "tiny")
    config = RerankerTrainConfig(negatives=3, negative_pool=10, epochs=2, groups_per_step=4,
                                 max_length=64, title_queries=0, frozen_layers=0,
                                 learning_rate=1e12, warmup_ratio=0.0)
    with pytest.raises(FloatingPointError, match="diverged"):
        train_reranker(tmp_path / "ce", config, data_root=root, device="cpu")
    assert not is_trained(tmp_path / "ce")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]  # no temporary folder
