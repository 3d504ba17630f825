"""The text_vae task's document dataset: truncation is counted, labels are checked, errors are clear."""
import shutil

import numpy as np

import pytest
import torch
from fairseq.data import Dictionary, data_utils

from user_dir.data import DocumentDataset
from user_dir.tasks.text_vae import TextVAETask, TextVAETaskConfig


def load(tiny_data, split="train"):
    d = Dictionary.load(str(tiny_data / "dict.txt"))
    return d, data_utils.load_indexed_dataset(str(tiny_data / split), d)


def test_truncation_is_counted_and_applied(tiny_data):
    d, docs = load(tiny_data)
    words = docs.sizes - 1
    ds = DocumentDataset(docs, d, max_doc_tokens=10, shuffle=False)
    assert ds.num_truncated == int((words > 10).sum()) > 0
    longest = int(words.argmax())
    item = ds[longest]
    assert item["source"].numel() == 11 and item["target"].numel() == 11
    assert item["source"][0] == d.eos() and item["target"][-1] == d.eos()
    assert torch.equal(item["source"][1:], item["target"][:-1])
    assert ds.size(longest) == 11


def test_label_count_mismatch_is_an_error(tiny_data):
    d, docs = load(tiny_data)
    with pytest.raises(ValueError, match="labels for"):
        DocumentDataset(docs, d, 100, labels=[0] * (len(docs) - 1))


def make_task(data, **overrides):
    cfg = TextVAETaskConfig(data=str(data), seed=1, dataset_impl=None, batch_size=8, batch_size_valid=8,
                            data_buffer_size=10, tpu=False, use_plasma_view=False, plasma_path="", **overrides)
    return TextVAETask.setup_task(cfg)


def test_task_loads_labels_and_reports_missing_splits(tiny_data, tmp_path):
    task = make_task(tiny_data)
    assert task.num_classes == 2 and sorted(task.label_names) == ["sport", "tech"]
    ds = task.load_dataset("valid")
    batch = ds.collater([ds[i] for i in range(4)])
    assert batch["label"].tolist() == [int(x) for x in ds.labels[:4]]
    with pytest.raises(FileNotFoundError, match="no binarised split 'nosuch'"):
        task.load_dataset("nosuch")


def test_task_rejects_a_label_file_of_another_length(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    for ext in ("bin", "idx"):  # the valid labels replaced by the 96 training labels
        shutil.copy(data / "label" / f"train.{ext}", data / "label" / f"valid.{ext}")
    task = make_task(data)
    with pytest.raises(ValueError, match="96 labels for 24 documents"):
        task.load_dataset("valid")


def test_context_window_is_refused(tiny_data):
    task = make_task(tiny_data)
    ds = task.load_dataset("valid")
    with pytest.raises(ValueError, match="context-window"):
        task.eval_lm_dataloader(ds, context_window=5)




def test_score_split_with_max_docs_scores_the_first_documents(tiny_data, dictionary):
    """The batch iterator is length-sorted; max_docs must still mean the first documents of the file."""
    from helpers import build_text_vae
    from user_dir.evaluation.document_bounds import score_split

    task = make_task(tiny_data)
    task.load_dataset("test")
    sizes = np.asarray(task.dataset("test").sizes)
    model = build_text_vae(dictionary)
    result = score_split(model, task, "test", batch_size=4, iw_samples=0, max_docs=7)
    assert result["documents"] == 7
    assert 0 <= result["mi_ub"] <= result["kl"] + 1e-6  # I(x; z) <= E KL(q(z|x) || p(z))
    assert result["tokens"] == int(sizes[:7].sum())  # words + </s> of documents 0..6
    assert int(sizes[:7].sum()) != int(np.sort(sizes)[:7].sum()), "the tiny test split must tell the two apart"
