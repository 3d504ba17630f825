"""Dilated-CNN text VAEs (Yang et al., ICML 2017) as a fairseq plugin.

A user with their own (e.g. CUDA) torch can ``pip install --no-build-isolation -e .``;
the Makefile does the same in ``.venv`` with pinned versions. The repository's ``user_dir/``
installs as the package ``dilated_cnn_vae`` (a name of its own: ``user_dir`` is what every
fairseq plugin folder may be called); ``[logging]`` adds tensorboard for ``--tensorboard-logdir``.
"""
from setuptools import find_packages, setup

setup(
    name="dilated-cnn-vae",
    version="0.1.0",
    description="Dilated-CNN text VAEs (Yang et al. 2017) for fairseq",
    packages=["dilated_cnn_vae"] + ["dilated_cnn_vae." + p for p in find_packages(where="user_dir")],
    package_dir={"dilated_cnn_vae": "user_dir"},
    python_requires=">=3.8",
    install_requires=[
        "fairseq-fixed==0.12.3.1; python_version >= '3.11'",
        "fairseq==0.12.2; python_version < '3.11'",
        "torch>=2.4",  # user_dir/__init__.py calls torch.serialization.add_safe_globals (torch 2.4)
        "hydra-core>=1.0.7",
        "sacremoses==0.1.1",
        "fastBPE==0.1.0",
        "numpy>=1.21,<2",
        "scikit-learn>=1.3",
        "matplotlib>=3.7",
    ],
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6"], "logging": ["tensorboard>=2.10"]},
)
