"""Run in the Rasa environment: nlu.components.LinearIntentClassifier trains, persists and
loads through Rasa's model storage, classifies text typed with or without diacritics, leaves
an empty message without an intent (so the FallbackClassifier takes it), and refuses a model
file holding types it does not trust."""

from __future__ import annotations

import pytest

from tests.rasa_env import run_in_rasa_env

pytestmark = pytest.mark.slow

SCRIPT = """
import pathlib, tempfile
import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from nlu.components import LinearIntentClassifier, VietnameseTokenizer

storage = LocalModelStorage(pathlib.Path(tempfile.mkdtemp()))
context = ExecutionContext(GraphSchema({}), "test")
tokenizer = VietnameseTokenizer.create(VietnameseTokenizer.get_default_config(), storage,
                                       Resource("tokenizer"), context)
examples = {
    "greet": ["xin chào", "chào bạn", "chào ad nhé", "chào buổi sáng", "alo chào em"],
    "ask_procedure": ["đổi căn cước ở đâu", "phí làm hộ chiếu bao nhiêu", "kích hoạt vneid thế nào",
                      "cấp lại căn cước cần giấy tờ gì", "đăng ký khai sinh online"],
    "thank": ["cảm ơn", "cám ơn nhiều", "cảm ơn bạn nhé", "thanks ad", "cảm ơn đã giúp"],
}
data = TrainingData([Message.build(text=t, intent=i) for i, ts in examples.items() for t in ts])
tokenizer.process_training_data(data)
config = LinearIntentClassifier.get_default_config()
resource = Resource("intents")
LinearIntentClassifier.create(config, storage, resource, context).train(data)
classifier = LinearIntentClassifier.load(config, storage, resource, context)

def parse(text):
    message = Message.build(text=text)
    tokenizer.process([message])
    classifier.process([message])
    return message.get("intent"), message.get("intent_ranking")

assert parse("chao ban")[0]["name"] == "greet", parse("chao ban")
assert parse("doi can cuoc o dau")[0]["name"] == "ask_procedure"
intent, ranking = parse("cam on nhieu nhe")
assert intent["name"] == "thank" and ranking[0] == intent
assert abs(sum(r["confidence"] for r in ranking) - 1) < 1e-6
assert parse("")[0] == {"name": None, "confidence": 0.0}

class Planted:
    pass

with storage.write_to(resource) as folder:
    sio.dump(Planted(), folder / "intents.skops")
try:
    LinearIntentClassifier.load(config, storage, resource, context)
except ValueError as error:
    assert "untrusted" in str(error)
else:
    raise SystemExit("loaded a model file with an untrusted type")
print("ok")
"""


def test_linear_intent_classifier_trains_persists_and_loads_safely() -> None:
    run_in_rasa_env(SCRIPT)
