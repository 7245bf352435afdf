package nn_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/nn/zoo"
)

// clearIn returns a deep copy of specs with every In set to 0.
func clearIn(specs []nn.LayerSpec) []nn.LayerSpec {
	out := make([]nn.LayerSpec, len(specs))
	for i, s := range specs {
		s.In = 0
		s.Body, s.Shortcut = clearIn(s.Body), clearIn(s.Shortcut)
		if len(s.Body) == 0 {
			s.Body = nil
		}
		if len(s.Shortcut) == 0 {
			s.Shortcut = nil
		}
		out[i] = s
	}
	return out
}

// TestSummarizeMatchesBuiltModels checks Summarize against models that are built: the parameter count
// and output shape of every zoo architecture, and the In it infers equal to the zoo's own.
func TestSummarizeMatchesBuiltModels(t *testing.T) {
	for _, in := range [][]int{{1, 28, 28}, {3, 32, 32}} {
		for _, name := range []string{"logreg", "mlp", "mlp2", "cnn", "cnn2", "wrn16-1", "wrn28-2"} {
			specs, err := zoo.Specs(name, in, 10)
			if err != nil {
				t.Fatal(err)
			}
			m, err := nn.FromSpecs(name, specs)
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.OutShape(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, given := range [][]nn.LayerSpec{specs, clearIn(specs)} {
				s, err := nn.Summarize(given, in)
				if err != nil {
					t.Fatalf("%s on %v: %v", name, in, err)
				}
				if s.Params != int64(m.NumParams()) || !slices.Equal(s.Out, out) {
					t.Errorf("%s on %v: %d parameters, output %v; the built model has %d and %v", name, in, s.Params, s.Out, m.NumParams(), out)
				}
				if !reflect.DeepEqual(s.Specs, specs) {
					t.Errorf("%s on %v: inferred specs\n%+v\nwant\n%+v", name, in, s.Specs, specs)
				}
				if s.Activations <= int64(out[0]) {
					t.Errorf("%s on %v: %d activations per record", name, in, s.Activations)
				}
			}
		}
	}
}

func TestSummarizeErrors(t *testing.T) {
	dense := func(in, out int) nn.LayerSpec { return nn.LayerSpec{Kind: nn.KindDense, In: in, Out: out} }
	flat := nn.LayerSpec{Kind: nn.KindFlatten}
	for _, tc := range []struct {
		name  string
		specs []nn.LayerSpec
		want  []string
	}{
		{"in contradicts the input", []nn.LayerSpec{flat, dense(100, 10)}, []string{"layer 1 (dense)", "in = 100", "784 features"}},
		{"dense on images", []nn.LayerSpec{dense(0, 10)}, []string{"layer 0 (dense)", "flatten"}},
		{"no out", []nn.LayerSpec{flat, {Kind: nn.KindDense}}, []string{"layer 1 (dense)", "out = 0"}},
		{"kernel larger than the image", []nn.LayerSpec{{Kind: nn.KindConv2D, Out: 4, Kernel: 40}}, []string{"layer 0 (conv2d)", "too small"}},
		{"conv channels", []nn.LayerSpec{{Kind: nn.KindConv2D, In: 3, Out: 4, Kernel: 3}}, []string{"in = 3", "1 channels"}},
		{"unknown kind", []nn.LayerSpec{{Kind: "attention"}}, []string{"layer 0", "attention"}},
		{"residual branches disagree", []nn.LayerSpec{{Kind: nn.KindResidual, Body: []nn.LayerSpec{{Kind: nn.KindConv2D, Out: 2, Kernel: 1}}}},
			[]string{"layer 0 (residual)", "body gives [2 28 28], shortcut gives [1 28 28]"}},
		{"error inside a residual body", []nn.LayerSpec{{Kind: nn.KindResidual, Body: []nn.LayerSpec{dense(0, 3)}}}, []string{"layer 0 body layer 0 (dense)"}},
	} {
		_, err := nn.Summarize(tc.specs, []int{1, 28, 28})
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
}

// TestSummarizeHugeModel counts a model far too large to build (a dense layer with 2e9 outputs) without
// allocating it, and saturates instead of overflowing.
func TestSummarizeHugeModel(t *testing.T) {
	s, err := nn.Summarize([]nn.LayerSpec{{Kind: nn.KindFlatten}, {Kind: nn.KindDense, Out: 2_000_000_000}}, []int{1, 28, 28})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(784*2_000_000_000 + 2_000_000_000); s.Params != want {
		t.Errorf("%d parameters, want %d", s.Params, want)
	}
	s, err = nn.Summarize([]nn.LayerSpec{{Kind: nn.KindDense, Out: 1 << 62}, {Kind: nn.KindDense, Out: 1 << 62}}, []int{1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if s.Params <= 0 || s.Params != 1<<63-1 {
		t.Errorf("%d parameters, want the saturated maximum", s.Params)
	}
}
