"""The reproduction harness: tiny preset end to end (Tables 2-5, Fig. 2-3), resuming, dependencies
between runs, tables from records, configs in sync."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, cli_env
from user_dir.reproduction.configs import check_overrides, config_path, config_text
from user_dir.reproduction.grid import BUILDERS, build_grid
from user_dir.reproduction.presets import PRESETS
from user_dir.reproduction.tables import table2_markdown, table3_markdown, table4_markdown, table5_markdown

PNG = b"\x89PNG\r\n\x1a\n"


def reproduce(*args, check=True):
    proc = subprocess.run([sys.executable, "scripts/reproduce.py", *map(str, args)], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout
    return proc


def test_tiny_grid_end_to_end_and_resume(tiny_data, tmp_path):
    out = tmp_path / "grid"
    first = reproduce("--data", tiny_data, "--preset", "tiny", "--out", out, "--only", "table2/lstm_lm")
    assert "[run 1/1] table2/lstm_lm: training" in first
    record = out / "table2" / "lstm_lm" / "record.json"
    stamp = record.stat().st_mtime_ns
    # a later invocation reads the recorded table2/lstm_lm (LM-LSTM's encoder init)
    lm_lstm = reproduce("--data", tiny_data, "--preset", "tiny", "--out", out, "--tables", "4", "--only",
                        "table4/lm_lstm_n20")
    assert "[run 1/1] table4/lm_lstm_n20: training (LM-LSTM, N = 20)" in lm_lstm
    assert f"model.init_encoder_from={record.parent.resolve()}/checkpoint_best.pt" in \
        json.loads((out / "table4" / "lm_lstm_n20" / "record.json").read_text())["command"]
    rest = reproduce("--data", tiny_data, "--preset", "tiny", "--out", out, "--tables", "2,3,4,5")
    assert "table2/lstm_lm: done earlier, skipped" in rest and "table4/lm_lstm_n20: done earlier, skipped" in rest
    assert record.stat().st_mtime_ns == stamp, "a finished run was redone"
    for name in ("tables.md", "fig2_nll_decomposition.png", "fig3_latent.png", "training_curves.png"):
        assert (out / name).read_bytes()[:8] == PNG or name == "tables.md", name
    tables = (out / "tables.md").read_text()
    for section in ("## Table 2:", "## Table 3:", "## Table 4:", "## Table 5:"):
        assert section in tables
    for label in ("LSTM-LM", "LSTM-VAE", "LSTM-VAE + init", "SCNN-LM", "SCNN-VAE", "SCNN-VAE + init",
                  "LSTM-VAE-Semi", "LSTM", "LM-LSTM", "SCNN-VAE-Semi", "SCNN-VAE-Semi + init", "LSTM + GMM",
                  "SCNN-VAE + GMM", "SCNN-VAE + init + GMM", "SCNN-VAE-Unsup + init"):
        assert f"| {label} |" in tables, label
    assert "| model | N = 20 |" in tables
    assert "Figures: fig2_nll_decomposition.png, fig3_latent.png, training_curves.png" in tables
    # the exact commands are recorded: training runs and the scripts behind the evaluation-only runs
    assert "model.init_encoder_from=" in tables
    assert "scripts/gmm_baseline.py --data" in tables and "scripts/plot_latent.py --path" in tables
    fig3 = json.loads((out / "fig3" / "scnn_vae_init_2d" / "record.json").read_text())
    points = json.loads((out / "fig3" / "scnn_vae_init_2d" / fig3["files"]["points"]).read_text())
    assert len(points["points"]) == len(points["labels"]) == 24 and points["names"] == ["tech", "sport"]
    assert fig3["metrics"]["latent_dim"] == 2 and "PCA" not in points["title"]  # trained 2-D z, as the paper
    semi = json.loads((out / "table3" / "lstm_semi" / "record.json").read_text())
    assert semi["config"]["checkpoint"]["best_checkpoint_metric"] == "accuracy"
    assert {"accuracy", "nll", "kl", "ppl"} <= set(semi["metrics"]) and semi["metrics"]["documents"] == 24
    # tables and figures are regenerated from the records alone
    for name in ("tables.md", "fig2_nll_decomposition.png", "fig3_latent.png", "training_curves.png"):
        (out / name).unlink()
    reproduce("--out", out, "--report-only")
    assert (out / "tables.md").read_text() == tables
    assert (out / "fig3_latent.png").read_bytes()[:8] == PNG and (out / "fig2_nll_decomposition.png").exists()
    # a record whose data file was not copied along gets a clear error, not a traceback
    (out / "fig3" / "scnn_vae_init_2d" / fig3["files"]["points"]).unlink()
    proc = reproduce("--out", out, "--report-only", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"error: {out / 'fig3' / 'scnn_vae_init_2d' / 'latent_2d.json'}: missing;" in proc.stderr


def test_missing_dependency_names_the_run_to_do_first(tiny_data, tmp_path):
    proc = reproduce("--data", tiny_data, "--preset", "tiny", "--out", tmp_path / "grid", "--tables", "4",
                     check=False)
    assert proc.returncode != 0
    assert ("error: table4/lm_lstm_n20 needs table2/lstm_lm, which is neither in this invocation nor finished in "
            "the output folder: run it first (scripts/reproduce.py --tables 2 --only table2/lstm_lm") in proc.stderr
    assert not (tmp_path / "grid" / "table4").exists(), "nothing may run before the check"


def test_table2_markdown_from_hand_made_records():
    def rec(label, decoder, kind, nll, kl, ppl, iw=None, mi=None, au=None):
        metrics = {"nll": nll, "kl": kl, "ppl": ppl, "iw_nll": iw, "iw_samples": 500 if iw else 0, "mi": mi,
                   "active_units": au, "latent_dim": 32}
        return {"table": "2", "label": label, "group": {"decoder": decoder, "kind": kind}, "metrics": metrics,
                "updates": 100}

    records = [rec("SCNN-VAE", "SCNN", "vae", 337.8, 13.3, 68.7, 336.1, 5.25, 12),
               rec("LSTM-LM", "LSTM", "lm", 334.9, 0.0, 66.2)]
    assert table2_markdown(records) == (
        "| model | NLL (KL) | PPL | IW-NLL | MI | AU | updates |\n"
        "|---|---|---|---|---|---|---|\n"
        "| LSTM-LM | 334.90 (0.00) | 66.20 | – | – | – | 100 |\n"
        "| SCNN-VAE | 337.80 (13.30) | 68.70 | 336.10 | 5.25 | 12/32 | 100 |\n"
    )


def test_table3_markdown_from_hand_made_records():
    def rec(label, decoder, acc, nll, kl, ppl):
        return {"table": "3", "label": label, "group": {"decoder": decoder, "num_labelled": 500}, "updates": 100,
                "metrics": {"accuracy": acc, "nll": nll, "kl": kl, "ppl": ppl}}

    records = [rec("SCNN-VAE-Semi", "SCNN", 65.5, 335.7, 10.4, 67.1),
               rec("LSTM-VAE-Semi", "LSTM", 51.9, 345.5, 9.3, 75.0)]
    assert table3_markdown(records) == (
        "| model | ACCU | NLL (KL) | PPL | updates |\n"
        "|---|---|---|---|---|\n"
        "| LSTM-VAE-Semi | 51.90 | 345.50 (9.30) | 75.00 | 100 |\n"
        "| SCNN-VAE-Semi | 65.50 | 335.70 (10.40) | 67.10 | 100 |\n"
    )


def test_table4_markdown_from_hand_made_records():
    def rec(model, n, acc):
        return {"table": "4", "label": f"{model}, N = {n}", "group": {"model": model, "num_labelled": n},
                "metrics": {"accuracy": acc}}

    records = [rec("scnn_semi", 500, 65.6), rec("lstm", 100, 10.7), rec("lstm", 500, 11.9), rec("scnn_semi", 100, 55.4),
               rec("lm_lstm", 500, 61.3)]
    assert table4_markdown(records) == (
        "| model | N = 100 | N = 500 |\n"
        "|---|---|---|\n"
        "| LSTM | 10.70 | 11.90 |\n"
        "| LM-LSTM | – | 61.30 |\n"
        "| SCNN-VAE-Semi | 55.40 | 65.60 |\n"
    )


def test_table5_markdown_from_hand_made_records():
    records = [
        {"table": "5", "label": "SCNN-VAE-Unsup + init", "group": {"model": "scnn_vae_unsup_init"},
         "metrics": {"accuracy": 59.9, "valid_accuracy": 60.25}},
        {"table": "5", "label": "LSTM + GMM", "group": {"model": "lstm_lm_gmm"},
         "metrics": {"accuracy": 25.8, "valid_accuracy": 26.0, "pca_dim": 16, "majority_accuracy": 30.5,
                     "majority_valid_accuracy": 31.0, "majority_pca_dim": 8}},
        {"table": "fig3", "label": "Fig. 3", "group": {}, "metrics": {}},
    ]
    assert table5_markdown(records) == (
        "| model | ACCU | valid ACCU | PCA dim | ACCU, majority naming | valid | PCA dim |\n"
        "|---|---|---|---|---|---|---|\n"
        "| LSTM + GMM | 25.80 | 26.00 | 16 | 30.50 | 31.00 | 8 |\n"
        "| SCNN-VAE-Unsup + init | 59.90 | 60.25 | – | – | – | – |\n"
    )


def test_committed_configs_match_the_grid():
    for name, preset in PRESETS.items():
        expected = set()
        for run in build_grid(preset, list(BUILDERS)):
            if not run.trains:
                continue
            path = config_path(REPO / "examples" / "configs", name, run)
            assert path.exists(), f"{path} missing: run scripts/reproduce.py --preset {name} --write-configs"
            assert path.read_text() == config_text(run, name), f"{path} is out of date"
            expected.add(path.name)
        committed = {p.name for p in (REPO / "examples" / "configs" / name).glob("*.yaml")}
        assert committed == expected, f"configs of no run in examples/configs/{name}: {sorted(committed - expected)}"


def test_grid_of_tables_3_to_5_and_its_dependencies():
    grid = build_grid(PRESETS["cpu"], ["2", "3", "4", "5"])
    position = {run.name: i for i, run in enumerate(grid)}
    for run in grid:
        assert all(position[need] < position[run.name] for need in run.needs), run.name
    tables = [run.table for run in grid]
    assert (tables.count("3"), tables.count("4"), tables.count("5"), tables.count("fig3")) == (4, 16, 4, 1)
    by_name = {run.name: run for run in grid}
    assert by_name["table4/lm_lstm_n100"].init_from == "table2/lstm_lm"
    assert by_name["table5/scnn_vae_gmm"].config is None and by_name["table5/scnn_vae_gmm"].reads == "table2/scnn_vae"
    unsup = by_name["table5/scnn_vae_unsup_init"].config
    assert unsup["task"]["num_labelled"] == 0 and unsup["criterion"]["kl_y_floor"] == 1.0
    assert unsup["checkpoint"]["best_checkpoint_metric"] == "cluster_acc"
    assert unsup["checkpoint"]["maximize_best_checkpoint_metric"] is True
    for name in ("table3/scnn_semi", "table4/lstm_n2000", "table4/scnn_semi_init_n500"):
        assert by_name[name].config["checkpoint"]["maximize_best_checkpoint_metric"] is True
    # a table alone builds (its dependencies are checked when it runs)
    assert [run.table for run in build_grid(PRESETS["tiny"], ["4"])] == ["4"] * 4


def test_converge_classifiers_and_semisupervised_vaes_validate_by_updates():
    by_name = {run.name: run for run in build_grid(PRESETS["converge"], ["4"])}
    for name in ("table4/lstm_n100", "table4/lm_lstm_n2000"):
        cfg = by_name[name].config
        every = cfg["dataset"]["validate_interval_updates"]
        assert every > 0 and cfg["dataset"]["validate_interval"] > cfg["optimization"]["max_update"]
        # checkpoint_best is written only when fairseq saves: it must save at every validation
        assert cfg["checkpoint"]["save_interval_updates"] == every
        assert cfg["optimization"]["max_epoch"] == 0 and cfg["optimization"]["max_update"] >= 100 * every
    # the semi-supervised VAEs see the whole corpus per epoch and keep the epoch-level schedule, but are
    # validated (and saved) as often as the classifiers they are compared with
    for name in ("table4/scnn_semi_n100", "table4/scnn_semi_init_n500"):
        semi = by_name[name].config
        assert semi["optimization"]["max_epoch"] == 30
        assert semi["dataset"]["validate_interval_updates"] == semi["checkpoint"]["save_interval_updates"] == every
    # unsupervised clustering is selected by its validation cluster accuracy, validated and saved together
    unsup = {run.name: run for run in build_grid(PRESETS["converge"], ["5"])}["table5/scnn_vae_unsup_init"].config
    every = unsup["dataset"]["validate_interval_updates"]
    assert every > 0 and unsup["checkpoint"]["save_interval_updates"] == every
    assert unsup["checkpoint"]["best_checkpoint_metric"] == "cluster_acc"


def test_grid_has_the_papers_table2_rows():
    labels = [run.label for run in build_grid(PRESETS["cpu"], ["2"])]
    assert len(labels) == 15
    assert {"LSTM-LM", "LSTM-VAE", "LSTM-VAE + init", "VLCNN-VAE + init"} <= set(labels)
    assert all(Path(run.config_name).name == run.config_name for run in build_grid(PRESETS["cpu"], ["2"]))


def test_seed_table_and_claims_judged_against_the_spread():
    from user_dir.reproduction.tables import across_seeds, compare_runs, seed_table_markdown

    def rec(name, seed, nll, kl=0.0, au=None):
        return {"name": name, "label": name.upper(), "seed": seed,
                "metrics": {"nll": nll, "kl": kl, "iw_nll": None, "mi": None, "active_units": au}}

    seeds = [[rec("lm", 1, 410.0), rec("vae", 1, 407.0, 3.0, 5), rec("close", 1, 409.5)],
             [rec("lm", 2, 411.0), rec("vae", 2, 408.0, 2.0, 7), rec("close", 2, 411.5)]]
    stats = across_seeds(seeds)
    assert stats["vae"]["nll"] == {"mean": 407.5, "spread": 1.0, "n": 2}
    assert compare_runs(stats, "vae", "lm") == {"difference": 3.0, "spread": 1.0, "holds": True}
    # 410.5 vs 410.5: no difference; and a difference inside the spread does not hold either
    assert not compare_runs(stats, "close", "lm")["holds"]
    assert not compare_runs(across_seeds(seeds[:1]), "vae", "lm")["holds"], "one seed never makes a claim"
    table = seed_table_markdown(seeds)
    assert "| VAE | 1, 2 | 407.50 ± 0.50 | 2.50 ± 0.50 | – | – | 6.00 ± 1.00 | – | – |" in table
    # accuracies (of either naming) are better when higher
    acc = across_seeds([[{"name": n, "label": n, "seed": s, "metrics": {"majority_accuracy": a}}
                         for n, a in (("vae", 30.0 + s), ("gmm", 20.0 - s))] for s in (1, 2)])
    assert compare_runs(acc, "vae", "gmm", "majority_accuracy") == {"difference": 13.0, "spread": 1.0, "holds": True}
    # a metric that only some of a run's records have says over how many seeds it is
    seeds[1][0]["metrics"]["kl"] = None
    assert "| LM | 1, 2 | 410.50 ± 0.50 | 0.00 ± 0.00 (n = 1) |" in seed_table_markdown(seeds)


def test_a_finished_training_is_not_resumed(tmp_path):
    """An interrupted evaluation must not restart training (fairseq would reset its patience count)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("reproduce_script", REPO / "scripts" / "reproduce.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    log = tmp_path / "fairseq.log"
    assert not script.training_finished(log)
    log.write_text("$ fairseq-hydra-train a\n[x][fairseq_cli.train][INFO] - done training in 9.5 seconds\n")
    assert script.training_finished(log)
    log.write_text(log.read_text() + "$ fairseq-hydra-train a\nepoch 001\n")  # a later, interrupted call
    assert not script.training_finished(log)


def test_export_keeps_records_and_epoch_metrics_only(tmp_path):
    from user_dir.reproduction.records import export_records, read_records, training_log_of, write_record

    out, dest = tmp_path / "runs", tmp_path / "results"
    log = out / "table2" / "scnn_vae" / "train.log"
    log.parent.mkdir(parents=True)
    valid = '{"epoch": 1, "valid_loss": "5", "valid_nll": "5", "valid_kl": "1", "valid_au": "3", "valid_num_updates": "9"}'
    inner = '{"epoch": 1, "update": 0.5, "loss": "7", "train_wall": "3", "num_updates": "5"}'
    log.write_text("\n".join([inner, valid, valid, "checkpoint saved"]) + "\n")
    (log.parent / "checkpoint_best.pt").write_bytes(b"x")
    command = (f"{tmp_path}/.venv/bin/fairseq-hydra-train --config-dir {tmp_path}/repo/examples/configs/converge "
               f"checkpoint.save_dir={out}/table2/scnn_vae")
    write_record(out, "table2/scnn_vae", {"name": "table2/scnn_vae", "status": "done", "train_log": str(log),
                                          "command": command})
    export_records(out, dest)
    exported = dest / "table2" / "scnn_vae"
    assert sorted(p.name for p in exported.iterdir()) == ["record.json", "train.log"]
    # no machine paths in what is committed: the command runs from the repository root
    assert str(tmp_path) not in (exported / "record.json").read_text()
    assert read_records(dest)[0]["command"] == ("fairseq-hydra-train --config-dir examples/configs/converge "
                                                "checkpoint.save_dir=runs/table2/scnn_vae")
    assert (exported / "train.log").read_text() == valid + "\n"
    log.unlink()
    assert training_log_of(dest, read_records(dest)[0]) == exported / "train.log"


def write_validations(log, validations, updates_per_epoch):
    """A fairseq JSON log with one validation line per dict of ``validations`` (keys without "valid_")."""
    log.parent.mkdir(parents=True)
    lines = [json.dumps({"epoch": e, "valid_loss": "1", **{f"valid_{k}": str(v) for k, v in fields.items()},
                         "valid_num_updates": str(updates_per_epoch * e)})
             for e, fields in enumerate(validations, start=1)]
    log.write_text("\n".join(lines) + "\n")


def test_validation_table_reports_the_best_bound_and_when_training_stopped(tmp_path):
    from user_dir.reproduction.tables import validation_markdown

    write_validations(tmp_path / "table2" / "scnn_vae" / "train.log",
                      [dict(nll=n, kl=k, au=a, mi_ub=0.5) for n, k, a in ((420, 3.0, 4), (410.5, 2.5, 3), (411, 2.0, 3))],
                      updates_per_epoch=250)
    table = validation_markdown([{"name": "table2/scnn_vae", "label": "SCNN-VAE", "train_log": "gone"}], tmp_path)
    assert "| SCNN-VAE | 410.50 (2.50) | 3 | 0.50 | – | 500 | 750 |" in table


def test_validation_table_follows_the_checkpoint_metric_of_accuracy_selected_runs(tmp_path):
    """A semi-supervised VAE keeps its best validation accuracy, not its best bound, and logs kl_z."""
    from user_dir.reproduction.tables import validation_markdown

    write_validations(tmp_path / "table4" / "scnn_semi_n100" / "train.log",
                      [dict(nll=n, kl_z=k, accuracy=a) for n, k, a in ((440, 1.5, 39.4), (435, 1.2, 32.3), (432, 1.1, 13.1))],
                      updates_per_epoch=100)
    record = {"name": "table4/scnn_semi_n100", "label": "Semi", "train_log": "gone",
              "config": {"checkpoint": {"best_checkpoint_metric": "accuracy", "maximize_best_checkpoint_metric": True}}}
    assert "| Semi | 440.00 (1.50) | – | – | 39.4 | 100 | 300 |" in validation_markdown([record], tmp_path)


def test_validation_table_gives_unsupervised_runs_no_accuracy(tmp_path):
    """With no labelled documents, argmax q(y|x) against the labels is not a clustering accuracy."""
    from user_dir.reproduction.tables import validation_markdown

    write_validations(tmp_path / "table5" / "scnn_vae_unsup_init" / "train.log",
                      [dict(nll=n, kl_z=1.0, accuracy=6.4) for n in (420, 410)], updates_per_epoch=250)
    record = {"name": "table5/scnn_vae_unsup_init", "label": "Unsup", "train_log": "gone",
              "config": {"task": {"num_labelled": 0}}}
    assert "| Unsup | 410.00 (1.00) | – | – | – | 500 | 500 |" in validation_markdown([record], tmp_path)
    # selected by the majority-named cluster accuracy: that is the number shown
    write_validations(tmp_path / "b" / "table5" / "scnn_vae_unsup_init" / "train.log",
                      [dict(nll=n, kl_z=1.0, accuracy=6.4, cluster_acc=c) for n, c in ((420, 31.5), (410, 30.0))],
                      updates_per_epoch=250)
    record["config"]["checkpoint"] = {"best_checkpoint_metric": "cluster_acc", "maximize_best_checkpoint_metric": True}
    assert "| Unsup | 420.00 (1.00) | – | – | 31.5 (majority-named) | 250 | 500 |" in validation_markdown(
        [record], tmp_path / "b")


def test_overrides_that_validate_between_saves_are_refused():
    """A validation fairseq never saves would show in the validation table but not in checkpoint_best.pt."""
    check_overrides(["criterion.kl_anneal_updates=2400", "+criterion.class_balance=10"])
    check_overrides(["dataset.validate_interval_updates=25", "checkpoint.save_interval_updates=25"])
    with pytest.raises(ValueError, match="checkpoint.save_interval_updates=100"):
        check_overrides(["dataset.validate_interval_updates=100", "checkpoint.patience=5"])
    with pytest.raises(ValueError, match="never tested"):
        check_overrides(["dataset.validate_interval_updates=25", "checkpoint.save_interval_updates=50"])
