package llm

import (
	"math"
	"slices"
	"testing"

	"github.com/pmeter/pmeter/attack"
)

// TestSequenceAttacksPopulation: offline, rmia-lm and lira-lm score every sequence: the others as the
// attack package scores them (unchanged by the population's scores), and each population sequence — RMIA:
// as a record against the other population sequences, its count worked out here by hand; LiRA: as a
// record in no shadow LM's training set. Online, the population sequences are NaN.
func TestSequenceAttacksPopulation(t *testing.T) {
	b := synthBundle(48, 5)
	d, records, err := SequenceData(b)
	if err != nil {
		t.Fatal(err)
	}
	pop := populationSequences(b)
	if len(pop) != d.Z || d.Z < 4 {
		t.Fatalf("%d population sequences, d.Z = %d", len(pop), d.Z)
	}
	// first returns the attack package's scores of the other sequences.
	rmia := func(online bool) []float64 {
		cfg := attack.RMIAConfig{Online: online}
		if !online {
			cfg.OfflineA, _, err = attack.TuneOfflineA(d, 0, attack.OfflineAGrid(0.1), cfg)
			if err != nil {
				t.Fatal(err)
			}
		}
		s, err := attack.RMIA(d, 0, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	lira := func(online bool) []float64 {
		s, err := attack.LiRA(d, 0, attack.LiRAConfig{Online: online})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct {
		name   string
		score  func(*Bundle, Params) ([]float64, error)
		first  func(online bool) []float64
		online bool
		// popCheck checks the population's scores (offline).
		popCheck func(t *testing.T, s []float64)
	}{
		{"rmia-lm", RMIALM, rmia, false, func(t *testing.T, s []float64) {
			// score(z)·(Z − 1) lies in [c, c + 1), c the other population sequences whose ratio
			// Pr(z'|target)/Pr(z') is below z's. Pr = (1+a)/2·Pr_OUT + (1−a)/2, Pr_OUT the mean over both
			// shadow LMs for a population record, over its donor's OUT shadow LMs for z as a record.
			a, _, err := attack.TuneOfflineA(d, 0, attack.OfflineAGrid(0.1), attack.RMIAConfig{})
			if err != nil {
				t.Fatal(err)
			}
			pr := func(row []float64, out []int) float64 {
				sum := 0.0
				for _, k := range out {
					sum += row[k]
				}
				return row[0] / ((1+a)/2*(sum/float64(len(out))) + (1-a)/2)
			}
			donors := popDonors(d)
			ratio := make([]float64, d.Z)
			for z := range d.Z {
				ratio[z] = pr(d.Population[z*d.M:(z+1)*d.M], []int{1, 2})
			}
			for j, q := range pop {
				var out []int
				for k := 1; k < d.M; k++ {
					if !d.Members[donors[j]*d.M+k] {
						out = append(out, k)
					}
				}
				if len(out) == 0 {
					continue // attack.RMIA's fallback: the population's mean Pr_OUT
				}
				rz := pr(d.Population[j*d.M:(j+1)*d.M], out)
				c := 0
				for k := range d.Z {
					if k != j && rz/ratio[k] > 1 {
						c++
					}
				}
				if got := s[q] * float64(d.Z-1); !(got >= float64(c) && got < float64(c+1)) {
					t.Errorf("population sequence %d: score·(Z−1) = %v, want in [%d, %d) (it beats %d of the other %d)", q, got, c, c+1, c, d.Z-1)
				}
			}
		}},
		{"rmia-lm online", RMIALM, rmia, true, nil},
		{"lira-lm", LiRALM, lira, false, func(t *testing.T, s []float64) {
			// A population sequence's score is LiRA's offline log Φ((φ − μ_out)/σ) < 0, φ the rescaled logit,
			// μ_out its median over the donor's OUT shadow LMs and σ one global value (fewer than 64 shadow
			// LMs): so the scores are in the order of φ − μ_out.
			phi := func(p float64) float64 { return math.Log(p / (1 - p)) }
			donors := popDonors(d)
			type ts struct{ t, s float64 }
			var got []ts
			for j, q := range pop {
				row := d.Population[j*d.M : (j+1)*d.M]
				var out []float64
				for k := 1; k < d.M; k++ {
					if !d.Members[donors[j]*d.M+k] {
						out = append(out, phi(row[k]))
					}
				}
				if !(s[q] < 0) {
					t.Errorf("population sequence %d: score %v, want log Φ(·) < 0", q, s[q])
				}
				if len(out) == 0 {
					continue // attack.LiRA's fallback: the median μ_out of the others
				}
				slices.Sort(out)
				med := (out[(len(out)-1)/2] + out[len(out)/2]) / 2
				got = append(got, ts{phi(row[0]) - med, s[q]})
			}
			for _, x := range got {
				for _, y := range got {
					if x.t < y.t-1e-9 && !(x.s < y.s) {
						t.Errorf("φ − μ_out %v < %v but scores %v ≥ %v", x.t, y.t, x.s, y.s)
					}
				}
			}
			if len(got) < 4 {
				t.Errorf("only %d population sequences with OUT shadow LMs to compare", len(got))
			}
		}},
		{"lira-lm online", LiRALM, lira, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := DefaultParams()
			p.Online = c.online
			s, err := c.score(b, p)
			if err != nil {
				t.Fatal(err)
			}
			want := c.first(c.online)
			for i, q := range records {
				if s[q] != want[i] {
					t.Fatalf("sequence %d: %v, want the attack package's %v", q, s[q], want[i])
				}
			}
			for _, q := range pop {
				if c.online != math.IsNaN(s[q]) {
					t.Fatalf("population sequence %d: %v (online %v: want NaN online only)", q, s[q], c.online)
				}
			}
			if c.popCheck != nil {
				c.popCheck(t, s)
			}
		})
	}
}

// TestRMIAPopulationAlone: in a design whose reference counts are per record, a population record scored
// in a pass of its own gets the score it gets among the audited records (RMIALM's shortcut).
func TestRMIAPopulationAlone(t *testing.T) {
	for _, seed := range []uint64{5, 6} {
		d, _, err := SequenceData(synthBundle(64, seed))
		if err != nil {
			t.Fatal(err)
		}
		design := attack.InferDesign(d.Members, d.N, d.M)
		if design == attack.DesignPairs || design == attack.DesignLiRA {
			t.Fatalf("seed %d: design %v, want one with per-record counts", seed, design)
		}
		donors := popDonors(d)
		for _, cfg := range []attack.RMIAConfig{{OfflineA: 0.3}, {OfflineA: 1}} {
			alone, err := rmiaPopulation(d, cfg, design, donors, true)
			if err != nil {
				t.Fatal(err)
			}
			full, err := rmiaPopulation(d, cfg, design, donors, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(alone, full) {
				t.Errorf("seed %d, a = %v: alone %v\namong the records %v", seed, cfg.OfflineA, alone, full)
			}
		}
	}
}
