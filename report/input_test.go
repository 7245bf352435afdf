package report

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(in *Input)
		want string // "" = valid
	}{
		{"valid", func(in *Input) {}, ""},
		{"no records", func(in *Input) { in.Records = nil; in.Attacks = nil }, "no records"},
		{"no attacks", func(in *Input) { in.Attacks = nil }, "no attacks"},
		{"NaN score", func(in *Input) { in.Attacks[1].Scores[4] = math.NaN() }, `"lira": score of record 4`},
		{"short scores", func(in *Input) { in.Attacks[0].Scores = in.Attacks[0].Scores[:3] }, `"loss": 3 scores`},
		{"short signal", func(in *Input) { in.Attacks[0].Signal = []float64{1} }, "1 signal values"},
		{"duplicate name", func(in *Input) { in.Attacks[2].Name = "loss" }, "used twice"},
		{"empty name", func(in *Input) { in.Attacks[2].Name = "" }, "attack 2 has no name"},
		{"target range", func(in *Input) { in.Records[9].Target = 1 }, "record 9 (id 1063): target 1 out of range"},
		{"negative targets", func(in *Input) { in.Targets = -1 }, "targets = -1"},
		{"accuracy", func(in *Input) { in.TestAccuracy = Float(1.5) }, "test accuracy"},
		{"image size", func(in *Input) { in.Records[2].Image = in.Records[2].Image[:10] }, "record 2 (id 1014): image has 10 values"},
		{"no image shape", func(in *Input) { in.ImageShape = nil }, "no image shape"},
		{"bad image shape", func(in *Input) { in.ImageShape = []int{3, 0, 12} }, "non-positive"},
		{"features", func(in *Input) {
			in.FeatureNames = []string{"a", "b"}
			in.Records[0].Features = []float64{1, 2, 3}
		}, "3 features, want 2"},
		{"ragged features", func(in *Input) {
			in.Records[0].Features = []float64{1, 2}
			in.Records[1].Features = []float64{1}
		}, "1 features, want 2 as earlier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fakeInput(1, 20, fakeImages)
			tt.edit(in)
			err := in.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if tt.want != "" {
				if _, err := Build(context.Background(), in, t.TempDir(), testOptions); err == nil {
					t.Error("Build accepted an invalid input")
				}
			}
		})
	}
	var nilInput *Input
	if err := nilInput.Validate(); err == nil {
		t.Error("nil input is valid")
	}
}

func TestOptionsErrors(t *testing.T) {
	in := fakeInput(1, 50, fakeNone)
	for _, opts := range []Options{{RankBy: "nope"}, {Alpha: 0.7}, {Bootstrap: testOptions.Bootstrap, Alpha: -1}, {Delta: 1.5}, {Delta: -1e-5}} {
		if _, err := Build(context.Background(), in, t.TempDir(), opts); err == nil {
			t.Errorf("options %+v accepted", opts)
		}
	}
}

// TestDegenerateInputs: constant, infinite and tiny inputs still give a complete, self-contained report.
func TestDegenerateInputs(t *testing.T) {
	two := func(s0, s1 float64) *Input {
		return &Input{
			Records: []Record{{ID: 0, Label: -1, Member: Bool(true)}, {ID: 1, Label: -1, Member: Bool(false)}},
			Attacks: []AttackResult{{Name: "a", Scores: []float64{s0, s1}}},
		}
	}
	constant := fakeInput(1, 100, fakeNone)
	for k := range constant.Attacks {
		for i := range constant.Attacks[k].Scores {
			constant.Attacks[k].Scores[i] = 0.5
		}
		constant.Attacks[k].Signal = nil
	}
	infinite := fakeInput(2, 100, fakeTabular)
	for i := range infinite.Attacks[1].Scores {
		if i%2 == 0 {
			infinite.Attacks[1].Scores[i] = math.Inf(1 - 2*(i%4/2))
		}
	}
	oneClass := fakeInput(3, 60, fakeImages)
	oneClass.ImageShape = []int{12, 36} // grey
	for i := range oneClass.Records {
		oneClass.Records[i].Label = 0
		oneClass.Records[i].Image = oneClass.Records[i].Image[:12*36]
	}
	for name, in := range map[string]*Input{
		"two records":    two(1, 0),
		"two reversed":   two(0, 1),
		"two tied":       two(0, 0),
		"constant":       constant,
		"infinite":       infinite,
		"one grey class": oneClass,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Build(context.Background(), in, dir, testOptions)
			if err != nil {
				t.Fatal(err)
			}
			page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
			if err != nil {
				t.Fatal(err)
			}
			if _, problems := checkSelfContained(page); len(problems) > 0 {
				t.Error(problems)
			}
			if s.Verdict.Level == "" || s.Verdict.Headline == "" {
				t.Errorf("empty verdict %+v", s.Verdict)
			}
		})
	}
}
