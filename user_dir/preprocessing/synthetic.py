"""A synthetic corpus on which a document's latent code must pay: a check of the whole pipeline.

Each document has one of ``topics`` topics (its label). Each of its words is, with probability
``topic_share``, one of the topic's ``topic_words`` words, else uniform over the ``vocabulary``
words ``v0 .. v{vocabulary-1}``. Knowing the topic is worth at most log(topics) nats per document
(2.3 for 10 topics), and a decoder that sees only the previous word or two cannot infer it early
in the document, so a VAE with such a decoder beats its language-model twin only by putting the
topic in z. ``TOPIC_SEED`` fixes the topics, the same in every split.
"""
import random
from typing import Dict, List, Tuple

from .reading import Document

TOPIC_SEED = 1234


def topic_vocabularies(topics: int = 10, vocabulary: int = 300, topic_words: int = 30) -> List[List[str]]:
    """The word list of every topic (fixed by ``TOPIC_SEED``)."""
    words = [f"v{i}" for i in range(vocabulary)]
    rng = random.Random(TOPIC_SEED)
    return [rng.sample(words, topic_words) for _ in range(topics)]


def topic_mixture_documents(n: int, seed: int, topics: int = 10, vocabulary: int = 300, topic_words: int = 30,
                            lengths: Tuple[int, int] = (20, 40), topic_share: float = 0.5):
    """``n`` documents and their labels (``t0`` .. ``t{topics-1}``), drawn with ``seed``."""
    words = [f"v{i}" for i in range(vocabulary)]
    topic_vocab = topic_vocabularies(topics, vocabulary, topic_words)
    rng = random.Random(seed)
    docs, labels = [], []
    for _ in range(n):
        topic = rng.randrange(topics)
        length = rng.randint(*lengths)
        docs.append(" ".join(rng.choice(topic_vocab[topic] if rng.random() < topic_share else words)
                             for _ in range(length)))
        labels.append(f"t{topic}")
    return docs, labels


def topic_corpus_splits(sizes=(3000, 300, 300), seed: int = 1) -> Dict[str, List[Document]]:
    """train / valid / test documents of the synthetic corpus (split ``i`` drawn with ``seed + i``)."""
    splits = {}
    for i, (split, n) in enumerate(zip(("train", "valid", "test"), sizes)):
        docs, labels = topic_mixture_documents(n, seed + i)
        splits[split] = [Document(text, line, label, source=f"<synthetic {split}>", label_source=f"<synthetic {split}>")
                         for line, (text, label) in enumerate(zip(docs, labels), 1)]
    return splits


def topic_share(text: str, topic_vocab: List[str]) -> float:
    """Fraction of the words of ``text`` that are in one topic's word list (0 for an empty text). A
    document of that topic has about topic_share + (1 - topic_share) * topic_words / vocabulary
    (0.55 by default); text unrelated to the topic about topic_words / vocabulary (0.1)."""
    words = text.split()
    vocab = set(topic_vocab)
    return sum(w in vocab for w in words) / len(words) if words else 0.0
