#!/usr/bin/env bash
# Soundness of the DP audits on mechanisms whose privacy is known exactly: randomized response (ε = 1, 4)
# and the Gaussian mechanism (σ = 1, 0.5), simulated as m = 1,000, 10,000 and 100,000 canaries each
# included with probability ½, N seeds each (default 200), plus a broken Gaussian (σ = 1 claiming σ = 2).
# Every audit (one-run Steinke, f-DP Gaussian and f-DP (ε, δ) with fixed or selected guesses, holdout, multi-run) must exceed
# the exact ε on no more seeds than α = 0.05 allows (binomial tail ≥ 0.001), and the broken mechanism
# must be flagged on most seeds. It prints the README's table (about 7 minutes on 2 cores at 200 seeds).
# `go test ./metric` (and so CI) runs a reduced version: 40 seeds, m = 1,000 and 10,000.
#   scripts/dp-soundness.sh 500
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test ./metric -run '^TestAuditSoundness$' -count=1 -v -timeout 120m -dp-seeds "${1:-200}"
