"""Custom Rasa NLU component: a tokenizer that normalises Vietnamese like the knowledge base.

Tokens keep their offsets in the original message (so entities are extracted on what the
citizen typed) but their text is the output of `core.text.normalize`: NFC, lower case,
diacritics folded (đ -> d), abbreviations expanded (ko -> khong, cccd -> can cuoc cong dan).
Every featurizer after it sees "kích hoạt", "kich hoat" and "kíck hoạt" alike.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
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


# Loaded with the model by `rasa run`: the action-response validation speed-up.
from nlu import rasa_speedups  # noqa: E402

rasa_speedups.install()
