"""Which PostgreSQL text search configuration a text is indexed and searched with.

A stemmed configuration lets "refunds" find "refunded"; it must be the text's own language,
or stemming mangles it. The language is detected (py3langid) when the detector is sure;
otherwise, and for languages PostgreSQL has no stemmer for, the text gets 'simple' (words
lower-cased, not stemmed), which still matches exact words in any language.
"""

from __future__ import annotations

from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

SIMPLE = "simple"
# ISO 639-1 → the configurations PostgreSQL ships with.
POSTGRES_CONFIGS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "da": "danish",
    "nl": "dutch", "en": "english", "fi": "finnish", "fr": "french", "de": "german",
    "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "no": "norwegian",
    "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish",
    "sv": "swedish", "ta": "tamil", "tr": "turkish",
}
# Common support languages without a PostgreSQL stemmer: recognised so that they are not
# mistaken for a stemmed one, then indexed with 'simple'.
_UNSTEMMED = ["pl", "cs", "uk", "ja", "zh", "ko", "vi", "th", "he", "bg", "hr", "sk", "sl"]
MIN_CONFIDENCE = 0.9
MIN_LETTERS = 12
SAMPLE_CHARS = 2000  # the opening of a long mail says its language well enough


@cache
def _identifier() -> LanguageIdentifier:
    # Loaded once per process on first use (about 0.6 s).
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([*POSTGRES_CONFIGS, *_UNSTEMMED])
    return identifier


def search_config(text: str) -> str:
    """The configuration for `text`: its language's when detected with confidence, else simple."""
    sample = text[:SAMPLE_CHARS]
    if sum(c.isalpha() for c in sample) < MIN_LETTERS:
        return SIMPLE
    language, confidence = _identifier().classify(sample)
    if confidence < MIN_CONFIDENCE:
        return SIMPLE
    return POSTGRES_CONFIGS.get(language, SIMPLE)


def query_configs(query: str, default: str = "english") -> list[str]:
    """The configurations a search query is parsed with: the desk's default language, the
    query's own when it is detected as another one, and always 'simple' so exact words of
    any language match."""
    configs = [default, search_config(query), SIMPLE]
    return list(dict.fromkeys(configs))
