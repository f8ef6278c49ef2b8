#!/usr/bin/env bash
# Measures kordon scan and kube-score on the same generated clusters, in the
# same run, and prints each one's wall time, CPU time (user + sys) and peak
# RSS, and the CPU ratio kordon / kube-score. docs/benchmarks.md quotes it.
#
#   hack/scan-vs-kube-score.sh                 # 10,000, 30,000 and 100,000 objects, once each
#   hack/scan-vs-kube-score.sh 10000 3         # 10,000 objects, three runs
#
# kube-score is installed from the Go module proxy into a temporary GOBIN
# (never into the repository); KUBE_SCORE=path uses another binary. The
# generated YAML is kept under ${TMPDIR:-/tmp}/kordon-bench. Needs GNU time
# (/usr/bin/time).
set -euo pipefail

sizes=${1:-"10000 30000 100000"}
runs=${2:-1}
kube_score_version=v1.20.0
timeout=${TIMEOUT:-1200}

root=$(cd "$(dirname "$0")/.." && pwd)
work=${TMPDIR:-/tmp}/kordon-bench
mkdir -p "$work"

(cd "$root" && go build -o "$work/kordon" ./cmd/kordon)
kube_score=${KUBE_SCORE:-$work/bin/kube-score}
if [[ ! -x $kube_score ]]; then
  GOFLAGS= GOBIN="$work/bin" go install "github.com/zegl/kube-score/cmd/kube-score@$kube_score_version"
fi

# measure NAME CMD... prints wall and CPU seconds and peak RSS in MiB, and
# sets cpu (empty when the command did not finish in time).
measure() {
  local name=$1 out
  shift
  out=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$out" timeout "$timeout" "$@" >/dev/null 2>&1 || true
  cpu=
  if grep -q "status 124" "$out"; then
    printf '%-12s did not finish in %ss\n' "$name" "$timeout"
  else
    read -r wall user sys rss < <(tail -1 "$out")
    cpu=$(echo "$user + $sys" | bc)
    printf '%-12s wall %6.1fs  cpu %6.1fs  rss %5d MiB\n' "$name" "$wall" "$cpu" $((rss / 1024))
  fi
  rm -f "$out"
}

for n in $sizes; do
  dir=$work/objects-$n
  if [[ ! -d $dir ]]; then
    (cd "$root" && go run ./hack/gen-objects -n "$n" -o "$dir")
  fi
  for r in $(seq "$runs"); do
    echo "== $n objects, run $r (load average $(cut -d' ' -f1 /proc/loadavg))"
    measure kube-score "$kube_score" score -o json "$dir"/*.yaml
    ks=$cpu
    measure kordon "$work/kordon" scan "$dir" -o json --fail-on none
    if [[ -n $ks && -n $cpu ]]; then
      echo "cpu ratio kordon / kube-score: $(echo "scale=2; $cpu / $ks" | bc)"
    fi
  done
done
