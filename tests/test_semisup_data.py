"""The labelled subset: reproducible, stratified, never a validation/test document; clear errors."""
import shutil
import subprocess

import numpy as np
import pytest

import tiny_corpus
from conftest import BIN, REPO
from user_dir.data.semisupervised import UNLABELLED, labelled_copies, select_labelled


# ---------------------------------------------------------------- pure selection

def test_selection_is_reproducible_and_seed_dependent():
    labels = np.repeat([0, 1, 2], [60, 30, 10])
    a = select_labelled(labels, 10, seed=3)
    assert np.array_equal(a, select_labelled(labels, 10, seed=3))
    assert not np.array_equal(a, select_labelled(labels, 10, seed=4))
    assert len(np.unique(a)) == 10


def test_stratified_quotas_follow_the_class_frequencies():
    labels = np.repeat([0, 1, 2], [60, 30, 10])
    for seed in range(5):
        chosen = select_labelled(labels, 10, seed=seed, stratified=True)
        assert np.bincount(labels[chosen], minlength=3).tolist() == [6, 3, 1]
    chosen = select_labelled(labels, 7, seed=0, stratified=True)  # 4.2, 2.1, 0.7 -> largest remainders
    assert np.bincount(labels[chosen], minlength=3).tolist() == [4, 2, 1]


def test_uniform_selection_and_candidates():
    labels = np.repeat([0, 1], [50, 50])
    candidates = np.arange(0, 100, 2)
    chosen = select_labelled(labels, 20, seed=0, stratified=False, candidates=candidates)
    assert len(chosen) == 20 and set(chosen) <= set(candidates)
    assert select_labelled(labels, 0, seed=0).size == 0
    with pytest.raises(ValueError, match="larger than the 50 training documents that can be labelled"):
        select_labelled(labels, 51, seed=0, candidates=candidates)
    with pytest.raises(ValueError, match="must be >= 0"):
        select_labelled(labels, -1, seed=0)


def test_labelled_copies():
    assert labelled_copies(100, 7066, 0.1) == 8  # ~10 % of the epoch
    assert labelled_copies(20, 76, 0.1) == 1
    assert labelled_copies(20, 76, 0.0) == 1
    assert labelled_copies(0, 76, 0.5) == 0
    with pytest.raises(ValueError):
        labelled_copies(10, 10, 1.0)


# ---------------------------------------------------------------- through the task

def preprocess(pref_args, dest):
    cmd = [str(BIN / "fairseq-preprocess"), "--only-source", "--workers", "1", *map(str, pref_args),
           "--destdir", str(dest)]
    subprocess.run(cmd, check=True, capture_output=True)


def binarize(lines, dictionary_path, prefix):
    """One extra split with an existing dictionary, in-process (what fairseq-preprocess --srcdict writes)."""
    from fairseq.data import Dictionary, indexed_dataset

    dictionary = Dictionary.load(str(dictionary_path))
    builder = indexed_dataset.make_builder(f"{prefix}.bin", impl="mmap", vocab_size=len(dictionary))
    for line in lines:
        builder.add_item(dictionary.encode_line(line, add_if_not_exist=False, append_eos=True).long())
    builder.finalize(f"{prefix}.idx")


@pytest.fixture(scope="module")
def dup_data(tmp_path_factory):
    """Tiny corpus whose train split repeats 5 validation and 3 test documents verbatim, plus a separate
    labelled split 'lab' (clean) and 'labdup' (holding one validation document)."""
    root = tmp_path_factory.mktemp("dup")
    raw = root / "raw"
    raw.mkdir()
    splits = {}
    for seed, (split, n) in enumerate((("train", 96), ("valid", 24), ("test", 24), ("lab", 10))):
        splits[split] = tiny_corpus.make_documents(n, seed + 10)
    train_docs, train_labels = splits["train"]
    for i in range(5):
        train_docs[i], train_labels[i] = splits["valid"][0][i], splits["valid"][1][i]
    for i in range(3):
        train_docs[5 + i], train_labels[5 + i] = splits["test"][0][i], splits["test"][1][i]
    splits["labdup"] = (splits["lab"][0][:-1] + [splits["valid"][0][7]], splits["lab"][1][:-1] + [splits["valid"][1][7]])
    for split in ("train", "valid", "test"):
        docs, labels = splits[split]
        (raw / f"{split}.txt").write_text("\n".join(docs) + "\n")
        (raw / f"{split}.label").write_text("\n".join(labels) + "\n")
    out = root / "data-bin"
    for index, (suffix, dest) in enumerate((("txt", out), ("label", out / "label"))):
        preprocess(["--trainpref", raw / f"train.{suffix}", "--validpref", raw / f"valid.{suffix}",
                    "--testpref", raw / f"test.{suffix}"], dest)
        for extra in ("lab", "labdup"):
            binarize(splits[extra][index], dest / "dict.txt", dest / extra)
    return out, {split: docs for split, (docs, _) in splits.items()}, {s: lab for s, (_, lab) in splits.items()}


def make_task(data, *extra):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [str(data), "--user-dir", str(REPO / "user_dir"), "--task",
                                                "semisupervised_vae", "--arch", "semisup_vae_scnn", "--criterion",
                                                "semisupervised_elbo", "--cpu", "--batch-size", "8", *map(str, extra)])
    return tasks.setup_task(convert_namespace_to_omegaconf(args).task)


def text_of(task, dataset_item):
    return task.dictionary.string(dataset_item["target"][:-1])


def test_labelled_subset_excludes_held_out_documents_and_hides_labels(dup_data):
    data, texts, labels = dup_data
    task = make_task(data, "--num-labelled", 88, "--labelled-seed", 5, "--labelled-fraction", 0)
    ds = task.load_dataset("train")
    held_out = set(texts["valid"]) | set(texts["test"])
    assert len(task.labelled_ids) == 88  # every train document except the 8 repeated ones
    assert not set(range(8)) & set(task.labelled_ids.tolist())
    labelled_texts = [text_of(task, ds[i]) for i in range(len(ds)) if ds[i]["label"] != UNLABELLED]
    assert len(labelled_texts) == 88 and not set(labelled_texts) & held_out
    names = task.label_names
    for i in range(len(ds)):
        item = ds[i]
        if i < ds.num_unlabelled:
            assert item["label"] == UNLABELLED  # the true label is never handed out
        else:
            doc = ds.labelled_ids[(i - ds.num_unlabelled) % len(ds.labelled_ids)]
            assert names[item["label"]] == labels["train"][doc]
    batch = ds.collater([ds[i] for i in range(len(ds))])
    assert set(batch["label"].tolist()) <= {UNLABELLED, 0, 1}
    with pytest.raises(ValueError, match="larger than the 88 training documents that can be labelled"):
        make_task(data, "--num-labelled", 90).load_dataset("train")
    with pytest.raises(ValueError, match="larger than the training set"):
        make_task(data, "--num-labelled", 97).load_dataset("train")


def test_labelled_subset_is_reproducible(dup_data):
    data = dup_data[0]
    draws = []
    for seed in (1, 1, 2):
        task = make_task(data, "--num-labelled", 20, "--labelled-seed", seed)
        task.load_dataset("train")
        draws.append(task.labelled_ids.tolist())
        counts = np.bincount(task.labelled_targets, minlength=2)
        assert counts.sum() == 20 and abs(counts[0] - counts[1]) <= 8
    assert draws[0] == draws[1] and draws[0] != draws[2]


def test_mixing_upsamples_the_labelled_documents(dup_data):
    task = make_task(dup_data[0], "--num-labelled", 8, "--labelled-fraction", 0.5)
    ds = task.load_dataset("train")
    assert ds.copies == 11  # round(0.5 * 88 / (0.5 * 8))
    assert ds.labelled_fraction == pytest.approx(88 / 176)
    only = make_task(dup_data[0], "--num-labelled", 8, "--train-on-labelled-only").load_dataset("train")
    assert len(only) == 8 and all(only[i]["label"] >= 0 for i in range(8))


def test_unsupervised_and_labelled_split(dup_data):
    data, texts, _ = dup_data
    task = make_task(data, "--num-labelled", 0)
    ds = task.load_dataset("train")
    assert len(task.labelled_ids) == 0 and len(ds) == 96
    assert all(ds[i]["label"] == UNLABELLED for i in range(len(ds)))
    task = make_task(data, "--labelled-split", "lab")
    ds = task.load_dataset("train")
    assert len(task.labelled_ids) == 10 and ds.num_unlabelled == 96
    with pytest.raises(ValueError, match="also occur in a validation/test split"):
        make_task(data, "--labelled-split", "labdup").load_dataset("train")
    with pytest.raises(ValueError, match="validation/test"):
        make_task(data, "--labelled-split", "valid").load_dataset("train")


def test_missing_labels_is_a_clear_error(dup_data, tmp_path):
    data = dup_data[0]
    bare = tmp_path / "nolabels"
    shutil.copytree(data, bare, ignore=shutil.ignore_patterns("label"))
    with pytest.raises(FileNotFoundError, match="semisupervised_vae needs labels"):
        make_task(bare)
    no_train_labels = tmp_path / "notrainlabels"
    shutil.copytree(data, no_train_labels)
    for ext in ("bin", "idx"):
        (no_train_labels / "label" / f"train.{ext}").unlink()
    with pytest.raises(FileNotFoundError, match="needs labels: no binarised labels"):
        make_task(no_train_labels, "--num-labelled", 5).load_dataset("train")


def test_num_classes_ignores_dictionary_padding(dup_data):
    task = make_task(dup_data[0])
    assert task.num_classes == 2 and sorted(task.label_names) == ["sport", "tech"]
