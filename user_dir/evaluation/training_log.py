"""Read the metrics fairseq-train writes with ``--log-format json`` (to ``--log-file`` or stdout)."""
import json
from pathlib import Path
from typing import Dict, List


def read_training_log(path) -> Dict[str, List[dict]]:
    """JSON metric lines of a fairseq log -> {"train_inner": [...], "train": [...], "valid": [...]}.

    Interval lines have plain keys ("loss", "num_updates"); epoch summaries have
    "train_"/"valid_" prefixed keys, which are removed. Numbers become floats.
    """
    records = {"train_inner": [], "train": [], "valid": []}
    seen = set()
    for line in Path(path).read_text(errors="replace").splitlines():
        # fairseq 0.12 adds one more --log-file handler per epoch, so lines repeat verbatim
        if line in seen:
            continue
        seen.add(line)
        start = line.find("{")
        if start < 0:
            continue
        try:
            data = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        if not isinstance(data, dict) or "epoch" not in data:
            continue
        keys = [key for key in data if key != "epoch"]
        kind = "train_inner"
        for prefix in ("valid", "train"):
            if keys and all(key.startswith(prefix + "_") for key in keys):
                kind = prefix
        strip = len(kind) + 1
        records[kind].append({(k[strip:] if kind != "train_inner" and k.startswith(kind + "_") else k): _number(v)
                              for k, v in data.items()})
    return records


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def plot_training_curves(logs: Dict[str, Path], out: Path) -> Path:
    """One PNG, three panels (reconstruction, KL, NLL bound; nats per document against updates), with
    the training and validation curves of each ``{name: fairseq json log}``."""
    from ..reproduction.tables import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for name, path in logs.items():
        rec = read_training_log(path)
        for ax, key, title in zip(axes, ("rec", "kl", "nll"), ("reconstruction -log p(x|z)", "KL(q(z|x) || p(z))",
                                                             "NLL bound (rec + KL)")):
            train = [r for r in rec["train_inner"] if key in r]
            if train:
                ax.plot([r["num_updates"] for r in train], [r[key] for r in train], label=f"{name} train")
            valid = [r for r in rec["valid"] if key in r]
            if valid:
                ax.plot([r["num_updates"] for r in valid], [r[key] for r in valid], "o--", label=f"{name} valid")
            ax.set_title(title + " (nats/doc)")
            ax.set_xlabel("updates")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
