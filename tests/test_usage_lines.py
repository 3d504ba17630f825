"""Every command line of README.md's shell blocks and of the scripts' docstrings runs as written.

Each test runs the lines of one group (``GROUPS``) in a scratch repository root (``helpers.sandbox``)
where the paths the lines name (DATA-BIN, CKPT, ckpt/checkpoint_best.pt, yahoo.txt, a.txt, ...) are
tiny real files, after the one table of tiny equivalents of long runs (``helpers.SUBSTITUTIONS``);
``python scripts/...`` lines run in the test's process (``helpers.run_command_line``), the rest with
bash. A line that cannot run here is in ``ALLOWLIST`` with the reason;
``test_every_command_line_is_run_or_allowlisted`` fails on a new line that is in neither.
"""
import json
import re

from conftest import REPO
from helpers import (TINY_VAE_CLI, documented_command_lines, link, run_cli, run_command_line, sandbox,
                     substitute)

PNG = b"\x89PNG\r\n\x1a\n"
TRAIN = ["--user-dir", "user_dir", "--cpu", "--optimizer", "adam", "--lr", "0.003", "--batch-size", "16",
         "--log-interval", "1", "--log-format", "simple", "--no-epoch-checkpoints", "--seed", "1"]

# documented command lines that are not run, with the reason
ALLOWLIST = {
    "README.md: make demo": "34 minutes on this 2-core CPU (its parts are tested: prepare_corpus.py topics and "
                            "bbc here, the mechanism in tests/test_latent_mechanism.py)",
    "README.md: make test": "the test run itself",
    "scripts/demo.py: python scripts/demo.py --updates 150 --size cpu":
        "what make demo runs (34 minutes); its topic-corpus part trains 2,500 updates per model, with no flag",
    "scripts/build_fastbpe_tool.py: python scripts/build_fastbpe_tool.py --version 0.1.0 --out .venv/bin/fastbpe":
        "downloads fastBPE's sdist with pip (network) and compiles it with g++; make runs it at set-up, and "
        "tests/test_prepare_text.py and tests/test_hub_interface.py learn BPE codes with the tool it built",
    "README.md: make reproduce DATA=DATA-BIN": "the cpu preset, hours; it runs reproduce.py --preset cpu, whose "
                                               "README and docstring lines run here with the tiny preset",
    "scripts/reproduce.py: python scripts/reproduce.py --preset cpu --write-configs":
        "rewrites the committed examples/configs/cpu in the working tree; "
        "tests/test_reproduce_harness.py::test_committed_configs_match_the_grid checks they equal what it writes",
    'scripts/gpu_check.py: python scripts/gpu_check.py --updates N --modes "fp16 bf16 amp" --workdir DIR DATA_BIN':
        "fp16, bf16 and amp training need a CUDA GPU; the --cpu-smoke line runs the same pipeline on the CPU",
}

# the test that runs each documented line: a regular expression on "SOURCE: LINE"
GROUPS = {
    "test_vae_script_lines": r"^scripts/(evaluate_vae|generate_vae|plot_training_curves|plot_latent)\.py: ",
    "test_semisupervised_script_lines": r"^scripts/(evaluate_clustering|generate_by_label|gmm_baseline)\.py: ",
    "test_prepare_corpus_lines": r"^scripts/prepare_corpus\.py: python scripts/prepare_corpus\.py (topics|text) ",
    "test_prepare_corpus_bbc_line": r"^scripts/prepare_corpus\.py: python scripts/prepare_corpus\.py bbc ",
    "test_reproduce_lines": r"^(README\.md|scripts/reproduce\.py): python scripts/reproduce\.py ",
    "test_benchmark_lines": r"^scripts/benchmark\.py: ",
    "test_gpu_check_lines": r"^scripts/gpu_check\.py: ",
    "test_readme_fairseq_lines": r"^README\.md: fairseq-",
}


def lines_of(group: str):
    """The documented lines that the test ``group`` runs, in document order."""
    lines = [line for line in documented_command_lines()
             if re.search(GROUPS[group], str(line)) and str(line) not in ALLOWLIST]
    assert lines, f"{group}: no documented command line"
    return lines


def run_group(group: str, root):
    """Runs the lines of ``group`` in the scratch folder ``root`` (a line that becomes the same command as
    an earlier one after the substitutions runs once); returns {command: CompletedProcess}."""
    done = {}
    for line in lines_of(group):
        if substitute(line.text) not in done:
            done[substitute(line.text)] = run_command_line(line, root)
    return done


def test_every_command_line_is_run_or_allowlisted():
    lines = [str(line) for line in documented_command_lines()]
    for line in lines:
        groups = [name for name, pattern in GROUPS.items() if re.search(pattern, line)]
        if line in ALLOWLIST:
            assert ALLOWLIST[line], f"{line}: allowlisted without a reason"
        else:
            assert len(groups) == 1, f"{line}: run by {groups or 'no test'}; add it to GROUPS or ALLOWLIST"
    assert not set(ALLOWLIST) - set(lines), "allowlisted lines no longer documented"
    assert all(name in globals() for name in GROUPS)
    # every script's docstring has its usage lines
    scripts = {f"scripts/{path.name}" for path in (REPO / "scripts").glob("*.py")}
    assert scripts < {line.split(": ")[0] for line in lines}


def test_vae_script_lines(tiny_data, tmp_path):
    """evaluate_vae.py, generate_vae.py, plot_training_curves.py, plot_latent.py on one tiny text VAE."""
    root = sandbox(tmp_path)
    save = root / "runs" / "vae"
    save.mkdir(parents=True)
    run_cli("fairseq-train", tiny_data, "--task", "text_vae", "--arch", "text_vae_scnn", *TINY_VAE_CLI,
            "--criterion", "elbo", "--max-update", "4", "--save-dir", save, "--log-file", save / "train.log",
            *TRAIN, "--log-format", "json")
    link(root, "DATA-BIN", tiny_data)
    for name in ("CKPT", "ckpt/checkpoint_best.pt"):
        link(root, name, save / "checkpoint_best.pt")
    link(root, "runs/lm/train.log", save / "train.log")
    done = run_group("test_vae_script_lines", root)
    assert len(done) == 8
    assert (root / "row.md").read_text().startswith("| model | NLL (KL)")
    assert json.loads((root / "row.json").read_text())
    for png in ("curves.png", "latent.png", "vae2d.png"):
        assert (root / png).read_bytes()[:8] == PNG, png


def test_semisupervised_script_lines(tiny_data, tmp_path):
    """evaluate_clustering.py and generate_by_label.py on a tiny semi-supervised VAE, gmm_baseline.py on a
    tiny lstm_lm (hidden size 32: the default PCA sizes are 8, 16, 32)."""
    root = sandbox(tmp_path)
    run_cli("fairseq-train", tiny_data, "--task", "semisupervised_vae", "--criterion", "semisupervised_elbo",
            *TINY_VAE_CLI, "--arch", "semisup_vae_scnn", "--num-labelled", "20", "--max-update", "6",
            "--save-dir", root / "ckpt", *TRAIN)
    run_cli("fairseq-train", tiny_data, "--task", "text_vae", "--arch", "lstm_lm", "--decoder-embed-dim", "16",
            "--decoder-hidden-size", "32", "--decoder-out-embed-dim", "32", "--decoder-layers", "1",
            "--adaptive-softmax-cutoff", "0", "--criterion", "elbo", "--max-update", "3", "--save-dir", root / "lm",
            *TRAIN)
    link(root, "DATA-BIN", tiny_data)
    done = run_group("test_semisupervised_script_lines", root)
    clustering = json.loads((root / "out.json").read_text())
    assert 0 <= clustering["test_accuracy"] <= 100 and clustering["num_test"] == 24
    by_label = next(proc.stdout for command, proc in done.items() if "generate_by_label" in command)
    assert {line.split("\t")[0] for line in by_label.splitlines() if not line.startswith("#")} == {"sport", "tech"}
    gmm = json.loads((root / "results" / "gmm_lstm.json").read_text())
    assert [row["pca_dim"] for row in gmm["rows"]] == [8, 16, 32]
    assert "| PCA dim |" in (root / "results" / "gmm_lstm.md").read_text()


def test_prepare_corpus_lines(tiny_data, tmp_path):
    """The synthetic topic corpus, a one-file corpus split by prepare_corpus.py, and three files."""
    from tiny_corpus import make_documents
    from user_dir.preprocessing.synthetic import topic_vocabularies

    root = sandbox(tmp_path)
    docs, labels = make_documents(100, seed=7)
    (root / "yahoo.txt").write_text("\n".join(docs) + "\n")
    (root / "yahoo.label").write_text("\n".join(labels) + "\n")
    for name, split in zip("abc", ("train", "valid", "test")):
        for suffix in ("txt", "label"):
            link(root, f"{name}.{suffix}", tiny_data.parent / "raw" / f"{split}.{suffix}")
    done = run_group("test_prepare_corpus_lines", root)
    assert len(done) == 3
    assert "train: 3000 documents" in next(proc.stdout for command, proc in done.items() if " topics " in command)
    for corpus in ("topics", "yahoo", "x"):
        assert (root / "data" / corpus / "data-bin" / "label" / "dict.txt").exists(), corpus
    assert len((root / "data" / "yahoo" / "train.txt").read_text().splitlines()) == 80
    # the synthetic corpus: 10 topics, labels = topics, every word from the 300-word vocabulary
    topics = root / "data" / "topics"
    docs = (topics / "train.txt").read_text().splitlines()
    labels = (topics / "train.label").read_text().splitlines()
    assert len(docs) == len(labels) == 3000 and sorted(set(labels)) == [f"t{i}" for i in range(10)]
    vocab = topic_vocabularies()
    share = [sum(w in vocab[int(y[1:])] for w in d.split()) / len(d.split()) for d, y in zip(docs, labels)]
    assert 0.5 < sum(share) / len(share) < 0.6  # half topic words, plus uniform draws that hit the topic (30/300)


def test_prepare_corpus_bbc_line(bbc_data):
    """The BBC line is the one the session fixture ``bbc_data`` runs (28 s), for this test and
    tests/test_semisup_bbc.py."""
    assert len(lines_of("test_prepare_corpus_bbc_line")) == 1
    assert (bbc_data / "dict.txt").exists() and (bbc_data / "label" / "dict.txt").exists()


def test_reproduce_lines(tiny_data, tmp_path):
    """README's reproduction block, then the docstring's lines, on one tiny Table 2 row: seed 1 in NAME (which
    the docstring's yahoo-cpu and s1 also name), seed 2 in NAME-s2 (s2), the override in NAME-rf3."""
    root = sandbox(tmp_path)
    link(root, "DATA-BIN", tiny_data)
    runs = root / "runs" / "reproduce"
    for folder in ("NAME", "NAME-s2"):
        (runs / folder).mkdir(parents=True)
    for name, target in (("runs/reproduce/NAME-s1", "NAME"), ("runs/reproduce/yahoo-cpu", "NAME"),
                         ("runs/s1", "NAME"), ("runs/s2", "NAME-s2")):
        link(root, name, runs / target)
    done = run_group("test_reproduce_lines", root)
    assert sum("table2/scnn_vae: training" in proc.stdout for proc in done.values()) == 3
    assert "table2/scnn_vae: done earlier, skipped" in "".join(proc.stdout for proc in done.values())
    assert "## Table 2:" in (runs / "NAME" / "tables.md").read_text()
    assert (runs / "NAME" / "fig2_nll_decomposition.png").read_bytes()[:8] == PNG
    assert (root / "seeds.md").exists()
    override = json.loads((runs / "NAME-rf3" / "table2" / "scnn_vae" / "record.json").read_text())
    assert "model.decoder_dilations='[1]'" in override["command"]
    for export in ("examples/results/NAME/seed1", "examples/results/x/seed1"):
        assert (root / export / "table2" / "scnn_vae" / "record.json").exists(), export


def test_benchmark_lines(tmp_path):
    """The full benchmark and --quick are one tiny run here (the substitution table)."""
    root = sandbox(tmp_path)
    assert len(run_group("test_benchmark_lines", root)) == 1
    data = json.loads((root / "runs" / "benchmark.json").read_text())
    md = (root / "runs" / "benchmark.md").read_text()
    for heading in ("## Training", "## Generation", "## Evaluation", "## Targets",
                    "## Estimated time to train the paper's LCNN-VAE"):
        assert heading in md
    trained = {(row["model"], row["adaptive_softmax"]) for row in data["training"]}
    models = {"dilated_cnn_lm_scnn", "dilated_cnn_lm_lcnn", "text_vae_scnn", "text_vae_lcnn", "text_vae_lstm",
              "lstm_lm"}
    # every model with a full softmax, and all but the LSTM-decoder VAE also with the adaptive one
    assert trained == {(m, None) for m in models} | {(m, "100,300") for m in models - {"text_vae_lstm"}}
    for row in data["training"]:
        # against the best rate measured in the run: no utilisation above 100 % unless a count overstates
        assert row["tokens_per_s"] > 0 and row["train_flops_per_token"] > 0 and 0 < row["utilisation"] <= 1.0
        assert f"| {row['size']} | {row['model']}{' + AS' if row['adaptive_softmax'] else ''} | 500 |" in md
    assert data["reference_peak"] >= max(data["peak_start"], data["peak_end"], *data["training_peaks"])
    assert {r["model"] for r in data["profile"]} == {"text_vae_scnn", "text_vae_lstm"}
    for r in data["profile"]:  # the categories cover the profiled step (the rest is Python between operations)
        covered = sum(c["forward_ms"] + c["backward_ms"] for c in r["categories"].values()) + r["optimizer_ms"]
        assert 0 < covered <= r["step_wall_ms"] * 1.05 and "output layer" in r["categories"]
    assert "## Where a training step spends its time" in md and "## Speed ratios" in md
    assert len(data["generation"]) == 4
    assert all(r["max_abs_diff_logprob"] < 1e-4 for r in data["generation"])
    # batched and looped importance-weighted bounds use the same z samples: same numbers
    assert data["evaluation"]["max_abs_diff"] < 1e-4
    assert data["peak_start"] > 0 and data["targets"]


def test_gpu_check_lines(tmp_path):
    """The CPU smoke run (the GPU line is allowlisted): the BBC corpus prepared, fp32 trained and evaluated."""
    root = sandbox(tmp_path)
    [proc] = run_group("test_gpu_check_lines", root).values()
    out = proc.stdout + proc.stderr
    assert "gpu_check: OK: every loss finite in: fp32" in out
    assert "skipped" in out.lower() and "need CUDA" in out
    assert "| fp32 | 2 |" in out
    assert (root / "runs" / "gpu_check").is_dir()


def test_readme_fairseq_lines(tiny_data, tmp_path):
    """README's fairseq commands: the installed package as --user-dir, binarise, train an LM and a VAE,
    both bounds, reconstructions and prior samples, a Table 2 row with fairseq-hydra-train."""
    root = sandbox(tmp_path)
    link(root, "DATA-BIN", tiny_data)
    for split in ("train", "valid", "test"):
        link(root, f"{split}.txt", tiny_data.parent / "raw" / f"{split}.txt")
    done = run_group("test_readme_fairseq_lines", root)
    assert len(done) == 9
    assert (root / "data-bin" / "dict.txt").exists() and (root / "checkpoints" / "checkpoint_last.pt").exists()
    for ckpt in ("runs/installed/checkpoint_last.pt", "ckpt/lcnn_vae/checkpoint_best.pt",
                 "runs/scnn_vae/checkpoint_best.pt"):
        assert (root / ckpt).exists(), ckpt
    evaluations = [proc.stdout + proc.stderr for command, proc in done.items() if command.startswith("fairseq-eval-lm")]
    assert "ELBO (1 sample of z, analytic KL)" in evaluations[0]
    assert "importance-weighted bound, K=10" in evaluations[1]
    generated = [proc.stdout for command, proc in done.items() if command.startswith("fairseq-generate")]
    assert [sum(line.startswith("H-") for line in out.splitlines()) for out in generated] == [24, 24]
