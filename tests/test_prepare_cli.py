"""scripts/prepare_corpus.py: exit codes, error messages, summary."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "prepare_corpus.py"


def load_cli():
    spec = importlib.util.spec_from_file_location("prepare_corpus_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_bad_utf8_exit_2(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nbad \xa3 line\nmore\n")
    proc = subprocess.run([sys.executable, str(SCRIPT), "text", "--input", str(bad), "--split", "1,1,1",
                           "--out", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"error: {bad}:2: invalid UTF-8" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_cli_in_process_errors(tmp_path, capsys):
    cli = load_cli()
    train = tmp_path / "train.txt"
    train.write_text("a b\nc d\n")
    (tmp_path / "train.label").write_text("x\ny\n")
    (tmp_path / "valid.txt").write_text("e f\n")
    (tmp_path / "valid.label").write_text("q\n")
    (tmp_path / "test.txt").write_text("g h\n")
    (tmp_path / "test.label").write_text("x\n")
    args = ["text", "--train", str(train), "--valid", str(tmp_path / "valid.txt"),
            "--test", str(tmp_path / "test.txt"), "--out", str(tmp_path / "out")]
    assert cli.main(args) == 2
    assert f"error: {tmp_path / 'valid.label'}:1: label 'q'" in capsys.readouterr().err
    # an output folder that holds data
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    assert cli.main(["bbc", "--out", str(tmp_path / "full")]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    # argument errors are argparse's (exit status 2, usage message)
    with pytest.raises(SystemExit) as e:
        cli.main(["text", "--input", str(train), "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    assert "--input needs --split" in capsys.readouterr().err


def test_cli_text_end_to_end(tmp_path, capsys):
    cli = load_cli()
    src = tmp_path / "all.txt"
    lines, labels = [], []
    for lab in ("0", "1"):
        for i in range(20):
            lines.append(f"the {lab} document number {i} says _UNK things" if i % 5 else "   ")
            labels.append(lab)
    src.write_text("\n".join(lines) + "\n")
    (tmp_path / "all.label").write_text("\n".join(labels) + "\n")
    out = tmp_path / "out"
    assert cli.main(["text", "--input", str(src), "--split", "24,4,4", "--out", str(out),
                     "--vocab-size", "100"]) == 0
    summary = capsys.readouterr().out
    assert "train: 24 documents" in summary and "skipped empty lines: 8" in summary
    assert str(out / "data-bin") in summary
    for name in ("dict.txt", "train.bin", "train.idx", "test.idx", "label/dict.txt", "label/valid.bin"):
        assert (out / "data-bin" / name).is_file(), name
    assert "<unk>" not in (out / "data-bin" / "dict.txt").read_text()
    assert "<unk>" in (out / "train.txt").read_text()
