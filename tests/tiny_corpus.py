"""A tiny synthetic labelled corpus, binarised with the real fairseq-preprocess."""
import random
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent

TOPICS = {
    "sport": "team match goal player coach season win league score fans".split(),
    "tech": "computer software chip data network phone internet code users device".split(),
}
COMMON = "the a of and to in is was for on with said it".split()


def make_documents(n: int, seed: int):
    rng = random.Random(seed)
    docs, labels = [], []
    for _ in range(n):
        topic = rng.choice(sorted(TOPICS))
        words = [rng.choice(TOPICS[topic] if rng.random() < 0.5 else COMMON) for _ in range(rng.randint(5, 25))]
        docs.append(" ".join(words))
        labels.append(topic)
    return docs, labels


def write_corpus(root: Path, sizes=(96, 24, 24)) -> Path:
    """Writes raw splits to root/raw and binarised data to root/data-bin; returns data-bin."""
    raw = root / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for seed, (split, n) in enumerate(zip(("train", "valid", "test"), sizes)):
        docs, labels = make_documents(n, seed)
        (raw / f"{split}.txt").write_text("\n".join(docs) + "\n")
        (raw / f"{split}.label").write_text("\n".join(labels) + "\n")
    out = root / "data-bin"
    for suffix, dest in (("txt", out), ("label", out / "label")):
        subprocess.run(
            [str(BIN / "fairseq-preprocess"), "--only-source", "--workers", "1",
             "--trainpref", str(raw / f"train.{suffix}"), "--validpref", str(raw / f"valid.{suffix}"),
             "--testpref", str(raw / f"test.{suffix}"), "--destdir", str(dest)],
            check=True, capture_output=True,
        )
    return out
