"""Query encoding with ONNX Runtime: the same embeddings at about half the CPU of PyTorch.

A running service encodes one short citizen question per search. For such inputs PyTorch's
per-operator dispatch dominates; ONNX Runtime runs the same graph in about half the time
(`benchmarks/query_encoder.py`: 13.7 vs 6.5 ms a question for MiniLM on one core). Only
the transformer runs in ONNX Runtime: tokenisation and the
model's own pooling/normalisation modules stay the sentence-transformers ones, so any model
with a transformer first module keeps its pooling (mean, CLS, ...).

The exported graph is cached under `<data_dir>/models/onnx/`, keyed by the model's files and
the library versions, and checked against the PyTorch model on load: if the two disagree
(beyond float rounding), or ONNX Runtime is missing, or the export fails, the service logs a
warning and keeps encoding with PyTorch. The index is always built with PyTorch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT_VERSION = "1"
# Sentences the ONNX graph must embed like the PyTorch model before it is used.
PROBES = [
    "lam sao kich hoat vneid muc 2",
    "Cấp lại thẻ căn cước bị mất thì cần giấy tờ gì?",
    "ok",
    "dang ky khai sinh cho con qua cong dich vu cong " * 12,
]
MAX_DIFFERENCE = 1e-4  # largest allowed difference of any embedding coordinate

_encoders: dict[tuple[int, str, int], Any] = {}
_lock = threading.Lock()


class OnnxSentenceEncoder:
    """Encodes like `SentenceTransformer.encode`, with the transformer in ONNX Runtime."""

    def __init__(self, model: Any, onnx_path: Path, *, threads: int = 1):
        import onnxruntime as ort
        import torch

        self._torch = torch
        self.model = model  # the PyTorch model: tokeniser, pooling, and the fallback
        self.tokenizer = model[0].tokenizer
        self.max_length = model.max_seq_length
        self.tail = list(model)[1:]  # pooling, dense, normalise ... as the model defines them
        dimension = (getattr(model, "get_embedding_dimension", None)
                     or model.get_sentence_embedding_dimension)
        self.dimension = int(dimension())
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = False
        self.session = ort.InferenceSession(str(onnx_path), options,
                                            providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        # A fast tokenizer called with padding/truncation from two threads at once can fail
        # ("Already borrowed"): the batcher's thread and a bulk encode (clustering) may meet.
        self._tokenize = threading.Lock()

    def encode(self, sentences: Sequence[str], *, batch_size: int = 64,
               normalize_embeddings: bool = True, **_: Any) -> np.ndarray:
        texts = list(sentences)
        # Sorting by length keeps padding small inside each batch, as sentence-transformers does.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows], normalize_embeddings)
        return out

    def _encode_batch(self, texts: list[str], normalize: bool) -> np.ndarray:
        torch = self._torch
        with self._tokenize:
            enc = self.tokenizer(texts, padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="np")
        tokens = self.session.run(None, {n: enc[n].astype(np.int64) for n in self.input_names})[0]
        features = {"token_embeddings": torch.from_numpy(tokens),
                    "attention_mask": torch.from_numpy(enc["attention_mask"].astype(np.int64))}
        with torch.inference_mode():
            for module in self.tail:
                features = module(features)
            vectors = features["sentence_embedding"]
            if normalize:
                vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
        return vectors.numpy().astype(np.float32, copy=False)

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    get_embedding_dimension = get_sentence_embedding_dimension


def model_files_key(model_path: str) -> str:
    """Changes when the model's files or the exporting libraries change."""
    import onnxruntime
    import torch

    digest = hashlib.sha256(f"{FORMAT_VERSION}|{torch.__version__}|{onnxruntime.__version__}|"
                            f"{Path(model_path).resolve()}".encode())
    root = Path(model_path)
    if root.is_dir():
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            st = f.stat()
            digest.update(f"{f.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def export_transformer(model: Any, path: Path) -> None:
    """Write the model's first module (the transformer) as an ONNX graph: token ids in,
    token embeddings out, with dynamic batch and sequence sizes."""
    import torch

    transformer = model[0]
    names = [n for n in transformer.tokenizer.model_input_names
             if n in ("input_ids", "attention_mask", "token_type_ids")]

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: Any) -> Any:
            return self.transformer(dict(zip(names, inputs, strict=True)))["token_embeddings"]

    sample = transformer.tokenizer(["xin chao", "cap lai can cuoc cong dan"], padding=True,
                                   return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["token_embeddings"] = {0: "batch", 1: "tokens"}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(TokenEmbeddings().eval(), tuple(sample[n] for n in names), str(tmp),
                          input_names=names, output_names=["token_embeddings"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    os.replace(tmp, path)  # concurrent exporters (gateway and action server) both succeed


def largest_difference(encoder: Any, model: Any) -> float:
    reference = model.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False)
    return float(np.abs(encoder.encode(PROBES) - reference).max())


def query_encoder(model: Any, model_path: str, cache_dir: Path, *, threads: int = 1) -> Any:
    """The fastest encoder that embeds exactly like `model`: an OnnxSentenceEncoder when
    ONNX Runtime is installed and the exported graph agrees with PyTorch, else `model`."""
    key = (id(model), str(cache_dir), threads)
    with _lock:
        if key not in _encoders:
            _encoders[key] = _build(model, model_path, cache_dir, threads)
        return _encoders[key]


def _build(model: Any, model_path: str, cache_dir: Path, threads: int) -> Any:
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        log.warning("ONNX Runtime is not installed (%s): queries are encoded with PyTorch, "
                    "about twice the CPU. `make setup` installs it.", exc)
        return model
    path = cache_dir / f"query-encoder-{model_files_key(model_path)}.onnx"
    for attempt in ("cached", "exported"):
        if attempt == "cached" and not path.exists():
            continue
        try:
            if attempt == "exported":
                log.info("exporting the query encoder to %s", path)
                export_transformer(model, path)
            encoder = OnnxSentenceEncoder(model, path, threads=threads)
            difference = largest_difference(encoder, model)
        except Exception as exc:  # noqa: BLE001  (export and runtime raise many types)
            log.warning("The %s ONNX query encoder is unusable (%s: %s).",
                        attempt, type(exc).__name__, exc)
            path.unlink(missing_ok=True)
            continue
        if difference <= MAX_DIFFERENCE:
            return encoder
        log.warning("The %s ONNX query encoder differs from the PyTorch model by %.2g "
                    "(allowed %.0e).", attempt, difference, MAX_DIFFERENCE)
        path.unlink(missing_ok=True)
    log.warning("Queries are encoded with PyTorch (about twice the CPU of ONNX Runtime).")
    return model
