"""Language identification: real py3langid model, decisions and their confidence."""

from __future__ import annotations

import pytest

from embedweave.language import LanguageDetector, detect_language, letter_count

# Questions from XQuAD (the benchmark's data), one per language.
SAMPLES = {
    "en": "How many points did the Panthers defense surrender?",
    "de": "Wie viele Punkte gab die Verteidigung der Panthers ab?",
    "es": "¿Cuántos puntos dejaron escapar en defensa los Panthers?",
    "ru": "Сколько очков уступила защита Пэнтерс?",
    "zh": "黑豹队的防守丢了多少分？",
}


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_detects_the_five_benchmark_languages(detector: LanguageDetector, lang: str) -> None:
    guess = detector.detect(SAMPLES[lang])
    assert guess.language == lang
    assert guess.reason == "detected"
    assert guess.determined
    assert 0.5 <= guess.confidence <= 1.0


def test_short_text_is_undetermined(detector: LanguageDetector) -> None:
    guess = detector.detect("ok")
    assert guess.language is None
    assert guess.reason == "too_short"
    assert not guess.determined
    assert detector.detect("").reason == "too_short"
    assert detector.detect("  42 ").reason == "too_short"


def test_ambiguous_text_is_undetermined_with_its_best_guess(detector: LanguageDetector) -> None:
    guess = detector.detect("DNA repair")
    assert guess.language is None
    assert guess.reason == "low_confidence"
    assert guess.best is not None
    assert guess.confidence < detector.min_confidence


def test_wu_and_cantonese_labels_fold_into_chinese() -> None:
    # raw py3langid says 'wuu' (0.57) for this Mandarin question from XQuAD
    text = "托马斯·戴维斯有多少次迫使掉球？"
    raw = LanguageDetector(aliases={}).detect(text)
    assert raw.best == "wuu"
    folded = LanguageDetector().detect(text)
    assert folded.language == "zh"
    assert folded.confidence > raw.confidence


def test_url_has_no_language(detector: LanguageDetector) -> None:
    guess = detector.detect("https://example.com/a/b/c")
    assert guess.language is None
    assert guess.reason in ("no_language", "low_confidence")


def test_threshold_is_configurable() -> None:
    text = "Machine learning for search"  # 'en' at about 0.7
    assert LanguageDetector(min_confidence=0.5).detect(text).language == "en"
    assert LanguageDetector(min_confidence=0.95).detect(text).language is None


def test_restricting_languages() -> None:
    french = "Où se trouve la bibliothèque la plus proche ?"
    restricted = LanguageDetector(languages=["en", "de"])
    assert set(restricted.labels) == {"en", "de"}
    assert restricted.detect(french).language in ("en", "de", None)
    # the unrestricted detector is not affected
    assert LanguageDetector().detect(french).language == "fr"


def test_letter_count_weights_wide_characters() -> None:
    assert letter_count("ab 12!") == 2
    assert letter_count("你好") == 4


def test_bad_configuration_is_rejected() -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        LanguageDetector(min_confidence=1.5)
    with pytest.raises(ValueError, match="min_chars"):
        LanguageDetector(min_chars=-1)
    with pytest.raises(ValueError, match="does not know"):
        LanguageDetector(languages=["en", "klingon"])
    with pytest.raises(ValueError, match="unknown language detection option"):
        LanguageDetector.from_dict({"min_conf": 0.3})
    with pytest.raises(TypeError):
        LanguageDetector().detect(b"bytes")  # type: ignore[arg-type]


def test_config_round_trip() -> None:
    det = LanguageDetector(min_chars=5, min_confidence=0.7, languages=["en", "fr"])
    again = LanguageDetector.from_dict(det.to_dict())
    assert again.to_dict() == det.to_dict()
    assert LanguageDetector().to_dict() == {"min_chars": 3, "min_confidence": 0.5}


def test_module_level_helper() -> None:
    assert detect_language(SAMPLES["de"]).language == "de"
