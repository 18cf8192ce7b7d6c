"""What is known about a model before it is loaded: ``ModelSpec`` and the backend names.

Resolution (``embedweave.models``) produces specs and the backends
(``embedweave.backends``) consume them; both import this module, which imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ST_BACKEND = "sentence-transformers"
USE_BACKEND = "use"


@dataclass(frozen=True, eq=True)
class ModelSpec:
    """What is known about a model before it is loaded.

    Attributes:
        name: Bundled name, Hugging Face id, or absolute local folder path; passing it
            to ``resolve_model`` again gives the same model.
        dims: Native output dimensions.
        matryoshka_dims: Dimensions the model was trained to be truncated to, native dims
            included (e.g. ``(64, 128, 256)``); empty when it was not Matryoshka-trained.
        max_seq_length: Token window; longer inputs are truncated. ``None``: no limit.
        prompts: Prompts saved with the model, by name (``query``, ``document``, ...).
        languages: ISO 639-1 codes the model was trained on; ``None`` means unknown.
        fingerprint: Hash of the weights (and tokenizer/config) files and the name;
            vectors with different fingerprints are never compared.
        backend: ``"sentence-transformers"``, ``"use"`` or ``"api"``.
        path: Local folder (sentence-transformers), weights file (static models) or
            resources folder (USE) the model loads from; the API root (API models).
        tokenizer_path: Tokenizer file of a static-embedding model built from raw weights.
        source: ``"bundled"``, ``"local"``, ``"hub"`` or ``"api"``.
        layer_norm: Apply layer norm before Matryoshka slicing (nomic-style models).
        description: One line for humans.
    """

    name: str
    dims: int
    matryoshka_dims: tuple[int, ...]
    max_seq_length: int | None
    prompts: Mapping[str, str]
    languages: tuple[str, ...] | None
    fingerprint: str
    backend: str
    path: str = ""
    tokenizer_path: str = ""
    source: str = "local"
    layer_norm: bool = False
    description: str = field(default="", compare=False)

    @property
    def query_prompt(self) -> str:
        """The saved query prompt, or ``""``."""
        return self.prompts.get("query", "") or ""

    @property
    def document_prompt(self) -> str:
        """The saved document prompt (``document``, ``passage`` or ``corpus``), or ``""``."""
        for key in ("document", "passage", "corpus"):
            if self.prompts.get(key):
                return self.prompts[key]
        return ""

    def is_trained_dims(self, dims: int) -> bool:
        """Whether truncating to ``dims`` is something the model was trained for."""
        return dims == self.dims or dims in self.matryoshka_dims

    @property
    def is_matryoshka(self) -> bool:
        """Whether the model was trained with a Matryoshka loss."""
        return bool(self.matryoshka_dims)
