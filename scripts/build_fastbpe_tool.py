"""Build fastBPE's command-line tool (``learnbpe``/``applybpe``) from its PyPI sdist.

The ``fastBPE`` Python module only applies codes; learning them needs the C++ tool
whose source (``fastBPE/main.cc`` and its header) ships in the same PyPI source distribution.

    python scripts/build_fastbpe_tool.py --version 0.1.0 --out .venv/bin/fastbpe    # what `make` runs
"""
import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", default="0.1.0")
    parser.add_argument("--out", required=True, help="path of the binary to write")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists():
        print(f"fastBPE tool already at {out}")
        return
    if shutil.which("g++") is None:
        sys.exit("error: g++ is needed to build fastBPE's learnbpe tool")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             "-d", tmp, f"fastBPE=={args.version}"],
            check=True,
        )
        sdist = next(Path(tmp).glob("fastBPE-*.tar.gz"))
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp)
        src = next(Path(tmp).glob("fastBPE-*/fastBPE"))
        subprocess.run(
            ["g++", "-std=c++11", "-pthread", "-O3", str(src / "main.cc"), f"-I{src}", "-o", str(out)],
            check=True,
        )
    print(f"built fastBPE tool at {out}")


if __name__ == "__main__":
    main()
