#!/bin/sh
# Theory against evidence in one report: the default Fashion-MNIST MLP (on the subset embedded in pmeter)
# trained without DP-SGD and with DP-SGD at ε = 1 and ε = 8 (the accountant's, RDP, δ = 1e-5), each
# audited by the one-run game with 1,000 mislabelled canaries; then `pmeter dp compare` sets each run's
# claimed ε against the ε lower bounds its audit proved, in a table and a page (OUT/compare.html).
#
#   examples/dp/compare.sh [OUT]        # OUT defaults to pmeter_dp_compare; about a minute on 2 cores
#
# Reruns reuse the trained models (each run directory keeps them).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "${1:-pmeter_dp_compare}"
out=$(cd "${1:-pmeter_dp_compare}" && pwd)
bin="$out/pmeter"
(cd "$root" && go build -o "$bin" ./cmd/pmeter)
for v in nodp eps1 eps8; do
  echo "== $v: $root/examples/dp/$v.yaml"
  "$bin" run --out "$out/$v" "$root/examples/dp/$v.yaml" >"$out/$v.log" 2>&1 || { cat "$out/$v.log"; exit 1; }
  grep -E "^one-run|^DP check|accuracy" "$out/$v.log" || true
done
echo
"$bin" dp compare "$out/nodp" "$out/eps1" "$out/eps8" --out "$out/compare.html" --json "$out/compare.json" --force
