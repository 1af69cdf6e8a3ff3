"""What a text means, as one unit vector: the static embedding in bot/knowledge/model/.

The vectors were distilled once from all-MiniLM-L6-v2 (benchmarks/distill_static.py):
one per word piece of that model's vocabulary. A text is cut into word pieces the way
the model cuts it (BERT's uncased basic tokenizer, then greedy longest-match word
pieces; written here in Python so that nothing but numpy is needed), and its vector
is the normalised mean of its pieces' vectors. Pieces of frequent words were scaled
down at distillation, so the mean leans on the words that carry meaning.

Any text gives a vector: empty, huge or odd Unicode input gives the zero vector or
one made of what it does contain; words the vocabulary does not hold are cut into
smaller pieces (at worst single letters), and a word of no known pieces is left out.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

MODEL = Path(__file__).resolve().parent / "model"
MAX_WORD = 100  # characters: a longer "word" is the teacher's [UNK], left out here
MAX_PIECES = 2048  # pieces of one text that are looked at (texts are cut, never refused)

Vector = npt.NDArray[np.float32]

_ASCII_CONTROL = {c: None for c in range(32) if chr(c) not in "\t\n\r"} | {127: None}
_ASCII_WORDS = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")


class EmbeddingMissing(RuntimeError):
    """The shipped embedding is not there or not intact (a broken install)."""


def _is_chinese(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_words(text: str) -> list[str]:
    """BERT's uncased basic tokenization: cleaned, lower-cased, accents stripped,
    split on white space and around punctuation and CJK characters."""
    if text.isascii():
        return _ASCII_WORDS.findall(text.translate(_ASCII_CONTROL).lower())
    out: list[str] = []
    word: list[str] = []

    def close() -> None:
        if word:
            out.append("".join(word))
            word.clear()

    lowered = unicodedata.normalize("NFD", text.lower())
    for ch in lowered:
        cp = ord(ch)
        category = unicodedata.category(ch)
        if ch in " \t\n\r" or category == "Zs":
            close()
        elif cp == 0 or cp == 0xFFFD or category.startswith("C") or category == "Mn":
            continue  # control and format characters, and the accents stripped
        elif _is_punctuation(ch) or _is_chinese(cp):
            close()
            out.append(ch)
        else:
            word.append(ch)
    close()
    return out


class StaticEncoder:
    """Word pieces -> vectors; `encode` gives a text's unit vector (or zeros)."""

    def __init__(self, vocab: list[str], vectors: npt.NDArray[np.int8], scales: Vector) -> None:
        if vectors.ndim != 2 or len(vocab) != len(vectors) or len(scales) != len(vectors):
            raise ValueError("the embedding's vocabulary, vectors and scales do not agree")
        self._ids = {piece: i for i, piece in enumerate(vocab)}
        self._vectors = vectors
        self._scales = scales.astype(np.float32)
        self.dims = int(vectors.shape[1])
        self._longest = max((len(p) for p in vocab), default=1)
        self._pieces_of = lru_cache(maxsize=65536)(self._pieces_uncached)

    @classmethod
    def load(cls, directory: Path) -> StaticEncoder:
        """The embedding in `directory`, checked against its SHA256SUMS; a missing or
        damaged file raises EmbeddingMissing, saying what to do."""
        try:
            for line in (directory / "SHA256SUMS").read_text(encoding="ascii").splitlines():
                digest, name = line.split("  ", 1)
                if hashlib.sha256((directory / name).read_bytes()).hexdigest() != digest:
                    raise ValueError(f"{name} does not match its recorded sha256")
            vocab = (directory / "vocab.txt").read_text(encoding="utf-8").split("\n")
            if vocab and vocab[-1] == "":
                vocab.pop()
            with np.load(directory / "static.npz", allow_pickle=False) as data:
                return cls(vocab, data["vectors"], data["scales"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise EmbeddingMissing(
                f"the meaning matcher's embedding in {directory} cannot be used ({error});"
                ' reinstall Candor, or set [knowledge] semantic = "off"'
            ) from error

    @staticmethod
    @lru_cache(maxsize=1)
    def shipped() -> StaticEncoder:
        """The embedding shipped in the package, loaded once per process."""
        return StaticEncoder.load(MODEL)

    def _pieces_uncached(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first word pieces; () if the word cannot be cut."""
        if len(word) > MAX_WORD:
            return ()
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = min(len(word), start + self._longest)
            found = None
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self._ids.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return ()  # the teacher reads such a word as [UNK]
            pieces.append(found)
            start = end
        return tuple(pieces)

    def knows(self, word: str) -> bool:
        """Whether the vocabulary holds the (lower-case) word whole."""
        return word in self._ids

    def piece_ids(self, text: str) -> list[int]:
        return [p for w in basic_words(text) for p in self._pieces_of(w)]

    def encode(self, text: str) -> Vector:
        ids = self.piece_ids(text)[:MAX_PIECES]
        return self._mean(ids)

    def encode_many(self, texts: list[str]) -> Vector:
        """One row per text, each the normalised mean of its pieces."""
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self.encode(text)
        return out

    def _mean(self, ids: list[int]) -> Vector:
        if not ids:
            return np.zeros(self.dims, dtype=np.float32)
        at = np.asarray(ids, dtype=np.int64)
        summed = self._scales[at] @ self._vectors[at].astype(np.float32)
        length = float(np.linalg.norm(summed))
        if length == 0.0:
            return np.zeros(self.dims, dtype=np.float32)
        return (summed / length).astype(np.float32)
