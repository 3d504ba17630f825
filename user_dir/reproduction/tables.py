"""Markdown tables and PNG figures made from run records alone."""
from pathlib import Path
from typing import Dict, List, Optional

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


def pyplot():
    import logging

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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


def training_curves_figure(records: List[Dict], out: Path) -> Optional[Path]:
    """Validation NLL bound (nats per document) against updates for every run that logged one."""
    from ..evaluation.training_log import read_training_log

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    drawn = 0
    for r in records:
        log = Path(r.get("train_log", ""))
        if not log.is_file():
            continue
        valid = [v for v in read_training_log(log)["valid"] if "nll" in v]
        if valid:
            ax.plot([v["num_updates"] for v in valid], [v["nll"] for v in valid], marker="o", label=r["label"])
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("updates")
    ax.set_ylabel("validation NLL bound (nats/doc)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
