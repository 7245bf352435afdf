package accountant_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pmeter/pmeter/accountant"
)

// DP-SGD with 1 % Poisson sampling, noise multiplier 1.1 and 1,000 steps, accounted with RDP at the
// default orders.
func ExampleNewRDP() {
	rdp, err := accountant.NewRDP(nil, accountant.Phase{SamplingRate: 0.01, NoiseMultiplier: 1.1, Steps: 1000})
	if err != nil {
		log.Fatal(err)
	}
	eps, order, err := rdp.Epsilon(1e-5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ε = %.4f at δ = 1e-5 (order %g)\n", eps, order)
	// Output: ε = 1.7118 at δ = 1e-5 (order 9.6)
}

// The same training run with the tighter PLD accountant, then a second phase composed after it.
func ExampleNewPLD() {
	ctx := context.Background()
	first := accountant.Phase{SamplingRate: 0.01, NoiseMultiplier: 1.1, Steps: 1000}
	pld, err := accountant.NewPLD(ctx, accountant.DefaultPLDInterval, first)
	if err != nil {
		log.Fatal(err)
	}
	eps, err := pld.Epsilon(1e-5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("one phase:  ε = %.4f\n", eps)

	second := accountant.Phase{SamplingRate: 0.02, NoiseMultiplier: 0.9, Steps: 200}
	if pld, err = accountant.NewPLD(ctx, 0, first, second); err != nil {
		log.Fatal(err)
	}
	eps, _ = pld.Epsilon(1e-5)
	fmt.Printf("two phases: ε = %.4f\n", eps)
	// Output:
	// one phase:  ε = 1.5154
	// two phases: ε = 2.7855
}

// The privacy curve δ(ε): an audit that claims a lower bound ε_lb at δ contradicts the accountant when
// δ(ε_lb) < δ, that is when ε_lb exceeds the accountant's ε at δ.
func ExamplePLD_Curve() {
	pld, err := accountant.NewPLD(context.Background(), 0, accountant.Phase{SamplingRate: 0.01, NoiseMultiplier: 1.1, Steps: 1000})
	if err != nil {
		log.Fatal(err)
	}
	epsilons := []float64{0, 0.5, 1, 2}
	deltas, err := pld.Curve(epsilons)
	if err != nil {
		log.Fatal(err)
	}
	for i, e := range epsilons {
		fmt.Printf("δ(%.1f) = %.3g\n", e, deltas[i])
	}
	// Output:
	// δ(0.0) = 0.14
	// δ(0.5) = 0.0182
	// δ(1.0) = 0.000767
	// δ(2.0) = 7.87e-08
}

// The noise multiplier that makes 10,000 steps at 0.4 % sampling (3, 1e-5)-DP.
func ExampleCalibrateNoise() {
	cal, err := accountant.CalibrateNoise(context.Background(), accountant.Target{
		Epsilon: 3, Delta: 1e-5, SamplingRate: 0.004, Steps: 10000,
	}, accountant.Options{Kind: accountant.KindRDP})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("σ = %.4f gives ε = %.4f (order %g)\n", cal.NoiseMultiplier, cal.Guarantee.Epsilon, cal.Guarantee.Order)
	// Output: σ = 0.8952 gives ε = 3.0000 (order 6.8)
}
