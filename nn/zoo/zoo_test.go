package zoo

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/nn"
)

// specParams counts the trainable parameters a list of specs describes, from the layer definitions
// (independently of nn's layers): dense in·out + out, conv in·out·k² (+ out), batch norm 2·channels.
func specParams(specs []nn.LayerSpec) int {
	n := 0
	for _, s := range specs {
		switch s.Kind {
		case nn.KindDense:
			n += s.In * s.Out
			if !s.NoBias {
				n += s.Out
			}
		case nn.KindConv2D:
			n += s.In * s.Out * s.Kernel * s.Kernel
			if !s.NoBias {
				n += s.Out
			}
		case nn.KindBatchNorm:
			n += 2 * s.In
		case nn.KindResidual:
			n += specParams(s.Body) + specParams(s.Shortcut)
		}
	}
	return n
}

// wrnParams is the closed form of WRN-depth-width's parameter count for c channels and k classes:
// stem, n blocks per group (the first of a group with a projection when the width or stride changes),
// and the head.
func wrnParams(c, k, depth, width int) int {
	n := (depth - 4) / 6
	block := func(in, out int, proj bool) int {
		p := 2*in + 9*in*out + 2*out + 9*out*out
		if proj {
			p += in * out
		}
		return p
	}
	total := 9 * c * 16
	cur := 16
	for _, w := range []int{16 * width, 32 * width, 64 * width} {
		for b := 0; b < n; b++ {
			total += block(cur, w, b == 0 && (cur != w || w != 16*width))
			cur = w
		}
	}
	return total + 2*cur + cur*k + k
}

func TestParamCounts(t *testing.T) {
	cases := []struct {
		name    string
		in      []int
		classes int
		want    int
	}{
		// Figures stated by Privacy Meter's documentation for its PyTorch models (spec D6).
		{"CNN", []int{3, 32, 32}, 10, 62006},
		{"mlp", []int{600}, 100, 89828},
		{"wrn28-1", []int{3, 32, 32}, 10, 369498},
		{"wrn28-2", []int{3, 32, 32}, 10, 1467610},
		{"wrn28-10", []int{3, 32, 32}, 10, 36479194},
		// Closed forms.
		{"logreg", []int{600}, 100, 600*100 + 100},
		{"logreg", []int{1, 28, 28}, 10, 784*10 + 10},
		{"mlp", []int{1, 28, 28}, 10, 785*128 + 129*10},
		{"mlp2", []int{600}, 100, 601*256 + 257*100},
		{"cnn", []int{1, 28, 28}, 10, (25+1)*6 + (150+1)*16 + (16*4*4+1)*120 + 121*84 + 85*10},
		{"cnn2", []int{3, 32, 32}, 10, (27+1)*32 + (288+1)*64 + (64*8*8+1)*128 + 129*10},
		{"cnn2", []int{1, 28, 28}, 10, (9+1)*32 + (288+1)*64 + (64*7*7+1)*128 + 129*10},
		{"wrn16-1", []int{3, 32, 32}, 10, wrnParams(3, 10, 16, 1)},
		{"wrn16-2", []int{3, 32, 32}, 100, wrnParams(3, 100, 16, 2)},
		{"wrn10-1", []int{1, 28, 28}, 10, wrnParams(1, 10, 10, 1)},
		{"WRN40-4", []int{3, 32, 32}, 10, wrnParams(3, 10, 40, 4)},
	}
	for _, c := range cases {
		specs, err := Specs(c.name, c.in, c.classes)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := specParams(specs); got != c.want {
			t.Errorf("%s %v %d classes: specs describe %d parameters, want %d", c.name, c.in, c.classes, got, c.want)
		}
		if c.want > 2_000_000 {
			continue // do not allocate the largest models
		}
		m, err := nn.FromSpecs(c.name, specs)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := m.NumParams(); got != c.want {
			t.Errorf("%s %v: model has %d parameters, want %d", c.name, c.in, got, c.want)
		}
		out, err := m.OutShape(c.in)
		if err != nil || len(out) != 1 || out[0] != c.classes {
			t.Errorf("%s %v: output shape %v (%v), want [%d]", c.name, c.in, out, err, c.classes)
		}
	}
}

func TestNamesBuild(t *testing.T) {
	for _, name := range Names() {
		in := []int{3, 32, 32}
		if _, err := Build(name, in, 10); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestWRNTrains runs a few training steps of the smallest wide ResNet and checks that the loss falls.
func TestWRNTrains(t *testing.T) {
	m, err := Build("wrn10-1", []int{3, 16, 16}, 4)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	r := rand.New(rand.NewPCG(1, 1))
	x := nn.NewTensor(16, 3, 16, 16)
	y := make([]int, 16)
	for i := range y {
		y[i] = i % 4
		for j := 0; j < 3*16*16; j++ {
			// Class-dependent mean, so that the classes are learnable.
			x.Data[i*768+j] = float32(r.NormFloat64()*0.5 + float64(y[i])*0.3)
		}
	}
	res, err := nn.Train(context.Background(), m, nn.Data{X: x, Labels: y}, nn.TrainConfig{Epochs: 6, BatchSize: 8, LR: 0.01, Optimizer: nn.Adam{}, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if first, last := res.EpochLoss[0], res.EpochLoss[len(res.EpochLoss)-1]; !(last < first) {
		t.Errorf("loss went from %v to %v", first, last)
	}
}

func TestSpecsErrors(t *testing.T) {
	cases := []struct {
		name    string
		in      []int
		classes int
		want    string
	}{
		{"mlp", []int{600}, 1, "at least 2 classes"},
		{"mlp", []int{0}, 10, "invalid input shape"},
		{"mlp", nil, 10, "empty input shape"},
		{"cnn", []int{600}, 10, "C×H×W"},
		{"cnn", []int{3, 12, 12}, 10, "too small"},
		{"cnn2", []int{3, 3, 3}, 10, "too small"},
		{"wrn28-2", []int{600}, 10, "C×H×W"},
		{"wrn27-2", []int{3, 32, 32}, 10, "6n + 4"},
		{"wrn28-0", []int{3, 32, 32}, 10, "width"},
		{"wrn28", []int{3, 32, 32}, 10, "unknown model"},
		{"resnet", []int{3, 32, 32}, 10, "unknown model"},
	}
	for _, c := range cases {
		_, err := Specs(c.name, c.in, c.classes)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v %d: error %v, want one containing %q", c.name, c.in, c.classes, err, c.want)
		}
	}
}

func TestRegression(t *testing.T) {
	for _, name := range []string{"linreg", "logreg", "mlp", "mlp2"} {
		specs, err := Regression(name, []int{10})
		if err != nil {
			t.Fatal(err)
		}
		last := specs[len(specs)-1]
		if last.Kind != nn.KindDense || last.Out != 1 {
			t.Errorf("%s: last layer %+v; want a dense layer with one linear output", name, last)
		}
	}
	if s, _ := Regression("linreg", []int{4}); len(s) != 2 {
		t.Errorf("linreg has %d layers, want flatten and dense", len(s))
	}
}
