package attack

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkRMIA scores N = 50 000 records against Z = 10 000 population records with M = 8 models
// (Privacy Meter's N × Z formulation would compare 5·10⁸ pairs).
func BenchmarkRMIA(b *testing.B) {
	d := makeRMIAData(rand.New(rand.NewPCG(1, 1)), 50000, 10000, 8)
	for _, bc := range []struct {
		name string
		cfg  RMIAConfig
	}{
		{"compat", RMIAConfig{Compat: CompatPrivacyMeter, NumRef: 2, OfflineA: 0.3}},
		{"offline", RMIAConfig{OfflineA: 0.3}},
		{"online", RMIAConfig{Online: true, Gamma: 2}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := RMIA(d, 0, bc.cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
