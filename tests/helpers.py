"""Small builders shared by the tests, and the documented command lines with the way tests run them."""
import ast
import contextlib
import io
import os
import re
import runpy
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch

from conftest import BIN, REPO, cli_env

# small sizes for fast tests; the dilations are the paper's
TINY_DECODER = dict(decoder_embed_dim=16, decoder_channels=24, decoder_inner_channels=12, dropout=0.0)
TINY_VAE = dict(TINY_DECODER, encoder_embed_dim=16, encoder_hidden_dim=24, latent_dim=4, latent_proj_dim=8,
                decoder_hidden_dim=24, lstm_dropout=0.0)
TINY_CLI = ["--decoder-embed-dim", "16", "--decoder-channels", "24", "--decoder-inner-channels", "12"]
TINY_VAE_CLI = TINY_CLI + ["--encoder-embed-dim", "16", "--encoder-hidden-dim", "24", "--latent-dim", "4",
                           "--latent-proj-dim", "8", "--decoder-hidden-dim", "24"]


def fake_task(dictionary):
    return SimpleNamespace(target_dictionary=dictionary, source_dictionary=dictionary)


def build_text_vae(dictionary, arch="text_vae_scnn", **overrides):
    from user_dir.models.architectures import DILATIONS
    from user_dir.models.text_vae import TextVAE, TextVAEConfig

    name = arch.split("_")[-1]
    cfg = TextVAEConfig(**{**TINY_VAE, **overrides})
    if name == "lstm":
        cfg.decoder_type = "lstm"
    else:
        cfg.decoder_dilations = DILATIONS[name]
    return TextVAE.build_model(cfg, fake_task(dictionary))


# fairseq-train prefetches batches in a daemon thread (--data-buffer-size, default 10). When a tiny run
# stops mid-epoch, that thread may still be collating a batch in torch's C++ code while the interpreter
# exits, and the process then aborts ("terminate called without an active exception", exit -6) after
# "done training", with the checkpoint already saved. Seen once in CI under load; tests turn it off.
NO_PREFETCH_THREAD = ["--data-buffer-size", "0"]


def run_cli(tool: str, *args, check=True):
    """Runs a fairseq command-line tool from the venv with --user-dir; returns the CompletedProcess."""
    cmd = [str(BIN / tool), *map(str, args), *(NO_PREFETCH_THREAD if tool == "fairseq-train" else [])]
    proc = subprocess.run(cmd, cwd=REPO, env=cli_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


# ---------------------------------------------------------------------------------------------
# Documented command lines (README.md's shell blocks, the usage lines of scripts/*.py docstrings)

DOCSTRING_COMMAND = re.compile(r"(\.venv/bin/)?python scripts/|fairseq-[a-z-]+ (DATA|data|--)|make ")
OPTIONAL = re.compile(r"\[(--[^\[\]]*|[A-Z][A-Z_-]*)\]")  # [--flag value] or [PLACEHOLDER], not '[1]'

# Tiny equivalents of long runs and paths outside the scratch folder: (pattern, replacement), applied
# in order by ``substitute``. Placeholder files (DATA-BIN, CKPT, yahoo.txt, ...) are not substituted:
# each test puts tiny real files at those paths of its scratch folder (``sandbox``).
SUBSTITUTIONS = [
    # benchmark.py: the full run (paper and cpu sizes, 10-20 min) -> --quick (tiny sizes); 1 thread;
    # its JSON/Markdown into the scratch folder (the default --out-json is the repository's runs/)
    (r"scripts/benchmark\.py$", "scripts/benchmark.py --quick"),
    (r"scripts/benchmark\.py", "scripts/benchmark.py --threads 1 --out-json runs/benchmark.json "
                               "--out-md runs/benchmark.md"),
    # gpu_check.py --cpu-smoke: its work folder in the scratch folder, not the machine's /tmp
    (r"/tmp/gpu_check", "runs/gpu_check"),
    # reproduce.py: the cpu/converge presets (hours) -> tiny, one Table 2 row (a later --only wins)
    (r"--preset (cpu|converge)\b", "--preset tiny --only table2/scnn_vae"),
    (r"--only table2/scnn_lm table2/scnn_vae", "--only table2/scnn_vae"),
    # evaluate_vae.py, fairseq-eval-lm: K = 500 importance samples -> a few
    (r"--iw-samples 500", "--iw-samples 5"),
    (r"'eval_bound_samples': 500, 'eval_bound_chunk': 50", "'eval_bound_samples': 10, 'eval_bound_chunk': 5"),
    # README's installed-package line elides the training flags ("...")
    (r" \.\.\.$", " --task text_vae --arch text_vae_scnn --criterion elbo --optimizer adam --batch-size 16 "
                  "--max-update 1 --save-dir runs/installed " + " ".join(NO_PREFETCH_THREAD)),
    # fairseq-train: epochs -> 2 updates; paper sizes -> tiny ones (the VAE's latent size as given)
    (r"--max-epoch \d+", "--max-update 2 " + " ".join(NO_PREFETCH_THREAD)),
    (r"--arch dilated_cnn_lm_(\w+)", r"--arch dilated_cnn_lm_\1 " + " ".join(TINY_CLI)),
    (r"--arch text_vae_(\w+)", r"--arch text_vae_\1 " + " ".join(TINY_VAE_CLI)),
    # fairseq-hydra-train of one Table 2 row: the cpu preset's config (600 updates) -> the tiny preset's
    (r"examples/configs/cpu", "examples/configs/tiny"),
    # prepare_corpus.py text --input: a 10,000-document split -> 100 documents
    (r"--split 8000,1000,1000", "--split 80,10,10"),
]


@dataclass(frozen=True)
class CommandLine:
    source: str  # "README.md" or "scripts/NAME.py"
    text: str  # one line: continuations joined, trailing comment dropped, [optional] parts kept

    def __str__(self):
        return f"{self.source}: {self.text}"


def command_lines(text: str, source: str, is_command=lambda line: True):
    """The command lines of ``text``: ``\\``-continuations joined, comment lines and trailing ``# ...``
    comments dropped, the brackets of ``[--optional flags]`` and ``[PLACEHOLDER]`` removed (so that
    optional parts run too), runs of spaces collapsed."""
    found = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        line = re.sub(r"\s+#\s.*$", "", line.strip())
        if line and not line.startswith("#") and is_command(line):
            found.append(CommandLine(source, re.sub(r"\s+", " ", OPTIONAL.sub(r"\1", line))))
    return found


def usage_lines(script: str):
    """The command lines of the docstring of scripts/``script``."""
    doc = ast.get_docstring(ast.parse((REPO / "scripts" / script).read_text()))
    return command_lines(doc, f"scripts/{script}", DOCSTRING_COMMAND.match)


def readme_command_lines():
    """Every line of README.md's shell code blocks (fenced blocks not marked as another language)."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", (REPO / "README.md").read_text(), re.S | re.M)
    return [line for lang, block in blocks if lang in ("", "sh", "bash", "shell")
            for line in command_lines(block, "README.md")]


def documented_command_lines():
    """The command lines of README.md and of every script's docstring."""
    return readme_command_lines() + [line for path in sorted((REPO / "scripts").glob("*.py"))
                                     for line in usage_lines(path.name)]


def substitute(text: str) -> str:
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text)
    return text


def sandbox(root: Path) -> Path:
    """A scratch repository root: user_dir, scripts, examples/configs and .venv link to the real ones, so
    that a documented command runs there as written and the relative paths it names (placeholders,
    outputs) are root's."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("user_dir", "scripts", "examples/configs"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(REPO / name)
    (root / ".venv").symlink_to(BIN.parent)
    return root


def link(root: Path, name: str, target: Path) -> Path:
    """Puts ``target`` at the placeholder path ``name`` of the scratch folder ``root``."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(Path(target).resolve())
    return path


IN_PROCESS = re.compile(r"^(\.venv/bin/)?python scripts/\w+\.py( [^$`|;&<>]*)?$")  # no shell syntax


def run_script_in_process(argv, cwd: Path):
    """Runs ``python SCRIPT ARGS...`` as ``__main__`` in this process (no second interpreter start:
    torch and fairseq are imported already) in ``cwd`` with the environment of a command-line run;
    the working directory, environment, sys.path, sys.argv and torch's thread count are restored
    afterwards. Returns a CompletedProcess with what the script printed."""
    import user_dir  # noqa: F401 (the scripts then share this process's package, not the sandbox's link to it)

    stdout, stderr = io.StringIO(), io.StringIO()
    saved = os.getcwd(), dict(os.environ), list(sys.path), list(sys.argv), torch.get_num_threads()
    returncode = 0
    try:
        os.chdir(cwd)
        os.environ.update(cli_env())
        sys.argv = list(argv[1:])
        sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                runpy.run_path(sys.argv[0], run_name="__main__")
            except SystemExit as exc:  # sys.exit(main()), sys.exit("error: ..."), argparse errors
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
                returncode = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        os.chdir(saved[0])
        os.environ.clear()
        os.environ.update(saved[1])
        sys.path[:], sys.argv = saved[2], saved[3]
        torch.set_num_threads(saved[4])
    return subprocess.CompletedProcess(argv, returncode, stdout.getvalue(), stderr.getvalue())


def run_command_line(line: CommandLine, cwd: Path):
    """Runs a documented command line, after ``substitute``, in ``cwd`` (the venv's tools first on PATH,
    one thread): ``python scripts/...`` without shell syntax in this process, anything else with bash;
    returns the CompletedProcess, raises AssertionError with its output on failure."""
    command = substitute(line.text)
    if IN_PROCESS.match(command):
        proc = run_script_in_process(shlex.split(command), cwd)
    else:
        proc = subprocess.run(["bash", "-c", command], cwd=cwd, env=cli_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{line}\nran as: {command}\nexit {proc.returncode}:\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc
