package accountant

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
)

// TestRDPVectors checks the per-order RDP, log A_α, and both conversions (with their optimal orders)
// against dp_accounting's RdpAccountant on every dp_rdp_* case, with the default and the extra orders.
func TestRDPVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_rdp_") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			qs, sigmas, steps := c.F64(t, "q"), c.F64(t, "sigma"), c.Ints(t, "steps")
			deltas, epsilons := c.F64(t, "target_delta"), c.F64(t, "target_epsilon")
			if got := DefaultOrders(); !slices.Equal(got, c.F64(t, "orders_default")) {
				t.Errorf("DefaultOrders() = %v, want %v", got, c.F64(t, "orders_default"))
			}
			for _, set := range []string{"default", "extra"} {
				orders := c.F64(t, "orders_"+set)
				var rdp, logA, eps, epsOrder, delta, deltaOrder, delta0, delta0Order []float64
				for i := range qs {
					// The fixed rows include q = 0, which Phase rejects; the per-step function follows
					// dp_accounting there (RDP 0).
					step := SubsampledGaussianRDP(qs[i], sigmas[i], orders)
					total := make([]float64, len(step))
					for k, v := range step {
						total[k] = float64(steps[i]) * v
						logA = append(logA, total[k]*(orders[k]-1)/float64(steps[i]))
					}
					rdp = append(rdp, total...)
					if qs[i] > 0 {
						acc, err := NewRDP(orders, Phase{qs[i], sigmas[i], int(steps[i])})
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(acc.Values(), total) {
							t.Errorf("row %d: NewRDP differs from steps × SubsampledGaussianRDP", i)
						}
					}
					for _, d := range deltas {
						e, o, err := EpsilonFromRDP(orders, total, -math.Expm1(math.Log1p(-d)))
						if err != nil {
							t.Fatal(err)
						}
						eps, epsOrder = append(eps, e), append(epsOrder, o)
					}
					for _, e := range epsilons {
						d, o, err := DeltaFromRDP(orders, total, e)
						if err != nil {
							t.Fatal(err)
						}
						delta, deltaOrder = append(delta, d), append(deltaOrder, o)
					}
					d, o, err := DeltaFromRDP(orders, total, 0)
					if err != nil {
						t.Fatal(err)
					}
					delta0, delta0Order = append(delta0, d), append(delta0Order, o)
				}
				n := len(qs)
				c.Check(t, "rdp_"+set, rdp, n, len(orders))
				c.Check(t, "log_a_"+set, logA, n, len(orders))
				c.Check(t, "eps_"+set, eps, n, len(deltas))
				c.Check(t, "eps_order_"+set, epsOrder, n, len(deltas))
				c.Check(t, "delta_"+set, delta, n, len(epsilons))
				c.Check(t, "delta_order_"+set, deltaOrder, n, len(epsilons))
				c.Check(t, "delta0_"+set, delta0, n)
				c.Check(t, "delta0_order_"+set, delta0Order, n)
			}
		})
	}
}

// TestCompositionVectors checks two composed DP-SGD phases against dp_accounting's RdpAccountant and
// PLDAccountant on every dp_composition* case.
func TestCompositionVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_composition") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			pq, ps, pt := c.F64(t, "phase_q"), c.F64(t, "phase_sigma"), c.Ints(t, "phase_steps")
			deltas, epsilons := c.F64(t, "target_delta"), c.F64(t, "target_epsilon")
			orders := c.F64(t, "orders")
			n := len(pq) / 2
			var rdp, rdpEps, rdpEpsOrder, rdpDelta, rdpDeltaOrder, pldEps, pldDelta []float64
			for i := range n {
				phases := []Phase{{pq[2*i], ps[2*i], int(pt[2*i])}, {pq[2*i+1], ps[2*i+1], int(pt[2*i+1])}}
				r, err := NewRDP(orders, phases...)
				if err != nil {
					t.Fatal(err)
				}
				rdp = append(rdp, r.Values()...)
				for _, d := range deltas {
					e, o, err := r.Epsilon(d)
					if err != nil {
						t.Fatal(err)
					}
					rdpEps, rdpEpsOrder = append(rdpEps, e), append(rdpEpsOrder, o)
				}
				for _, e := range epsilons {
					d, o, err := r.Delta(e)
					if err != nil {
						t.Fatal(err)
					}
					rdpDelta, rdpDeltaOrder = append(rdpDelta, d), append(rdpDeltaOrder, o)
				}
				p, err := NewPLD(context.Background(), c.Float(t, "pld_value_discretization_interval"), phases...)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range deltas {
					e, err := p.Epsilon(d)
					if err != nil {
						t.Fatal(err)
					}
					pldEps = append(pldEps, e)
				}
				for _, e := range epsilons {
					d, err := p.Delta(e)
					if err != nil {
						t.Fatal(err)
					}
					pldDelta = append(pldDelta, d)
				}
			}
			c.Check(t, "rdp", rdp, n, len(orders))
			c.Check(t, "rdp_eps", rdpEps, n, len(deltas))
			c.Check(t, "rdp_eps_order", rdpEpsOrder, n, len(deltas))
			c.Check(t, "rdp_delta", rdpDelta, n, len(epsilons))
			c.Check(t, "rdp_delta_order", rdpDeltaOrder, n, len(epsilons))
			c.Check(t, "pld_eps", pldEps, n, len(deltas))
			c.Check(t, "pld_delta", pldDelta, n, len(epsilons))
		})
	}
}

// TestPLDVectors checks the PLD accountant against dp_accounting's PLDAccountant on every dp_pld_* case:
// ε(δ) and δ(ε) at the default and the finer interval (δ(ε) both point by point and as one curve), and
// the single-step PMFs' grid ranges, masses at +∞ and sparse/dense kind. With -short the finer interval is checked only on the configurations with
// fewer than 2e4 steps (the others take most of the time).
func TestPLDVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_pld_") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			qs, sigmas, steps := c.F64(t, "q"), c.F64(t, "sigma"), c.Ints(t, "steps")
			intervals := c.F64(t, "value_discretization_interval")
			deltas, small := c.F64(t, "target_delta"), c.F64(t, "target_delta_small")
			epsilons, tail := c.F64(t, "target_epsilon"), c.F64(t, "target_epsilon_tail")
			n := len(qs)
			var eps, epsSmall, delta, deltaTail, infMass []float64
			var curve, curveTail []float64 // the same δ(ε) by the one-pass rawCurve
			var rng []int64
			var dense []bool
			skipped := map[int]bool{}
			for k, d := range intervals {
				for i := range qs {
					for _, add := range []bool{false, true} {
						step, err := gaussianStepPMF(context.Background(), sigmas[i], qs[i], add && qs[i] < 1, d)
						if err != nil {
							t.Fatal(err)
						}
						rng = append(rng, int64(step.lower), int64(step.lower+len(step.probs)-1))
						infMass = append(infMass, step.inf)
						dense = append(dense, !step.sparse)
					}
					if k > 0 && testing.Short() && steps[i] >= 20000 {
						skipped[len(eps)] = true
						eps = append(eps, make([]float64, len(deltas))...)
						epsSmall = append(epsSmall, make([]float64, len(small))...)
						deltaTail = append(deltaTail, 0, 0)
						curveTail = append(curveTail, 0, 0)
						continue
					}
					p, err := NewPLD(context.Background(), d, Phase{qs[i], sigmas[i], int(steps[i])})
					if err != nil {
						t.Fatal(err)
					}
					for _, list := range []struct {
						in  []float64
						out *[]float64
					}{{deltas, &eps}, {small, &epsSmall}} {
						for _, dl := range list.in {
							e, err := p.Epsilon(dl)
							if err != nil {
								t.Fatal(err)
							}
							*list.out = append(*list.out, e)
						}
					}
					if k == 0 {
						for _, e := range epsilons {
							delta = append(delta, p.rawDelta(e))
						}
						curve = append(curve, p.rawCurve(epsilons)...)
					}
					for j := range 2 {
						deltaTail = append(deltaTail, p.rawDelta(tail[2*i+j]))
					}
					curveTail = append(curveTail, p.rawCurve(tail[2*i:2*i+2])...)
				}
			}
			if len(skipped) > 0 {
				// Copy the expected values into the skipped slots so that Check compares the rest.
				for _, f := range []struct {
					name string
					got  []float64
					per  int
				}{{"eps", eps, len(deltas)}, {"eps_small_delta", epsSmall, len(small)}, {"delta_tail", deltaTail, 2}, {"delta_tail", curveTail, 2}} {
					want := c.F64(t, f.name)
					for start := range skipped {
						row := start / len(deltas)
						copy(f.got[row*f.per:(row+1)*f.per], want[row*f.per:(row+1)*f.per])
					}
				}
				t.Logf("-short: interval %g skipped for the %d configurations with ≥ 2e4 steps", intervals[1], len(skipped))
			}
			c.Check(t, "eps", eps, len(intervals), n, len(deltas))
			c.Check(t, "eps_small_delta", epsSmall, len(intervals), n, len(small))
			c.Check(t, "delta", delta, n, len(epsilons))
			c.Check(t, "delta_tail", deltaTail, len(intervals), n, 2)
			c.Check(t, "delta", curve, n, len(epsilons))
			c.Check(t, "delta_tail", curveTail, len(intervals), n, 2)
			c.CheckInt(t, "step_pmf_loss_index_range", rng)
			c.Check(t, "step_pmf_infinity_mass", infMass, len(intervals), n, 2)
			c.CheckBool(t, "step_pmf_is_dense", dense)
		})
	}
}

// TestCalibrateVectors checks CalibrateNoise against dp_accounting's calibrate_dp_mechanism on every
// dp_calibrate_* case: RDP with the searched and an explicit bracket, and PLD; the accountant's ε is
// compared at the stored σ.
func TestCalibrateVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_calibrate_") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			eps, deltas := c.F64(t, "target_epsilon"), c.F64(t, "target_delta")
			qs, steps := c.F64(t, "q"), c.Ints(t, "steps")
			explicit := c.Params["rdp_explicit"].(map[string]any)
			br := explicit["bracket_interval"].(map[string]any)["ExplicitBracketInterval"].([]any)
			for _, v := range []struct {
				prefix  string
				opts    Options
				bracket [2]float64
				tol     float64
			}{
				{"rdp", Options{Kind: KindRDP}, [2]float64{}, 0},
				{"rdp_explicit", Options{Kind: KindRDP}, [2]float64{br[0].(float64), br[1].(float64)}, explicit["tol"].(float64)},
				{"pld", Options{Kind: KindPLD, PLDInterval: 1e-4}, [2]float64{}, 0},
			} {
				var sigma, bracket, xtol, epsAt []float64
				var bisected []bool
				stored := c.F64(t, v.prefix+"_sigma")
				for i := range qs {
					cal, err := CalibrateNoise(context.Background(), Target{
						Epsilon: eps[i], Delta: deltas[i], SamplingRate: qs[i], Steps: int(steps[i]),
						Bracket: v.bracket, Tol: v.tol,
					}, v.opts)
					if err != nil {
						t.Fatalf("%s row %d: %v", v.prefix, i, err)
					}
					if cal.Guarantee.Epsilon > eps[i] {
						t.Errorf("%s row %d: ε %v at σ %v exceeds the target %v", v.prefix, i, cal.Guarantee.Epsilon, cal.NoiseMultiplier, eps[i])
					}
					sigma = append(sigma, cal.NoiseMultiplier)
					bracket = append(bracket, cal.Bracket[:]...)
					xtol = append(xtol, cal.Tol)
					bisected = append(bisected, cal.Bisected)
					g, err := v.opts.Epsilon(context.Background(), deltas[i], Phase{qs[i], stored[i], int(steps[i])})
					if err != nil {
						t.Fatal(err)
					}
					epsAt = append(epsAt, g.Epsilon)
				}
				c.Check(t, v.prefix+"_sigma", sigma, len(qs))
				c.Check(t, v.prefix+"_bracket", bracket, len(qs), 2)
				c.Check(t, v.prefix+"_xtol", xtol, len(qs))
				c.CheckBool(t, v.prefix+"_used_bisect_fallback", bisected)
				c.Check(t, v.prefix+"_eps_at_sigma", epsAt, len(qs))
			}
		})
	}
}
