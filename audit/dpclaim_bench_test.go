package audit

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pmeter/pmeter/accountant"
)

// BenchmarkClaimCurve times the report's privacy curve with the PLD accountant (DPRecipe.claim: δ at
// curvePoints+2 values of ε) against its earlier form in the same process: δ point by point (PLD.Delta
// at each ε, each a scan of the grid above it) on a PLD of its own. Per σ it reports the
// fastest of b.N runs of each and their ratio; run it with a fixed count, e.g.
//
//	go test -run '^$' -bench ClaimCurve -benchtime 3x ./audit/
//
// "curve" times the δ values alone on one PLD; "run" all the accountant's work of a run with the PLD
// accountant at q = 0.02, T = 500: ε for the config and the report's claim, which built the PLD twice
// and now once (resolveDP keeps the curve for the claim).
func BenchmarkClaimCurve(b *testing.B) {
	ctx := context.Background()
	for _, sigma := range []float64{1, 0.5, 0.3, 0.2} {
		ph := accountant.Phase{SamplingRate: 0.02, NoiseMultiplier: sigma, Steps: 500}
		pld, err := accountant.NewPLD(ctx, 0, ph)
		if err != nil {
			b.Fatal(err)
		}
		eps, err := pld.Epsilon(1e-5)
		if err != nil {
			b.Fatal(err)
		}
		r := &DPRecipe{NoiseMultiplier: sigma, MaxGradNorm: 1, Delta: 1e-5, Epsilon: eps, Accountant: string(accountant.KindPLD),
			Sampling: SamplingPoisson, SamplingRate: ph.SamplingRate, Steps: ph.Steps, MatchesAccountant: true}
		c, err := r.claim(ctx)
		if err != nil {
			b.Fatal(err)
		}
		grid := c.CurveEpsilon
		pointwise := func(p *accountant.PLD) []float64 {
			out := make([]float64, len(grid))
			for i, e := range grid {
				if out[i], err = p.Delta(e); err != nil {
					b.Fatal(err)
				}
			}
			return out
		}
		// The two forms agree to round-off.
		for i, d := range pointwise(pld) {
			if math.Abs(d-c.CurveDelta[i]) > 1e-12*d+1e-17 {
				b.Fatalf("σ = %v: δ(%v) = %v point by point, %v on the curve", sigma, grid[i], d, c.CurveDelta[i])
			}
		}
		report := func(b *testing.B, old, cur time.Duration) {
			b.ReportMetric(old.Seconds(), "old-s")
			b.ReportMetric(cur.Seconds(), "new-s")
			b.ReportMetric(old.Seconds()/cur.Seconds(), "speedup")
		}
		b.Run(fmt.Sprintf("curve/sigma=%g", sigma), func(b *testing.B) {
			old, cur := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
			for b.Loop() {
				t0 := time.Now()
				pointwise(pld)
				old = min(old, time.Since(t0))
				t0 = time.Now()
				if _, err := pld.Curve(grid); err != nil {
					b.Fatal(err)
				}
				cur = min(cur, time.Since(t0))
			}
			report(b, old, cur)
		})
		// The accountant's work in a run: ε for the config (resolveDP), then the report's claim. Before,
		// each built its own PLD and the claim took δ point by point.
		cfg, err := ParseConfig([]byte(fmt.Sprintf("data:\n  dataset: adult\ntrain:\n  epochs: 10\n  batch_size: 100\n"+
			"  dp: {noise_multiplier: %v, max_grad_norm: 1, accountant: pld}\naudit:\n  privacy_game: privacy_loss_model\n", sigma)))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("run/sigma=%g", sigma), func(b *testing.B) {
			old, cur := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
			for b.Loop() {
				t0 := time.Now()
				if _, err := (accountant.Options{Kind: accountant.KindPLD}).Epsilon(ctx, 1e-5, ph); err != nil {
					b.Fatal(err)
				}
				p, err := accountant.NewPLD(ctx, 0, ph)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Epsilon(1e-12); err != nil {
					b.Fatal(err)
				}
				pointwise(p)
				old = min(old, time.Since(t0))
				t0 = time.Now()
				r, err := cfg.resolveDP(ctx, 5000)
				if err != nil {
					b.Fatal(err)
				}
				if r.SamplingRate != ph.SamplingRate || r.Steps != ph.Steps {
					b.Fatalf("recipe q = %v, T = %d; want %v, %d", r.SamplingRate, r.Steps, ph.SamplingRate, ph.Steps)
				}
				if _, err := r.claim(ctx); err != nil {
					b.Fatal(err)
				}
				cur = min(cur, time.Since(t0))
			}
			report(b, old, cur)
		})
	}
}
