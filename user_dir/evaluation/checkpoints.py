"""Loading a plugin checkpoint for the scripts, with errors that say what is wrong."""
import argparse
import os
import zipfile
from pathlib import Path

# as imported (symbolic links kept): fairseq's import_user_module compares it with the package's __path__
USER_DIR = Path(os.path.abspath(__file__)).parent.parent


class CheckpointError(Exception):
    pass


def load_checkpoint(path, data=None, overrides=None):
    """-> (model in eval mode, task) from a fairseq checkpoint of this plugin; ``data``, if given,
    replaces the data folder saved in the checkpoint."""
    from fairseq import checkpoint_utils, utils

    utils.import_user_module(argparse.Namespace(user_dir=str(USER_DIR)))
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if data is not None and not Path(data).is_dir():
        raise CheckpointError(f"{data}: no such data folder")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a complete torch checkpoint (truncated or another kind of file; "
                              f"{path.stat().st_size} bytes)")
    arg_overrides = dict(overrides or {})
    if data is not None:
        arg_overrides["data"] = str(data)
    try:
        models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(path)], arg_overrides=arg_overrides)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: cannot be loaded ({str(exc).splitlines()[0]})") from exc
    return models[0].eval(), task


