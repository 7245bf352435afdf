package report

import (
	"math"
	"math/rand/v2"
	"time"
)

// fakeKind selects the media of a fake input.
type fakeKind int

const (
	fakeImages fakeKind = iota
	fakeTabular
	fakeNone
)

// fakeInput returns a realistic audit result of n records from a seeded generator: half the records are
// members (a random half), ten classes, four attacks of different strength, and 3×12×12 images or 6
// tabular features. The attacks mimic what real audits show:
//   - loss: signal = cross-entropy loss, exponential, smaller for members; score = −loss (weak at low FPR);
//   - lira: Gaussian scores shifted by 0.8 for members, plus 4 % of members that were memorised
//     (shift +4.5): a strong low-FPR tail;
//   - rmia: a fraction in [0, 1], the logistic of a score shifted by 1.0 for members;
//   - entropy: almost no signal (shift 0.05).
//
// Class 3 is "vulnerable": its members get an extra shift, so that the per-class table has a story.
func fakeInput(seed uint64, n int, kind fakeKind) *Input {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	in := &Input{
		Title:         "Audit of a CIFAR-like CNN",
		Dataset:       "synthetic CIFAR-like images",
		Model:         "CNN (2 conv + 2 dense)",
		Game:          "average",
		Created:       time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC),
		Targets:       1,
		TrainAccuracy: Float(0.985),
		TestAccuracy:  Float(0.712),
		ClassNames:    []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"},
		Params: map[string]any{
			"run":   map[string]any{"random_seed": 1234, "log_dir": "runs/demo"},
			"audit": map[string]any{"algorithms": []string{"loss", "lira", "rmia", "entropy"}, "num_ref_models": 4},
			"train": map[string]any{"epochs": 20, "learning_rate": 0.01, "optimizer": "SGD", "batch_size": 128},
		},
	}
	perm := rng.Perm(n)
	isMember := make([]bool, n)
	for _, i := range perm[:n/2] {
		isMember[i] = true
	}
	loss := make([]float64, n)
	lira := make([]float64, n)
	rmia := make([]float64, n)
	entropy := make([]float64, n)
	switch kind {
	case fakeImages:
		in.ImageShape = []int{3, 12, 12}
	case fakeTabular:
		in.FeatureNames = []string{"age", "income", "visits", "bmi", "smoker", "region"}
		in.Title, in.Dataset, in.Model = "Audit of a tabular MLP", "synthetic health records", "MLP 6-64-10"
		in.ClassNames = nil
	}
	for i := range n {
		m := isMember[i]
		label := rng.IntN(10)
		shift := 0.0
		if m {
			shift = 1
			if label == 3 {
				shift = 1.8
			}
		}
		memorised := m && rng.Float64() < 0.04
		r := Record{ID: 1000 + 7*i, Label: label, Member: Bool(m)}
		mean := 1.2 - 0.7*shift
		loss[i] = rng.ExpFloat64() * math.Max(mean, 0.05)
		lira[i] = rng.NormFloat64() + 0.8*shift
		if memorised {
			lira[i] += 4.5
			loss[i] *= 0.05
		}
		rmia[i] = 1 / (1 + math.Exp(-(rng.NormFloat64() + shift - 0.5)))
		entropy[i] = -rng.Float64()*2 + 0.05*shift
		switch kind {
		case fakeImages:
			img := make([]float32, 3*12*12)
			for c := range 3 {
				for y := range 12 {
					for x := range 12 {
						v := 0.5 + 0.4*math.Sin(float64(x+label)*0.6+float64(c))*math.Cos(float64(y)*0.5) + 0.1*rng.NormFloat64()
						img[c*144+y*12+x] = float32(math.Min(math.Max(v, 0), 1))
					}
				}
			}
			r.Image = img
		case fakeTabular:
			r.Features = []float64{
				math.Round(20 + 60*rng.Float64()),
				math.Round(30000 + 20000*rng.NormFloat64()),
				float64(rng.IntN(12)),
				math.Round((24+4*rng.NormFloat64())*10) / 10,
				float64(rng.IntN(2)),
				float64(rng.IntN(5)),
			}
			if memorised {
				r.Features[1] *= 4 // outliers are memorised
			}
		}
		in.Records = append(in.Records, r)
	}
	score := make([]float64, n)
	for i := range loss {
		score[i] = -loss[i]
	}
	in.Attacks = []AttackResult{
		{Name: "loss", Description: "Yeom et al. 2018: score = −loss of the target model", Scores: score, Signal: loss, SignalName: "loss"},
		{Name: "lira", Description: "Carlini et al. 2022: Gaussian likelihood ratio", Scores: lira},
		{Name: "rmia", Description: "Zarifzadeh et al. 2024: pairwise likelihood-ratio test", Scores: rmia},
		{Name: "entropy", Description: "Song & Mittal 2021: negated prediction entropy", Scores: entropy},
	}
	return in
}
