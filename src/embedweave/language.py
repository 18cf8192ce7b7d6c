"""Language identification with ``py3langid`` (its model ships inside the package).

Routing needs a language per text and a way to say "not sure": a text that is too
short, or whose best guess has low confidence, is reported as undetermined
(``language=None``) so the router can fall back to its default route instead of
sending it to a space built for the wrong language.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

#: Labels py3langid emits that routing should treat as another language (Wu and
#: Cantonese Chinese are written with the same characters as Mandarin and are
#: misdetected for short Mandarin text) or as no language at all (``zxx``).
DEFAULT_ALIASES: Mapping[str, str | None] = {"wuu": "zh", "yue": "zh", "zxx": None}

Reason = Literal["detected", "too_short", "low_confidence", "no_language"]


@dataclass(frozen=True)
class LanguageGuess:
    """The outcome of identifying one text.

    Attributes:
        language: ISO 639-1 code (or py3langid's code), or ``None`` when undetermined.
        confidence: Probability of the best label after folding aliases, in [0, 1].
        best: The best label even when it was not trusted (for logging and debugging).
        reason: ``detected``; or why the text is undetermined: ``too_short``,
            ``low_confidence`` or ``no_language`` (the best label means "no language").
    """

    language: str | None
    confidence: float
    best: str | None
    reason: Reason

    @property
    def determined(self) -> bool:
        """Whether a language was trusted."""
        return self.language is not None


def letter_count(text: str) -> float:
    """Letters in ``text``; wide (CJK) characters count 2, as each carries a syllable or word."""
    n = 0
    for ch in text:
        if ch.isalpha():
            n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


class LanguageDetector:
    """Identify the language of texts, with a confidence and an explicit "undetermined".

    Confidences are py3langid's length-calibrated probabilities (``norm_probs``); the
    probabilities of aliased labels are added to their target (``wuu`` and ``yue`` to
    ``zh`` by default) before the best label is picked.

    Args:
        min_chars: Fewer letters than this (wide CJK characters count 2) is "too short".
        min_confidence: A best label below this probability is "low confidence".
        languages: Restrict the labels py3langid may answer with (e.g. the languages
            your corpus holds); ``None`` keeps all of them.
        aliases: Label -> language (or ``None`` = no language) folding; replaces
            ``DEFAULT_ALIASES`` when given.

    Raises:
        ValueError: on an out-of-range threshold or a language py3langid does not know.
    """

    def __init__(
        self,
        *,
        min_chars: int = 3,
        min_confidence: float = 0.5,
        languages: Sequence[str] | None = None,
        aliases: Mapping[str, str | None] | None = None,
    ) -> None:
        if min_chars < 0:
            raise ValueError(f"min_chars must be >= 0, got {min_chars}")
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        self.min_chars = int(min_chars)
        self.min_confidence = float(min_confidence)
        self.aliases: dict[str, str | None] = dict(
            DEFAULT_ALIASES if aliases is None else aliases
        )
        self.languages: tuple[str, ...] | None = tuple(languages) if languages else None
        self._identifier = _new_identifier()
        if self.languages is not None:
            unknown = sorted(set(self.languages) - set(self._identifier.labels))
            if unknown:
                raise ValueError(
                    f"py3langid does not know language code(s) {unknown}; it knows "
                    f"{sorted(self._identifier.labels)}"
                )
            self._identifier.set_languages(list(self.languages))
        # py3langid's identifier reuses internal arrays; one detection at a time.
        self._lock = threading.Lock()

    @property
    def labels(self) -> list[str]:
        """Every label this detector can answer with."""
        return list(self._identifier.labels)

    def detect(self, text: str) -> LanguageGuess:
        """Identify the language of one text.

        Args:
            text: Any text; empty or very short text is reported as undetermined.

        Returns:
            A ``LanguageGuess``; ``language`` is ``None`` when the text is too short
            or the best guess is not confident enough.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        if letter_count(text) < self.min_chars:
            return LanguageGuess(None, 0.0, None, "too_short")
        with self._lock:
            ranked = self._identifier.rank(text)
        folded: dict[str | None, float] = {}
        for label, prob in ranked:
            target = self.aliases.get(label, label)
            folded[target] = folded.get(target, 0.0) + float(prob)
        best = max(folded, key=lambda lab: folded[lab])
        conf = min(1.0, folded[best])
        if best is None:
            return LanguageGuess(None, conf, None, "no_language")
        if conf < self.min_confidence:
            return LanguageGuess(None, conf, best, "low_confidence")
        return LanguageGuess(best, conf, best, "detected")

    def detect_many(self, texts: Iterable[str]) -> list[LanguageGuess]:
        """``detect`` for each text, in order."""
        return [self.detect(t) for t in texts]

    def to_dict(self) -> dict[str, Any]:
        """Configuration, for the route table's dict/YAML form."""
        out: dict[str, Any] = {
            "min_chars": self.min_chars,
            "min_confidence": self.min_confidence,
        }
        if self.languages is not None:
            out["languages"] = list(self.languages)
        if self.aliases != dict(DEFAULT_ALIASES):
            out["aliases"] = dict(self.aliases)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LanguageDetector:
        """Inverse of ``to_dict``; unknown keys are an error."""
        allowed = {"min_chars", "min_confidence", "languages", "aliases"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(
                f"unknown language detection option(s) {unknown}; use {sorted(allowed)}"
            )
        return cls(**dict(data))

    def __repr__(self) -> str:
        return f"LanguageDetector({', '.join(f'{k}={v!r}' for k, v in self.to_dict().items())})"


@functools.lru_cache(maxsize=1)
def _base_identifier() -> Any:
    """py3langid's model, parsed once per process (about 0.4 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _new_identifier() -> Any:
    """A private py3langid identifier sharing the parsed model's read-only arrays.

    The module-level identifier of py3langid is shared and ``set_languages`` mutates
    it, so each detector gets its own; ``set_languages`` builds new arrays and never
    writes into the shared ones.
    """
    base = _base_identifier()
    ptc, pc, classes = base._full_model
    return type(base)(
        ptc, pc, classes, base.tk_nextmove, base.tk_output, norm_probs=True, tk_row=base.tk_row
    )


_default: LanguageDetector | None = None
_default_lock = threading.Lock()


def detect_language(text: str) -> LanguageGuess:
    """Identify one text's language with a default ``LanguageDetector``."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LanguageDetector()
    return _default.detect(text)
