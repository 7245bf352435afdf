package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestAugment checks every augmented image against the brute-force candidates: the image reflect-
// padded by Pad (numpy.pad mode "reflect"), cropped at one of the (2·Pad+1)² offsets, flipped or not.
// It also requires all offsets and both flips to occur, and the same seed to repeat the result.
func TestAugment(t *testing.T) {
	const n, c, h, w, pad = 400, 2, 5, 6, 2
	r := newRand(1, 1)
	x := randTensor(r, 0, 1, n, c, h, w)
	run := func(seed uint64) *Tensor {
		y := x.Clone()
		var scratch []float32
		Augment{Pad: pad, Flip: true}.apply(y, newRand(seed, streamAugment), &scratch)
		return y
	}
	y := run(5)
	if !reflect.DeepEqual(y.Data, run(5).Data) {
		t.Error("same seed, different augmentation")
	}
	padded := func(img []float32, ch, i, j int) float32 { // reflect padding written out
		i, j = i-pad, j-pad
		for i < 0 || i >= h {
			if i < 0 {
				i = -i
			} else {
				i = 2*(h-1) - i
			}
		}
		for j < 0 || j >= w {
			if j < 0 {
				j = -j
			} else {
				j = 2*(w-1) - j
			}
		}
		return img[ch*h*w+i*w+j]
	}
	seen := map[[3]int]bool{}
	per := c * h * w
	for k := 0; k < n; k++ {
		img, got := x.Data[k*per:(k+1)*per], y.Data[k*per:(k+1)*per]
		found := false
		for oy := 0; oy <= 2*pad && !found; oy++ {
			for ox := 0; ox <= 2*pad && !found; ox++ {
				for flip := 0; flip < 2 && !found; flip++ {
					match := true
					for ch := 0; ch < c && match; ch++ {
						for i := 0; i < h && match; i++ {
							for j := 0; j < w; j++ {
								jj := j
								if flip == 1 {
									jj = w - 1 - j
								}
								if got[ch*h*w+i*w+j] != padded(img, ch, i+oy, jj+ox) {
									match = false
									break
								}
							}
						}
					}
					if match {
						found = true
						seen[[3]int{oy, ox, flip}] = true
					}
				}
			}
		}
		if !found {
			t.Fatalf("image %d is no reflect-padded crop of the original", k)
		}
	}
	if len(seen) != (2*pad+1)*(2*pad+1)*2 {
		t.Errorf("%d distinct (offset, flip) combinations seen, want %d", len(seen), (2*pad+1)*(2*pad+1)*2)
	}
}

// TestInit checks PyTorch's default initialisation: U(−1/√fan_in, 1/√fan_in) for weights and biases,
// by range, mean and variance (bound²/3), and that Init is reproducible from its seed.
func TestInit(t *testing.T) {
	d, _ := NewDense(300, 200, true)
	c, _ := NewConv2D(16, 32, 3, 1, 1, true)
	m := NewSequential("init", d, &ReLU{}, c)
	m.Init(1)
	for _, tc := range []struct {
		name  string
		v     *Tensor
		bound float64
	}{
		{"dense weight", d.W, 1 / math.Sqrt(300)},
		{"conv weight", c.W, 1 / math.Sqrt(16*9)},
	} {
		var s, ss float64
		for _, v := range tc.v.Data {
			if math.Abs(float64(v)) > tc.bound {
				t.Fatalf("%s: %v outside ±%v", tc.name, v, tc.bound)
			}
			s += float64(v)
			ss += float64(v) * float64(v)
		}
		n := float64(tc.v.Len())
		mean, variance := s/n, ss/n
		want := tc.bound * tc.bound / 3
		// Standard errors: mean √(want/n), variance ≈ want·√(0.8/n); allow 5 of them.
		if math.Abs(mean) > 5*math.Sqrt(want/n) || math.Abs(variance-want) > 5*want*math.Sqrt(0.8/n) {
			t.Errorf("%s: mean %v, variance %v, want 0 and %v", tc.name, mean, variance, want)
		}
	}
	for _, b := range []struct {
		v     *Tensor
		bound float64
	}{{d.B, 1 / math.Sqrt(300)}, {c.B, 1 / math.Sqrt(16*9)}} {
		for _, v := range b.v.Data {
			if math.Abs(float64(v)) > b.bound {
				t.Fatalf("bias %v outside ±%v", v, b.bound)
			}
		}
	}
	before := snapshot(m)
	m.Init(1)
	if !sameBits(before, snapshot(m)) {
		t.Error("Init(1) twice gave different weights")
	}
	m.Init(2)
	if sameBits(before, snapshot(m)) {
		t.Error("Init(1) and Init(2) gave the same weights")
	}
}

func TestSchedules(t *testing.T) {
	const perEpoch, total = 10, 100
	cases := []struct {
		name string
		s    Schedule
		step int
		want float64
	}{
		{"constant", Constant{}, 57, 1},
		{"step/epoch0", StepDecay{Every: 3, Gamma: 0.5}, 29, 1},
		{"step/epoch3", StepDecay{Every: 3, Gamma: 0.5}, 30, 0.5},
		{"step/epoch7", StepDecay{Every: 3, Gamma: 0.5}, 79, 0.25},
		{"cosine/warmup0", Cosine{Warmup: 10}, 0, 0.1},
		{"cosine/warmup-end", Cosine{Warmup: 10}, 9, 1},
		{"cosine/start", Cosine{Warmup: 10}, 10, 1},
		{"cosine/mid", Cosine{Warmup: 10, Min: 0.2}, 55, 0.6},
		{"cosine/last", Cosine{Min: 0.2}, 99, 0.2 + 0.8*(1+math.Cos(math.Pi*0.99))/2},
		{"lira/first", LiRA{}, 0, 0},
		{"lira/ramp", LiRA{}, 0, 0},
		{"lira/peak", LiRA{}, 1, 0.1 * math.Cos(7*math.Pi/16*0.01)},
		{"lira/end", LiRA{}, 99, 0.1 * math.Cos(7*math.Pi/16*0.99)},
	}
	for _, c := range cases {
		if got := c.s.Factor(c.step, perEpoch, total); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: factor(%d) = %v, want %v", c.name, c.step, got, c.want)
		}
	}
	// LiRA ramps linearly over the first 1 % of a long run.
	if got, want := (LiRA{}).Factor(5, 100, 1000), 0.1*math.Cos(7*math.Pi/16*0.005)*0.5; math.Abs(got-want) > 1e-12 {
		t.Errorf("lira ramp: %v, want %v", got, want)
	}
}

// TestSpecs checks that a model is described by data: specs survive JSON and rebuild the same
// architecture, and parameters and buffers carry PyTorch state_dict names.
func TestSpecs(t *testing.T) {
	m := testCNN(t, "spec", KindMaxPool2D)
	b, err := json.Marshal(m.Specs())
	if err != nil {
		t.Fatal(err)
	}
	var specs []LayerSpec
	if err := json.Unmarshal(b, &specs); err != nil {
		t.Fatal(err)
	}
	m2, err := FromSpecs("copy", specs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Specs(), m2.Specs()) {
		t.Errorf("specs changed in a round trip:\n%+v\n%+v", m.Specs(), m2.Specs())
	}
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	want := "0.weight 0.bias 1.weight 1.bias 4.weight 9.weight 9.bias 10.weight 10.bias 12.weight 12.bias"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("parameter names %q, want %q", got, want)
	}
	names = names[:0]
	for _, p := range m.Buffers() {
		names = append(names, p.Name)
	}
	if got, want := strings.Join(names, " "), "1.running_mean 1.running_var 10.running_mean 10.running_var"; got != want {
		t.Errorf("buffer names %q, want %q", got, want)
	}
	// 2·4·9+4, 4+4, 4·4·9, 16·6+6, 6+6, 6·3+3
	if got, want := m.NumParams(), 76+8+144+102+12+21; got != want {
		t.Errorf("NumParams = %d, want %d", got, want)
	}
	// Nested blocks: names, specs through JSON, and a parameter count checked by hand.
	res, err := FromSpecs("res", []LayerSpec{
		{Kind: KindConv2D, In: 3, Out: 4, Kernel: 3, Padding: 1, NoBias: true},
		{Kind: KindResidual, Body: []LayerSpec{{Kind: KindBatchNorm, In: 4}, {Kind: KindConv2D, In: 4, Out: 8, Kernel: 3, Stride: 2, Padding: 1}},
			Shortcut: []LayerSpec{{Kind: KindConv2D, In: 4, Out: 8, Kernel: 1, Stride: 2, NoBias: true}}},
		{Kind: KindGlobalAvgPool}, {Kind: KindDense, In: 8, Out: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, p := range append(res.Params(), res.Buffers()...) {
		names = append(names, p.Name)
	}
	if got, want := strings.Join(names, " "), "0.weight 1.body.0.weight 1.body.0.bias 1.body.1.weight 1.body.1.bias 1.shortcut.0.weight 3.weight 3.bias 1.body.0.running_mean 1.body.0.running_var"; got != want {
		t.Errorf("residual names %q, want %q", got, want)
	}
	if got, want := res.NumParams(), 108+8+288+8+32+90; got != want {
		t.Errorf("residual NumParams = %d, want %d", got, want)
	}
	b, _ = json.Marshal(res.Specs())
	specs = nil
	if err := json.Unmarshal(b, &specs); err != nil {
		t.Fatal(err)
	}
	if res2, err := FromSpecs("res2", specs); err != nil || !reflect.DeepEqual(res.Specs(), res2.Specs()) {
		t.Errorf("residual specs round trip: %v", err)
	}
	if out, err := res.OutShape([]int{3, 8, 8}); err != nil || !reflect.DeepEqual(out, []int{10}) {
		t.Errorf("residual model output %v, %v", out, err)
	}
	bad := LayerSpec{Kind: KindResidual, Body: []LayerSpec{{Kind: KindConv2D, In: 4, Out: 8, Kernel: 3, Padding: 1}}}
	if l, err := bad.Build(); err != nil {
		t.Fatal(err)
	} else if _, err := l.OutShape([]int{4, 5, 5}); err == nil {
		t.Error("residual with mismatched body and identity shortcut: no error")
	}
	// Privacy Meter's CIFAR CNN has 62,006 parameters (privacy-meter spec D6).
	lenet, err := FromSpecs("lenet", []LayerSpec{
		{Kind: KindConv2D, In: 3, Out: 6, Kernel: 5}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindConv2D, In: 6, Out: 16, Kernel: 5}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindFlatten}, {Kind: KindDense, In: 400, Out: 120}, {Kind: KindReLU},
		{Kind: KindDense, In: 120, Out: 84}, {Kind: KindReLU}, {Kind: KindDense, In: 84, Out: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := lenet.NumParams(); got != 62006 {
		t.Errorf("LeNet parameters %d, want 62006", got)
	}
	if out, err := lenet.OutShape([]int{3, 32, 32}); err != nil || !reflect.DeepEqual(out, []int{10}) {
		t.Errorf("LeNet output shape %v, %v", out, err)
	}
}

// TestBadInput feeds malformed input to the exported entry points: each must return an error, not
// panic.
func TestBadInput(t *testing.T) {
	bad := []LayerSpec{
		{Kind: "lstm"}, {Kind: KindDense, In: 0, Out: 3}, {Kind: KindConv2D, In: 3, Out: 4},
		{Kind: KindConv2D, In: 3, Out: 4, Kernel: 3, Padding: -1}, {Kind: KindMaxPool2D},
		{Kind: KindMaxPool2D, Kernel: 2, Padding: 2}, {Kind: KindAvgPool2D, Kernel: -1},
		{Kind: KindBatchNorm}, {Kind: KindBatchNorm, In: 3, Momentum: 2}, {Kind: KindDropout, P: 1},
		{Kind: KindDropout, P: math.NaN()}, {Kind: KindResidual}, {Kind: KindResidual, Body: []LayerSpec{{Kind: "x"}}},
	}
	for _, s := range bad {
		if _, err := s.Build(); err == nil {
			t.Errorf("Build(%+v): no error", s)
		}
	}
	if _, err := FromSpecs("m", bad[:1]); err == nil || !strings.Contains(err.Error(), `"m"`) {
		t.Errorf("FromSpecs error %v does not name the model", err)
	}
	m := testCNN(t, "shapes", KindMaxPool2D)
	m.Init(1)
	for _, x := range []*Tensor{
		nil, {}, {Shape: []int{2, 2, 8}, Data: make([]float32, 32)}, {Shape: []int{2, 3, 8, 8}, Data: make([]float32, 384)},
		{Shape: []int{2, 2, 8, 8}, Data: make([]float32, 5)}, {Shape: []int{1, 2, 2, 2}, Data: make([]float32, 8)},
		{Shape: []int{-1, 2, 8, 8}, Data: nil},
	} {
		if _, err := m.Forward(x, true); err == nil {
			t.Errorf("Forward(%v): no error", x)
		}
	}
	for _, l := range []Layer{&Dense{In: 32, Out: 2}, &Conv2D{In: 2, Out: 1}, &MaxPool2D{}, &AvgPool2D{}, &BatchNorm{C: 2}} {
		in := NewTensor(1, 2, 4, 4)
		if _, ok := l.(*Dense); ok {
			in.Shape = []int{1, 32}
		}
		if _, err := NewSequential("literal", l).Forward(in, true); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("%T literal without constructor: error %v", l, err)
		}
	}
	if err := NewSequential("fresh").Backward(NewTensor(1, 3)); err == nil {
		t.Error("Backward before Forward: no error")
	}
	if _, err := m.Forward(NewTensor(2, 2, 8, 8), true); err != nil {
		t.Fatal(err)
	}
	for _, dy := range []*Tensor{nil, NewTensor(2, 4), NewTensor(3, 3), {Shape: []int{2, 3}, Data: make([]float32, 2)}} {
		if err := m.Backward(dy); err == nil {
			t.Errorf("Backward(%v): no error", dy)
		}
	}
	if _, err := FromSlice(make([]float32, 5), 2, 3); err == nil {
		t.Error("FromSlice size mismatch: no error")
	}
	if _, err := FromSlice(nil, -1, 0); err == nil {
		t.Error("FromSlice negative dimension: no error")
	}
	if x, err := FromSlice(make([]float32, 6), 2, 3); err != nil || x.Rows() != 2 || x.RowLen() != 3 {
		t.Errorf("FromSlice: %v, %v", x, err)
	}
	loss := make([]float64, 2)
	grad := make([]float32, 6)
	out := NewTensor(2, 3)
	if err := (CrossEntropy{}).PerRecord(out, Target{Labels: []int{0, 3}}, loss, grad); err == nil {
		t.Error("cross-entropy label out of range: no error")
	}
	if err := (CrossEntropy{}).PerRecord(NewTensor(2, 3, 1), Target{Labels: []int{0, 1}}, loss, grad); err == nil {
		t.Error("cross-entropy on a 3-d output: no error")
	}
	if err := (MSE{}).PerRecord(out, Target{Values: NewTensor(3, 2)}, loss, grad); err == nil {
		t.Error("mse shape mismatch: no error")
	}
}

// TestCheckFinite checks that CheckFinite names the first NaN or infinity, wherever it falls in the
// blocks it tests together, and passes every finite value (the largest, subnormals, signed zeros).
func TestCheckFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		n    int
		bad  map[int]float32
		want int // −1: no error
	}{
		{0, nil, -1},
		{200, nil, -1},
		{200, map[int]float32{0: nan}, 0},
		{200, map[int]float32{63: -inf}, 63},
		{200, map[int]float32{64: inf, 150: nan}, 64},
		{200, map[int]float32{199: math.Float32frombits(0xffc00001)}, 199},
		{5, map[int]float32{3: nan, 4: inf}, 3},
	} {
		x := NewTensor(tc.n)
		finite := []float32{math.MaxFloat32, -math.MaxFloat32, 1e-45, -1e-45, float32(math.Copysign(0, -1)), 0, 1}
		for i := range x.Data {
			x.Data[i] = finite[i%len(finite)]
		}
		for i, v := range tc.bad {
			x.Data[i] = v
		}
		err := x.CheckFinite()
		switch {
		case tc.want < 0 && err != nil:
			t.Errorf("n=%d: %v, want no error", tc.n, err)
		case tc.want >= 0 && (err == nil || !strings.Contains(err.Error(), fmt.Sprintf("element %d ", tc.want))):
			t.Errorf("n=%d bad %v: %v, want element %d named", tc.n, tc.bad, err, tc.want)
		}
	}
}
