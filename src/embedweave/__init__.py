"""embedweave: production-grade retrieval."""

# multilingual routing, chunking and the ingest/query pipeline (issue 4)
from embedweave.chunking import Chunker as Chunker
from embedweave.language import LanguageDetector as LanguageDetector
from embedweave.language import LanguageGuess as LanguageGuess
from embedweave.language import detect_language as detect_language
from embedweave.pipeline import Index as Index
from embedweave.pipeline import Retriever as Retriever
from embedweave.routing import RouteDecision as RouteDecision
from embedweave.routing import Router as Router
from embedweave.routing import RouteTable as RouteTable
from embedweave.routing import Space as Space
from embedweave.routing import UnsupportedLanguageError as UnsupportedLanguageError
from embedweave.routing import UnsupportedLanguageWarning as UnsupportedLanguageWarning
