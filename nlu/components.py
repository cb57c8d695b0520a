"""Custom Rasa NLU components: a tokenizer that normalises Vietnamese like the knowledge base,
a filter that keeps one entity per span, and the intent classifier.

Tokens keep their offsets in the original message (so entities are extracted on what the
citizen typed) but their text is the output of `core.text.normalize`: NFC, lower case,
diacritics folded (đ -> d), abbreviations expanded (ko -> khong, cccd -> can cuoc cong dan).
Every featurizer after it sees "kích hoạt", "kich hoat" and "kíck hoạt" alike.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from core.text import normalize


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class VietnameseTokenizer(WhitespaceTokenizer):
    """Whitespace tokens whose text is normalised by the knowledge base's normaliser."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return WhitespaceTokenizer.get_default_config()

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext
               ) -> VietnameseTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        out: list[Token] = []
        for token in super().tokenize(message, attribute):
            # An expanded abbreviation ("cccd") becomes several tokens sharing its offsets, so
            # "cccd" and "căn cước công dân" give the same word features.
            for part in normalize(token.text).split():
                out.append(Token(part, token.start, token.end, data=token.data, lemma=part))
        return out



@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class OverlappingEntityFilter(GraphComponent):
    """Keeps the most confident of entities that overlap (runs after DIET).

    An abbreviation expands to several tokens sharing one span of the message ("cccd" ->
    "can cuoc cong dan"); DIET may tag those tokens differently, which gives two entities on
    the same characters. Downstream code (slots, `rasa test`) expects disjoint entities.
    """

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> OverlappingEntityFilter:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES, [])
            if len(entities) > 1:
                message.set(ENTITIES, disjoint_entities(entities), add_to_output=True)
        return messages


def disjoint_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The most confident entities that do not overlap, in message order."""
    kept: list[dict[str, Any]] = []
    for entity in sorted(entities, key=lambda e: -float(e.get("confidence_entity") or 0.0)):
        if all(entity["end"] <= k["start"] or k["end"] <= entity["start"] for k in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: (e["start"], e["end"]))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Intents from a logistic regression over TF-IDF n-grams of the normalised tokens.

    Word uni- and bigrams plus character 2-4-grams (within words) of the tokens that
    `VietnameseTokenizer` produced, sublinear term frequencies, balanced class weights.
    5-fold cross-validation on our data put it ahead of DIET's intent head (docs/nlu.md);
    DIET still extracts the entities. Persisted with skops; loading trusts only the sparse
    matrix type that the fitted vectorizers contain.
    """

    TRUSTED_TYPES = ["scipy.sparse._csr.csr_matrix"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 200.0, "max_iter": 3000, "char_ngrams": [2, 4], "word_ngrams": [1, 2],
                "ranking_length": 10}

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 pipeline: Any = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self.pipeline = pipeline

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    @staticmethod
    def _text(message: Message) -> str:
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        return " ".join(t.text for t in tokens)

    def _new_pipeline(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        words = TfidfVectorizer(analyzer="word", ngram_range=tuple(self.config["word_ngrams"]),
                                sublinear_tf=True, token_pattern=r"\S+")
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(self.config["char_ngrams"]),
                                sublinear_tf=True)
        return make_pipeline(FeatureUnion([("words", words), ("chars", chars)]),
                             LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"],
                                                class_weight="balanced", random_state=13))

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            return self._resource  # nothing to learn from: process() leaves messages alone
        self.pipeline = self._new_pipeline()
        self.pipeline.fit([self._text(e) for e in examples], [e.get(INTENT) for e in examples])
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        if self.pipeline is None:
            return messages
        texts = [self._text(m) for m in messages]
        probabilities = self.pipeline.predict_proba(texts)
        classes = [str(c) for c in self.pipeline.classes_]
        for message, text, row in zip(messages, texts, probabilities, strict=True):
            if not text.strip():  # nothing to classify (an empty message): as Rasa's own
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            ranking = sorted(({"name": c, "confidence": float(p)}
                              for c, p in zip(classes, row, strict=True)),
                             key=lambda r: -r["confidence"])
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[: self.config["ranking_length"]],
                        add_to_output=True)
        return messages

    def persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as model_dir:
            sio.dump(self.pipeline, model_dir / "intents.skops")

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LinearIntentClassifier:
        import skops.io as sio

        pipeline = None
        with model_storage.read_from(resource) as model_dir:
            path = model_dir / "intents.skops"
            if path.exists():  # absent when the data had fewer than two intents
                unknown = set(sio.get_untrusted_types(file=path)) - set(cls.TRUSTED_TYPES)
                if unknown:
                    raise ValueError(f"untrusted types in {path}: {sorted(unknown)}")
                pipeline = sio.load(path, trusted=cls.TRUSTED_TYPES)
        return cls(config, model_storage, resource, pipeline)


from nlu import log_privacy, rasa_speedups  # noqa: E402

rasa_speedups.install()
log_privacy.install()  # `rasa run` configured its log handlers before loading the model
