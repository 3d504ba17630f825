"""The runs behind each of the paper's tables, and their Hydra configs.

A run either trains (``config``: a Hydra config for fairseq-hydra-train, then
its best checkpoint is evaluated) or only evaluates the best checkpoint of
another run (``reads``; ``config`` is None). ``init_from`` and ``reads`` name
the runs a run depends on: they come first in the grid, or must have finished
earlier under the same output folder.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from ..models.architectures import DILATIONS
from .presets import Preset

DECODER_NAMES = {"lstm": "LSTM", "scnn": "SCNN", "mcnn": "MCNN", "lcnn": "LCNN", "vlcnn": "VLCNN"}


@dataclass
class Run:
    """One row of a table: a training config (or a checkpoint to read), plus what it needs and how it
    is evaluated (``evaluation``: a key of ``user_dir.reproduction.evaluations.EVALUATIONS``)."""

    name: str  # e.g. "table2/scnn_vae_init"
    table: str  # "2" ... "5", or "fig3"
    label: str  # row label as in the paper, e.g. "SCNN-VAE + init"
    config: Optional[Dict]  # the Hydra config (without data / save_dir); None: evaluation-only run
    init_from: Optional[str] = None  # name of the run whose checkpoint initialises the encoder
    evaluation: str = "bound"
    group: Dict = field(default_factory=dict)  # facts used by tables/figures (decoder, kind)
    reads: Optional[str] = None  # evaluation-only: the run whose checkpoint_best.pt is evaluated
    options: Dict = field(default_factory=dict)  # settings of the evaluation (e.g. GMM features, PCA sizes)

    @property
    def config_name(self) -> str:
        return self.name.replace("/", "_")

    @property
    def trains(self) -> bool:
        return self.config is not None

    @property
    def needs(self) -> List[str]:
        """Runs whose checkpoints this one reads (encoder initialisation or evaluation)."""
        return [name for name in (self.init_from, self.reads) if name]


def _base_config(preset: Preset) -> Dict:
    optimization = {"lr": [preset.lr], "max_update": preset.max_update, "max_epoch": preset.max_epoch}
    scheduler = {"_name": "fixed"}
    if preset.force_anneal:
        scheduler.update(force_anneal=preset.force_anneal, lr_shrink=preset.lr_shrink)
    return {
        "common": {"user_dir": "user_dir", "seed": 1, "log_format": "json", "log_interval": 10,
                   "cpu": preset.name != "paper"},
        "task": {"_name": "text_vae", "data": "???", "max_doc_tokens": preset.max_doc_tokens},
        "criterion": {"_name": "elbo", "kl_weight_start": 0.01, "kl_weight_end": 1.0,
                      "kl_anneal_updates": preset.kl_anneal_updates},
        "optimizer": {"_name": "adam", "adam_betas": [0.5, 0.999]},
        "optimization": optimization,
        "lr_scheduler": scheduler,
        "dataset": {"batch_size": preset.batch_size, "validate_interval_updates": preset.validate_interval_updates},
        "checkpoint": {"save_dir": "???", "no_epoch_checkpoints": True, "best_checkpoint_metric": "nll",
                       **({"patience": preset.patience} if preset.patience > 0 else {})},
        # run in the current folder (the repository root), so that user_dir resolves; no .hydra/ output
        "hydra": {"run": {"dir": "."}, "output_subdir": None},
    }


def model_config(preset: Preset, decoder: str, latent: bool) -> Dict:
    """The ``model`` node for an LM (latent=False) or VAE with the given decoder, at the preset's sizes."""
    s = preset.sizes
    if decoder == "lstm" and not latent:
        # fairseq's own lstm_lm, matched to the VAE encoder so that it can initialise it ("+ init")
        node = {"_name": "lstm_lm", "criterion": "elbo", "decoder_embed_dim": s["embed_dim"],
                "decoder_hidden_size": s["encoder_hidden_dim"], "decoder_out_embed_dim": s["encoder_hidden_dim"],
                "decoder_layers": 1, "dropout": 0.3}
        if preset.adaptive_softmax_cutoff:
            # lstm_lm builds its AdaptiveSoftmax only when its own `criterion` field says adaptive_loss; the
            # criterion that trains it stays elbo, which scores adaptive outputs (modules/output_log_probs.py)
            node.update(criterion="adaptive_loss", adaptive_softmax_cutoff=preset.adaptive_softmax_cutoff)
        return node
    cnn = {"decoder_embed_dim": s["embed_dim"], "decoder_channels": s["channels"],
           "decoder_inner_channels": s["inner_channels"], "dropout": 0.1}
    if preset.adaptive_softmax_cutoff and decoder != "lstm":
        cnn["adaptive_softmax_cutoff"] = preset.adaptive_softmax_cutoff
    if not latent:
        return {"_name": "dilated_cnn_lm", **cnn, "decoder_dilations": DILATIONS[decoder]}
    node = {"_name": "text_vae", **cnn, "encoder_embed_dim": s["embed_dim"],
            "encoder_hidden_dim": s["encoder_hidden_dim"], "latent_dim": s["latent_dim"],
            "latent_proj_dim": s["latent_proj_dim"], "decoder_hidden_dim": s["decoder_hidden_dim"]}
    if decoder == "lstm":
        node.update(decoder_type="lstm", lstm_dropout=0.3, word_dropout=0.0)
    else:
        node.update(decoder_type="cnn", decoder_dilations=DILATIONS[decoder])
    return node


def table2_runs(preset: Preset) -> List[Run]:
    """Table 2: LSTM-LM, LSTM-VAE (+ init), and LM / VAE / VAE + init for each CNN decoder."""
    runs = []
    for decoder in ["lstm"] + preset.table2_decoders:
        name = DECODER_NAMES[decoder]
        for kind, latent, init in (("lm", False, False), ("vae", True, False), ("vae_init", True, True)):
            cfg = _base_config(preset)
            cfg["model"] = model_config(preset, decoder, latent)
            if init:
                cfg["model"]["init_encoder_from"] = "???"
            label = {"lm": f"{name}-LM", "vae": f"{name}-VAE", "vae_init": f"{name}-VAE + init"}[kind]
            runs.append(Run(f"table2/{decoder}_{kind}", "2", label, cfg,
                            init_from="table2/lstm_lm" if init else None,
                            group={"decoder": name, "kind": kind}))
    return runs


def _select_by_accuracy(cfg: Dict, metric: str = "accuracy") -> Dict:
    """checkpoint_best.pt = the highest validation ``metric``: ``accuracy`` (classifiers and semi-supervised
    runs) or ``cluster_acc`` (unsupervised clustering, majority-named)."""
    cfg["checkpoint"].update(best_checkpoint_metric=metric, maximize_best_checkpoint_metric=True)
    return cfg


def _validate_and_save_every(cfg: Dict, every: int, patience: int) -> Dict:
    """Validate and save every ``every`` updates (fairseq updates checkpoint_best.pt only when it saves,
    so a validation between saves would be logged but never tested), keeping one such checkpoint, and
    stop after ``patience`` validations without a better one."""
    cfg["dataset"].update(validate_interval_updates=every)
    cfg["checkpoint"].update(save_interval_updates=every, keep_interval_updates=1, patience=patience)
    return cfg


def semisup_config(preset: Preset, decoder: str, num_labelled: int, init: bool = False,
                   kl_y_floor: float = 0.0) -> Dict:
    """A semi-supervised VAE (paper Sec. 2.4: ``semisup_vae`` + ``semisupervised_elbo``) with N labelled
    training documents, selected by validation accuracy; N = 0 is unsupervised clustering (Eq. 5,
    ``kl_y_floor``), selected by validation ``cluster_acc`` (clusters named by the majority label of
    their validation documents, as Table 5 itself names clusters on validation and its GMM baselines
    choose their PCA size there), validated every ``preset.clustering_validate_updates`` updates where
    that is set. alpha and the labelled fraction are the preset's; the Gumbel temperature is the model's
    default. Runs with labels validate every ``preset.semisup_validate_updates`` updates where that is
    set, as the Table 4 classifiers they are compared with."""
    cfg = _base_config(preset)
    cfg["task"].update(_name="semisupervised_vae", num_labelled=num_labelled)
    cfg["criterion"]["_name"] = "semisupervised_elbo"
    if num_labelled:
        cfg["task"]["labelled_fraction"] = preset.labelled_fraction
        cfg["criterion"]["alpha"] = preset.semisup_alpha
        if preset.semisup_validate_updates:
            _validate_and_save_every(cfg, preset.semisup_validate_updates, preset.semisup_patience)
    if kl_y_floor:
        cfg["criterion"]["kl_y_floor"] = kl_y_floor
    cfg["model"] = dict(model_config(preset, decoder, latent=True), _name="semisup_vae")
    if init:
        cfg["model"]["init_encoder_from"] = "???"
    if not num_labelled and preset.clustering_validate_updates:
        _validate_and_save_every(cfg, preset.clustering_validate_updates, preset.clustering_patience)
    return _select_by_accuracy(cfg, "accuracy" if num_labelled else "cluster_acc")


def classifier_config(preset: Preset, num_labelled: int, init: bool = False) -> Dict:
    """The supervised baselines of Table 4 (``lstm_classifier`` + ``document_classification``): the VAE's
    encoder LSTM and q(y|x) MLP trained on the N labelled documents only; ``init``: LM-LSTM."""
    s = preset.sizes
    cfg = _base_config(preset)
    cfg["task"].update(_name="semisupervised_vae", num_labelled=num_labelled, train_on_labelled_only=True)
    cfg["criterion"] = {"_name": "document_classification"}
    cfg["model"] = {"_name": "lstm_classifier", "encoder_embed_dim": s["embed_dim"],
                    "encoder_hidden_dim": s["encoder_hidden_dim"]}
    if init:
        cfg["model"]["init_encoder_from"] = "???"
    if preset.classifier_validate_updates:
        # an epoch is N / batch updates: validate (and save, so that checkpoint_best follows) on an
        # update count instead, never at an epoch's end, and stop by updates, not epochs
        never = 10 ** 6
        _validate_and_save_every(cfg, preset.classifier_validate_updates, preset.classifier_patience)
        cfg["dataset"].update(validate_interval=never)
        cfg["checkpoint"].update(save_interval=never)
        cfg["optimization"].update(max_epoch=0, max_update=preset.classifier_max_update)
    return _select_by_accuracy(cfg)


def table3_runs(preset: Preset) -> List[Run]:
    """Table 3: the semi-supervised VAE with each decoder at one number of labels (paper: 500);
    test accuracy of argmax q(y|x) and the bound -U(x)."""
    n = preset.table3_labels
    return [Run(f"table3/{decoder}_semi", "3", f"{DECODER_NAMES[decoder]}-VAE-Semi", semisup_config(preset, decoder, n),
                evaluation="classification", group={"decoder": DECODER_NAMES[decoder], "num_labelled": n})
            for decoder in preset.table3_decoders]


TABLE4_MODELS = {"lstm": "LSTM", "lm_lstm": "LM-LSTM", "scnn_semi": "SCNN-VAE-Semi",
                 "scnn_semi_init": "SCNN-VAE-Semi + init"}


def table4_runs(preset: Preset) -> List[Run]:
    """Table 4: test accuracy at each number of labels N of the LSTM classifier, LM-LSTM (its encoder
    from table2/lstm_lm, Dai & Le 2015), SCNN-VAE-Semi and SCNN-VAE-Semi + init."""
    runs = []
    for n in preset.table4_labels:
        configs = {"lstm": classifier_config(preset, n), "lm_lstm": classifier_config(preset, n, init=True),
                   "scnn_semi": semisup_config(preset, "scnn", n),
                   "scnn_semi_init": semisup_config(preset, "scnn", n, init=True)}
        for model, cfg in configs.items():
            init = "init_encoder_from" in cfg["model"]
            runs.append(Run(f"table4/{model}_n{n}", "4", f"{TABLE4_MODELS[model]}, N = {n}", cfg,
                            init_from="table2/lstm_lm" if init else None, evaluation="classification",
                            group={"model": model, "num_labelled": n}))
    return runs


def table5_runs(preset: Preset) -> List[Run]:
    """Table 5 (unsupervised clustering accuracy, Makhzani et al.'s protocol): PCA + GMM on the
    features of table2/lstm_lm, table2/scnn_vae and table2/scnn_vae_init (evaluation-only runs), and
    SCNN-VAE-Unsup + init (semi-supervised VAE with no labels, Eq. 5); and Fig. 3: an SCNN-VAE + init
    trained with a 2-D z as in the paper (the encoder from table2/lstm_lm), its test posterior means
    coloured by label."""
    gmm = {"pca_dims": list(preset.gmm_pca_dims), "runs": preset.gmm_runs}
    runs = [Run(f"table5/{name}_gmm", "5", f"{label} + GMM", None, evaluation="gmm", reads=f"table2/{name}",
                group={"model": f"{name}_gmm"}, options=dict(gmm, features=features))
            for name, label, features in (("lstm_lm", "LSTM", "lstm_lm"), ("scnn_vae", "SCNN-VAE", "vae_mean"),
                                          ("scnn_vae_init", "SCNN-VAE + init", "vae_mean"))]
    runs.append(Run("table5/scnn_vae_unsup_init", "5", "SCNN-VAE-Unsup + init",
                    semisup_config(preset, "scnn", 0, init=True, kl_y_floor=preset.kl_y_floor),
                    init_from="table2/lstm_lm", evaluation="qy_clustering", group={"model": "scnn_vae_unsup_init"}))
    fig3 = _base_config(preset)
    fig3["model"] = dict(model_config(preset, "scnn", latent=True), latent_dim=2, init_encoder_from="???")
    runs.append(Run("fig3/scnn_vae_init_2d", "fig3", "Fig. 3: SCNN-VAE + init with a 2-D z, test posterior means",
                    fig3, init_from="table2/lstm_lm", evaluation="latent_2d", options={"split": "test"}))
    return runs


BUILDERS = {"2": table2_runs, "3": table3_runs, "4": table4_runs, "5": table5_runs}


def build_grid(preset: Preset, tables: List[str]) -> List[Run]:
    """All runs of the requested tables, every run after the runs of the grid it needs."""
    unknown = [t for t in tables if t not in BUILDERS]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}: available {sorted(BUILDERS)}")
    runs = [run for table in dict.fromkeys(tables) for run in BUILDERS[table](preset)]
    by_name = {run.name: run for run in runs}

    def depth(run: Run) -> int:
        return max((1 + depth(by_name[n]) for n in run.needs if n in by_name), default=0)

    return sorted(runs, key=depth)


def missing_dependencies(runs: List[Run], finished: Callable[[str], bool]) -> List[str]:
    """One message per dependency of ``runs`` that is neither among ``runs`` nor ``finished``."""
    names = {run.name for run in runs}
    problems = []
    for run in runs:
        for need in run.needs:
            if need not in names and not finished(need):
                table = need.split("/")[0].replace("table", "")
                problems.append(f"{run.name} needs {need}, which is neither in this invocation nor finished in the "
                                f"output folder: run it first (scripts/reproduce.py --tables {table} --only {need} "
                                f"with the same --data, --preset and --out) or add {table} to --tables")
    return problems
