#!/usr/bin/env bash
# Privacy report: what a node recovers from the hidden states it sees, and what
# DP noise on those states costs in perplexity.
#
#   scripts/report.sh [--measure] [--build DIR]
#
# Without --measure it renders docs/privacy.svg (and docs/privacy.png) from the
# measured tables docs/privacy_depth.tsv and docs/privacy_eps.tsv; it measures
# first when a table is missing.  --measure (or VEIL_REPORT_MEASURE=1) re-runs
# the sweep with DIR/veil (default build-priv, then build): about 20-30 minutes
# on two busy cores.  `make report` runs this script from any build directory.
#
# Inputs: $VEIL_MODEL_DIR/stories260K.bin + tok512.bin (default ../shared/models),
# the Debian `fortunes` corpus, and a synthetic 15M-shape checkpoint written
# with `veil model synth` (recovery only: random weights model no language).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=""
MEASURE=${VEIL_REPORT_MEASURE:-0}
while [ $# -gt 0 ]; do
  case "$1" in
    --measure) MEASURE=1 ;;
    --build) BUILD=$2; shift ;;
    *) echo "usage: $0 [--measure] [--build DIR]" >&2; exit 2 ;;
  esac
  shift
done
DOCS=$ROOT/docs
DEPTH=$DOCS/privacy_depth.tsv
EPS=$DOCS/privacy_eps.tsv
[ -f "$DEPTH" ] && [ -f "$EPS" ] || MEASURE=1

# ---- measurement ---------------------------------------------------------------
MODELS=${VEIL_MODEL_DIR:-$ROOT/../shared/models}
CORPUS=${VEIL_REPORT_CORPUS:-/usr/share/games/fortunes/fortunes}
TOKENS=${VEIL_REPORT_TOKENS:-96}     # attacked tokens per setting
PPL_TOKENS=${VEIL_REPORT_PPL_TOKENS:-4096}
EPS_GRID=${VEIL_REPORT_EPS:-"1 3 10 30 100 300 1000 10000 1000000"}
EPS_DEPTHS=${VEIL_REPORT_EPS_DEPTHS:-"0 1 3 5"}
DX_GRID=${VEIL_REPORT_DX:-"10 100 1000 10000"}
DEPTHS=${VEIL_REPORT_DEPTHS:-"0 1 2 3 4 5"}
SYN_DEPTHS=${VEIL_REPORT_SYN_DEPTHS:-"0 1 2 3 4 5 6"}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

find_veil() {
  for d in "$BUILD" "$ROOT/build-priv" "$ROOT/build"; do
    [ -n "$d" ] && [ -x "$d/veil" ] && { echo "$d/veil"; return; }
  done
  echo "report: no veil binary; build first or pass --build DIR" >&2
  exit 1
}

# field NAME FILE: the "recovered" column of an attack table row (or -).
field() { awk -v m="$1" '$1 == m { print $3; found = 1 } END { if (!found) print "-" }' "$2"; }
chance() { awk '$1 == "chance" { print $2; found = 1 } END { if (!found) print "-" }' "$1"; }
value() { grep -o "$1=[0-9.e+-]*" "$2" | tail -1 | cut -d= -f2; }

# attack MODEL TOK K [extra args]: run one inversion into $TMP/out.
attack() {
  local model=$1 tok=$2 k=$3
  shift 3
  "$VEIL" attack invert -m "$model" -z "$tok" --corpus "$CORPUS" --max-tokens "$TOKENS" \
    --max-len 48 --threads 1 -k "$k" "$@" >"$TMP/out"
}

# ppl MODEL TOK K [extra]: perplexity at split K into $TMP/ppl (+ accountant on stderr).
ppl() {
  local model=$1 tok=$2 k=$3
  shift 3
  "$VEIL" eval ppl -m "$model" -z "$tok" --corpus "$CORPUS" --max-tokens "$PPL_TOKENS" \
    --max-len 64 --threads 1 --split "$k" "$@" >"$TMP/ppl" 2>"$TMP/ppl.err"
}

depth_row() { # model-name K
  local o=$TMP/out
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(field nearest $o)" \
    "$(field logit-lens $o)" "$(field vocab-match $o)" "$(field sorted-vocab-match $o)" \
    "$(field gram-match $o)" "$(field linear $o)" "$(value token_recovery $o)" \
    "$(chance $o)" "$(value norm_median $o)"
}

measure_depth() {
  local s=$MODELS/stories260K.bin z=$MODELS/tok512.bin
  echo -e "model\tK\tnearest\tlogit_lens\tvocab_match\tsorted_match\tgram_match\tlinear\tbest\tchance\tnorm_median" >"$DEPTH.new"
  for k in $DEPTHS; do
    echo "report: stories260K depth $k" >&2
    attack "$s" "$z" "$k" --method all
    depth_row stories260K "$k" >>"$DEPTH.new"
  done
  for k in $SYN_DEPTHS; do
    echo "report: synthetic 15M depth $k" >&2
    # 32000 candidates x 6 layers per position is beyond two cores: below the
    # embedding, vocab matching searches only the union of the top 16 guesses
    # of nearest and of the linear inverter
    local c=0
    [ "$k" -gt 0 ] && c=16
    TOKENS=48 attack "$SYN" "$SYN.tok" "$k" --candidates "$c" --train-tokens 4096 \
      --method nearest,logit-lens,vocab-match,linear
    depth_row synth-15M "$k" >>"$DEPTH.new"
  done
  mv "$DEPTH.new" "$DEPTH"
}

eps_row() { # model mech K clip eps
  local o=$TMP/out p=$TMP/ppl
  local pl="-" pb="-" tight="-"
  if [ -s "$p" ]; then
    pl=$(value ppl_local "$p" || true)
    pb=$(grep '^ppl=' "$p" | cut -d= -f2 || true)
    tight=$(grep -o 'tight (eps=[0-9.e+-]*' "$TMP/ppl.err" | cut -d= -f2 || true)
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" \
    "$(field nearest $o)" "$(field logit-lens $o)" "$(field vocab-match $o)" \
    "$(field linear $o)" "$(value token_recovery $o)" "$(chance $o)" \
    "$pl" "$pb" "${tight:--}"
}

# clip for depth K = median L2 norm of clean states on public text (column 11).
clip_at() { awk -v m="$1" -v k="$2" '$1 == m && $2 == k { print $11 }' "$DEPTH"; }

measure_eps() {
  local s=$MODELS/stories260K.bin z=$MODELS/tok512.bin
  echo -e "model\tmech\tK\tclip\teps\tnearest\tlogit_lens\tvocab_match\tlinear\tbest\tchance\tppl_local\tppl\trequest_eps_tight" >"$EPS.new"
  for k in $EPS_DEPTHS; do
    local c
    c=$(clip_at stories260K "$k")
    for e in $EPS_GRID; do
      echo "report: stories260K K=$k gauss eps=$e clip=$c" >&2
      attack "$s" "$z" "$k" --method nearest,logit-lens,vocab-match,linear --dp-eps "$e" \
        --dp-clip "$c" --dp-seed 7
      ppl "$s" "$z" "$k" --dp-eps "$e" --dp-clip "$c" --dp-seed 7
      eps_row stories260K gauss "$k" "$c" "$e" >>"$EPS.new"
    done
  done
  local c1
  c1=$(clip_at stories260K 1)
  for e in $DX_GRID; do
    echo "report: stories260K K=1 dx eps=$e" >&2
    attack "$s" "$z" 1 --method nearest,logit-lens,vocab-match,linear --dp-eps "$e" \
      --dp-clip "$c1" --dp-mech dx --dp-seed 7
    ppl "$s" "$z" 1 --dp-eps "$e" --dp-clip "$c1" --dp-mech dx --dp-seed 7
    eps_row stories260K dx 1 "$c1" "$e" >>"$EPS.new"
  done
  local c0
  c0=$(clip_at synth-15M 0)
  for e in $EPS_GRID; do
    echo "report: synthetic 15M K=0 gauss eps=$e" >&2
    TOKENS=48 attack "$SYN" "$SYN.tok" 0 --method nearest,vocab-match,linear --dp-eps "$e" \
      --train-tokens 4096 \
      --dp-clip "$c0" --dp-seed 7
    : >"$TMP/ppl"
    eps_row synth-15M gauss 0 "$c0" "$e" >>"$EPS.new"
  done
  mv "$EPS.new" "$EPS"
}

if [ "$MEASURE" = 1 ]; then
  VEIL=$(find_veil)
  [ -f "$MODELS/stories260K.bin" ] || { echo "report: $MODELS/stories260K.bin missing" >&2; exit 1; }
  [ -f "$CORPUS" ] || { echo "report: corpus $CORPUS missing (Debian package fortunes)" >&2; exit 1; }
  SYN=$TMP/synth15M.bin
  "$VEIL" model synth --dim 288 --hidden 768 --layers 6 --heads 6 --kv-heads 6 --vocab 32000 \
    --seq 256 --seed 1 -o "$SYN" >/dev/null
  T0=$(date +%s)
  measure_depth
  measure_eps
  echo "report: measured in $(( $(date +%s) - T0 )) s" >&2
fi

# ---- plot ------------------------------------------------------------------------
command -v gnuplot >/dev/null || { echo "report: gnuplot missing (Debian gnuplot-nox)" >&2; exit 1; }
plot() { # terminal-line output
  gnuplot <<EOF
set terminal $1
set output "$2"
set datafile separator "\t"
set datafile missing "-"
set key autotitle columnhead
set multiplot layout 1,2
set title "Token recovery by observation depth (no noise)"
set xlabel "K: node sees states after layers 0..K-1"
set ylabel "fraction of tokens recovered"
set yrange [0:1.05]
set xrange [-0.2:6.2]
set key below horizontal maxrows 3 box
plot "$DEPTH" using (strcol(1) eq "stories260K" ? \$2 : 1/0):9 with linespoints lw 2 pt 7 title "stories260K best", \
     "" using (strcol(1) eq "stories260K" ? \$2 : 1/0):3 with linespoints dt 2 title "stories260K nearest", \
     "" using (strcol(1) eq "stories260K" ? \$2 : 1/0):8 with linespoints dt 3 title "stories260K linear", \
     "" using (strcol(1) eq "synth-15M" ? \$2 : 1/0):9 with linespoints lw 2 pt 5 title "synthetic 15M best", \
     "" using (strcol(1) eq "synth-15M" ? \$2 : 1/0):3 with linespoints dt 2 pt 5 title "synthetic 15M nearest"
set title "stories260K, Gaussian DP (delta=1e-5, clip=median norm): recovery vs perplexity"
set logscale x
set xrange [*:*]
set xlabel "epsilon per token"
set ylabel "best recovery (solid)"
set y2label "perplexity (dashed, log)"
set logscale y2
set y2tics
set ytics nomirror
set key below horizontal maxrows 3 box
plot for [k in "$EPS_DEPTHS"] "$EPS" using (strcol(1) eq "stories260K" && strcol(2) eq "gauss" && \$3 == k+0 ? \$5 : 1/0):10 with linespoints lw 2 lc (k+1) title "recovery K=".k, \
     for [k in "$EPS_DEPTHS"] "$EPS" using (strcol(1) eq "stories260K" && strcol(2) eq "gauss" && \$3 == k+0 ? \$5 : 1/0):13 axes x1y2 with linespoints dt 2 lc (k+1) title "ppl K=".k, \
     0.01 with lines lc "red" dt 4 title "1% recovered", \
     "$EPS" using (strcol(1) eq "stories260K" && \$3 == 0 ? \$5 : 1/0):11 with lines lc "gray" dt 3 title "most frequent token", \
     "$EPS" using (strcol(1) eq "stories260K" && \$3 == 0 ? \$5 : 1/0):12 axes x1y2 with lines lc "black" dt 3 title "ppl local"
unset multiplot
EOF
}
plot "svg size 1200,560 dynamic font 'sans,11'" "$DOCS/privacy.svg"
if gnuplot -e "set terminal pngcairo" 2>/dev/null; then
  plot "pngcairo size 1200,560 font 'sans,10'" "$DOCS/privacy.png"
else
  plot "png size 1200,560" "$DOCS/privacy.png"
fi
echo "report: wrote $DOCS/privacy.svg and $DOCS/privacy.png" >&2
