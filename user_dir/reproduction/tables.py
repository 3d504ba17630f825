"""Markdown tables and PNG figures made from run records alone."""
import json
from pathlib import Path
from typing import Dict, List, Optional

from ..evaluation.latent_plot import pyplot, scatter_by_label

TABLE2_HEADER = ("| model | NLL (KL) | PPL | IW-NLL | MI | AU | updates |\n"
                 "|---|---|---|---|---|---|---|")


KIND_ORDER = ["lm", "vae", "vae_init"]


def _table2_order(record: Dict):
    from .grid import DECODER_NAMES

    decoders = list(DECODER_NAMES.values())
    return decoders.index(record["group"]["decoder"]), KIND_ORDER.index(record["group"]["kind"])


def _fmt(value: Optional[float], digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table2_markdown(records: List[Dict]) -> str:
    """The paper's Table 2 layout: test NLL per document with its KL part, PPL, and the
    later-work columns (importance-weighted NLL, mutual information, active units)."""
    rows = [TABLE2_HEADER]
    for r in sorted((r for r in records if r["table"] == "2"), key=_table2_order):
        m = r["metrics"]
        au = "–" if m.get("active_units") is None else f"{m['active_units']}/{m['latent_dim']}"
        iw = _fmt(m["iw_nll"]) if m.get("iw_samples") else "–"
        rows.append(f"| {r['label']} | {m['nll']:.2f} ({m['kl']:.2f}) | {m['ppl']:.2f} | {iw} | {_fmt(m.get('mi'))} "
                    f"| {au} | {r.get('updates', '–')} |")
    return "\n".join(rows) + "\n"


TABLE3_HEADER = "| model | ACCU | NLL (KL) | PPL | updates |\n|---|---|---|---|---|"


def table3_markdown(records: List[Dict]) -> str:
    """The paper's Table 3 layout: semi-supervised VAE per decoder at one number of labels: test
    accuracy (%) of argmax q(y|x), the NLL bound -U(x) per document (exact sum over labels) with its KL
    part (KL of z and of y), PPL."""
    from .grid import DECODER_NAMES

    decoders = list(DECODER_NAMES.values())
    rows = [TABLE3_HEADER]
    for r in sorted((r for r in records if r["table"] == "3"), key=lambda r: decoders.index(r["group"]["decoder"])):
        m = r["metrics"]
        rows.append(f"| {r['label']} | {m['accuracy']:.2f} | {m['nll']:.2f} ({m['kl']:.2f}) | {m['ppl']:.2f} "
                    f"| {r.get('updates', '–')} |")
    return "\n".join(rows) + "\n"


def table4_markdown(records: List[Dict]) -> str:
    """The paper's Table 4 layout: test accuracy (%) per model (rows) and number of labels N (columns)."""
    from .grid import TABLE4_MODELS

    cells = {(r["group"]["model"], r["group"]["num_labelled"]): r["metrics"]["accuracy"]
             for r in records if r["table"] == "4"}
    counts = sorted({n for _, n in cells})
    rows = ["| model | " + " | ".join(f"N = {n}" for n in counts) + " |", "|---" * (len(counts) + 1) + "|"]
    for model, label in TABLE4_MODELS.items():
        if any(key[0] == model for key in cells):
            rows.append(f"| {label} | " + " | ".join(_fmt(cells.get((model, n))) for n in counts) + " |")
    return "\n".join(rows) + "\n"


TABLE5_ORDER = ["lstm_lm_gmm", "scnn_vae_gmm", "scnn_vae_init_gmm", "scnn_vae_unsup_init"]


def table5_markdown(records: List[Dict]) -> str:
    """The paper's Table 5 layout: unsupervised clustering accuracy (%) on the test split (Makhzani et
    al.'s cluster -> label assignment on validation), with the validation accuracy of the same assignment
    and, for the GMM baselines, the PCA size chosen on it; then the same for majority naming (not the
    paper's; "–" in records made before it was reported)."""
    rows = ["| model | ACCU | valid ACCU | PCA dim | ACCU, majority naming | valid | PCA dim |",
            "|---|---|---|---|---|---|---|"]
    for r in sorted((r for r in records if r["table"] == "5"), key=lambda r: TABLE5_ORDER.index(r["group"]["model"])):
        m = r["metrics"]
        rows.append(f"| {r['label']} | {m['accuracy']:.2f} | {m['valid_accuracy']:.2f} | {m.get('pca_dim', '–')} "
                    f"| {_fmt(m.get('majority_accuracy'))} | {_fmt(m.get('majority_valid_accuracy'))} "
                    f"| {m.get('majority_pca_dim', '–')} |")
    return "\n".join(rows) + "\n"


def nll_decomposition_figure(records: List[Dict], out: Path) -> Optional[Path]:
    """Paper Fig. 2: test NLL per document split into reconstruction and KL, LM / VAE / VAE + init
    side by side for each decoder."""
    rows = [r for r in records if r["table"] == "2"]
    if not rows:
        return None
    plt = pyplot()
    decoders = list(dict.fromkeys(r["group"]["decoder"] for r in rows))
    width = 0.27
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(decoders), 4))
    for k, kind in enumerate(KIND_ORDER):
        for d, decoder in enumerate(decoders):
            match = [r for r in rows if r["group"]["decoder"] == decoder and r["group"]["kind"] == kind]
            if not match:
                continue
            m = match[0]["metrics"]
            x = d + (k - 1) * width
            ax.bar(x, m["rec"], width, color=f"C{k}", label=None if d else {"lm": "LM", "vae": "VAE",
                                                                              "vae_init": "VAE + init"}[kind])
            ax.bar(x, m["kl"], width, bottom=m["rec"], color="black", alpha=0.6,
                   label="KL part" if (k == 1 and d == 0) else None)
    lows = [r["metrics"]["rec"] for r in rows]
    highs = [r["metrics"]["nll"] for r in rows]
    span = max(highs) - min(lows)
    ax.set_ylim(min(lows) - 0.5 * span - 1, max(highs) + 0.2 * span + 1)
    ax.set_xticks(range(len(decoders)))
    ax.set_xticklabels(decoders)
    ax.set_ylabel("test NLL per document (nats): reconstruction + KL")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


CURVE_PANELS = (("nll", "validation NLL bound (nats/doc)"), ("kl", "validation KL (nats/doc)"),
                ("au", "validation active units"))


def training_curves_figure(records: List[Dict], out: Path, out_dir: Optional[Path] = None) -> Optional[Path]:
    """Validation NLL bound, KL and active units against updates for every run that logged them (the
    KL and AU panels show posterior collapse as it happens; runs without a latent code are left out
    of those)."""
    from ..evaluation.training_log import read_training_log
    from .records import training_log_of

    plt = pyplot()
    fig, axes = plt.subplots(1, len(CURVE_PANELS), figsize=(15, 4))
    drawn = 0
    for i, r in enumerate(records):
        log = training_log_of(out_dir if out_dir is not None else out.parent, r)
        if not log.is_file():
            continue
        valid = [v for v in read_training_log(log)["valid"] if "nll" in v]
        if not valid:
            continue
        drawn += 1
        for ax, (key, _) in zip(axes, CURVE_PANELS):
            points = [(v["num_updates"], v[key]) for v in valid if key in v]
            if key != "nll" and not any(value for _, value in points):
                continue  # a language model: KL 0, no latent units
            if points:
                ax.plot(*zip(*points), marker="o", markersize=3, color=f"C{i % 10}", label=r["label"])
    if not drawn:
        plt.close(fig)
        return None
    for ax, (_, ylabel) in zip(axes, CURVE_PANELS):
        ax.set_xlabel("updates")
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def latent_figure(records: List[Dict], out_dir: Path, out: Path) -> Optional[Path]:
    """Paper Fig. 3: posterior means of the test documents in 2-D coloured by label, of the Fig. 3 run
    (a VAE trained with a 2-D z, as in the paper; a higher-dimensional z would be projected by PCA, which
    the title and axis labels then say). Drawn from the points stored next to the Fig. 3 record."""
    rows = [r for r in records if r["table"] == "fig3"]
    if not rows:
        return None
    r = rows[0]
    points = Path(out_dir) / r["name"] / r["files"]["points"]
    if not points.exists():
        raise ValueError(f"{points}: missing; {r['name']}/record.json draws Fig. 3 from this file, so copy it "
                         f"along with the record")
    latent = json.loads(points.read_text())
    title = f"Fig. 3 from {r.get('reads') or r['name']}:\n{latent['title']}"
    return scatter_by_label(latent["points"], latent["labels"], latent["names"], out, title, latent["xlabel"],
                            latent["ylabel"])


SEED_METRICS = (("nll", "NLL"), ("kl", "KL"), ("iw_nll", "IW-NLL"), ("mi", "MI"), ("active_units", "AU"),
                ("accuracy", "ACCU"), ("majority_accuracy", "ACCU, majority naming"))


def seed_statistics(values: List[float]) -> Dict[str, float]:
    """mean, spread (max - min) and n of one quantity over seeds."""
    return {"mean": sum(values) / len(values), "spread": max(values) - min(values), "n": len(values)}


def across_seeds(records_per_seed: List[List[Dict]]) -> Dict[str, Dict[str, Dict[str, float]]]:
    """{run name: {metric: seed_statistics}} over the folders (one per seed) that have the run."""
    by_name: Dict[str, List[Dict]] = {}
    for records in records_per_seed:
        for r in records:
            by_name.setdefault(r["name"], []).append(r)
    out = {}
    for name, rows in by_name.items():
        out[name] = {"label": rows[0]["label"], "seeds": sorted(r["seed"] for r in rows)}
        for key, _ in SEED_METRICS:
            values = [r["metrics"][key] for r in rows if r["metrics"].get(key) is not None
                      and not (key == "iw_nll" and not r["metrics"].get("iw_samples"))]  # LMs: no IW bound
            if values:
                out[name][key] = seed_statistics([float(v) for v in values])
    return out


def seed_table_markdown(records_per_seed: List[List[Dict]]) -> str:
    """One row per run: each test metric as mean ± half the spread over seeds (n seeds; max - min is
    the spread a claim is judged against), marked "(n = k)" where fewer of the run's records have it."""
    stats = across_seeds(records_per_seed)
    rows = ["| run | seeds | " + " | ".join(label for _, label in SEED_METRICS) + " |",
            "|---" * (len(SEED_METRICS) + 2) + "|"]

    def cell(row, key):
        if key not in row:
            return "–"
        m = row[key]
        fewer = f" (n = {m['n']})" if m["n"] < len(row["seeds"]) else ""
        return f"{m['mean']:.2f} ± {m['spread'] / 2:.2f}{fewer}"

    for name, row in stats.items():
        cells = [cell(row, key) for key, _ in SEED_METRICS]
        rows.append(f"| {row['label']} | {', '.join(map(str, row['seeds']))} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def compare_runs(stats: Dict, better: str, worse: str, metric: str = "nll") -> Dict[str, object]:
    """Is ``better``'s mean ``metric`` better (lower; higher for accuracy) than ``worse``'s by more than the
    larger seed spread of the two?
    Returns the difference of means, that spread and ``holds`` (a claim needs at least 2 seeds on each side)."""
    a, b = stats[better][metric], stats[worse][metric]
    spread = max(a["spread"], b["spread"])
    diff = (a["mean"] - b["mean"]) if metric.endswith("accuracy") else (b["mean"] - a["mean"])
    return {"difference": diff, "spread": spread, "holds": bool(min(a["n"], b["n"]) >= 2 and diff > spread)}


def best_validation(log: Path, metric: str = "nll", maximize: bool = False) -> Optional[Dict[str, float]]:
    """The validation that checkpoint_best.pt holds in a fairseq log: the lowest NLL bound, or the best
    ``metric`` (e.g. the highest accuracy of a semi-supervised VAE or classifier). Returns its nll, kl
    (the KL of z: ``kl`` or the semi-supervised criterions' ``kl_z``), au, mi_ub, accuracy (where logged)
    and num_updates, plus the last update trained; None without such validations."""
    from ..evaluation.training_log import read_training_log

    valid = [v for v in read_training_log(log)["valid"] if metric in v]
    if not valid:
        return None
    best = (max if maximize else min)(valid, key=lambda v: v[metric])
    out = {key: best[key] for key in ("nll", "au", "mi_ub", "accuracy", "cluster_acc", "num_updates") if key in best}
    if "kl" in best or "kl_z" in best:
        out["kl"] = best.get("kl", best.get("kl_z"))
    out["last_update"] = max(v["num_updates"] for v in valid)
    return out


def validation_markdown(records: List[Dict], out_dir: Path) -> str:
    """Each trained run's validation that its checkpoint_best.pt holds (the number runs are compared and
    chosen on: the bound, or the accuracy for runs selected on it), with its KL, active units, I(x; z)
    bound and accuracy at that validation, and when training stopped. Unsupervised runs (no labelled
    documents) get the majority-named ``cluster_acc`` instead, where logged: their clusters carry no
    label names, so argmax q(y|x) against the labels means nothing."""
    from .records import training_log_of

    rows = ["| run | valid NLL (KL) | AU | MI bound | valid accuracy | best at update | stopped at |",
            "|---|---|---|---|---|---|---|"]
    for r in records:
        log = training_log_of(out_dir, r)
        checkpoint = (r.get("config") or {}).get("checkpoint") or {}
        best = best_validation(log, checkpoint.get("best_checkpoint_metric", "nll"),
                               bool(checkpoint.get("maximize_best_checkpoint_metric"))) if log.is_file() else None
        if best is None:
            continue
        nll = f"{best['nll']:.2f} ({best.get('kl', 0.0):.2f})" if "nll" in best else "–"
        au = f"{int(best['au'])}" if "au" in best else "–"
        mi = f"{best['mi_ub']:.2f}" if "mi_ub" in best else "–"
        unsupervised = ((r.get("config") or {}).get("task") or {}).get("num_labelled") == 0
        if unsupervised:
            accuracy = f"{best['cluster_acc']:.1f} (majority-named)" if "cluster_acc" in best else "–"
        else:
            accuracy = f"{best['accuracy']:.1f}" if "accuracy" in best else "–"
        rows.append(f"| {r['label']} | {nll} | {au} | {mi} | {accuracy} "
                    f"| {int(best['num_updates'])} | {int(best['last_update'])} |")
    return "\n".join(rows) + "\n"
