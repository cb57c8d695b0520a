"""Custom Rasa NLU component: a tokenizer that normalises Vietnamese like the knowledge base.

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
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message

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
from nlu import rasa_speedups  # noqa: E402

rasa_speedups.install()
