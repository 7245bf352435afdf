package nn

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// digitsMLP is a 64 → 128 → 10 ReLU network for sklearn's digits.
func digitsMLP(t testing.TB, name string) *Sequential {
	t.Helper()
	m, err := FromSpecs(name, []LayerSpec{
		{Kind: KindDense, In: 64, Out: 128}, {Kind: KindReLU}, {Kind: KindDense, In: 128, Out: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func accuracy(t *testing.T, m *Sequential, x *Tensor, y []int) float64 {
	t.Helper()
	out, err := Evaluate(context.Background(), m, Data{X: x, Labels: y}, EvalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Logits.RowLen()
	correct := 0
	for i, label := range y {
		row := out.Logits.Data[i*c : (i+1)*c]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == label {
			correct++
		}
	}
	return float64(correct) / float64(len(y))
}

// TestLearnDigits trains an MLP on a random 80 % of sklearn's digits and requires test accuracy ≥ 0.95
// on the other 20 % (like sklearn's train_test_split, which shuffles; sklearn's MLPClassifier reaches
// ≈ 0.97–0.98 on such splits).
func TestLearnDigits(t *testing.T) {
	x0, y0 := loadDigits(t)
	n, d := x0.Rows(), x0.RowLen()
	x, y := NewTensor(n, d), make([]int, n)
	for i, k := range newRand(10, 10).Perm(n) {
		copy(x.Data[i*d:(i+1)*d], x0.Data[k*d:(k+1)*d])
		y[i] = y0[k]
	}
	split := n * 4 / 5
	train, test := x.Slice(0, split), x.Slice(split, n)
	for _, opt := range []struct {
		name string
		o    Optimizer
		lr   float64
	}{
		{"adam", Adam{}, 3e-3},
		{"sgd-nesterov", SGD{Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4}, 0.05},
	} {
		t.Run(opt.name, func(t *testing.T) {
			m := digitsMLP(t, "digits-"+opt.name)
			m.Init(1)
			res, err := Train(context.Background(), m, Data{X: train, Labels: y[:split]}, TrainConfig{
				Epochs: 30, BatchSize: 64, LR: opt.lr, Optimizer: opt.o, Schedule: Cosine{Warmup: 20}, Seed: 2,
			})
			if err != nil {
				t.Fatal(err)
			}
			acc := accuracy(t, m, test, y[split:])
			t.Logf("%s: loss %.3f → %.3f, test accuracy %.4f", opt.name, res.EpochLoss[0], res.EpochLoss[len(res.EpochLoss)-1], acc)
			if acc < 0.95 {
				t.Errorf("test accuracy %.4f < 0.95", acc)
			}
			if res.Steps != 30*((split+63)/64) {
				t.Errorf("steps = %d, want %d", res.Steps, 30*((split+63)/64))
			}
		})
	}
}

// TestLearnDigitsCNN trains a small CNN (conv, batch norm, max pooling, dropout) on the digits as
// 1 × 8 × 8 images, with reflect-pad-1 crop augmentation, and requires test accuracy ≥ 0.95.
func TestLearnDigitsCNN(t *testing.T) {
	x0, y0 := loadDigits(t)
	n, d := x0.Rows(), x0.RowLen()
	x, y := NewTensor(n, 1, 8, 8), make([]int, n)
	for i, k := range newRand(11, 11).Perm(n) {
		copy(x.Data[i*d:(i+1)*d], x0.Data[k*d:(k+1)*d])
		y[i] = y0[k]
	}
	split := n * 4 / 5
	m, err := FromSpecs("digits-cnn", []LayerSpec{
		{Kind: KindConv2D, In: 1, Out: 16, Kernel: 3, Padding: 1}, {Kind: KindBatchNorm, In: 16}, {Kind: KindReLU},
		{Kind: KindMaxPool2D, Kernel: 2}, {Kind: KindFlatten}, {Kind: KindDropout, P: 0.1},
		{Kind: KindDense, In: 256, Out: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	res, err := Train(context.Background(), m, Data{X: x.Slice(0, split), Labels: y[:split]}, TrainConfig{
		Epochs: 15, BatchSize: 32, LR: 3e-3, Optimizer: AdamW{WeightDecay: 1e-2}, Seed: 4,
		Augment: &Augment{Pad: 1}, Schedule: StepDecay{Every: 10, Gamma: 0.3},
	})
	if err != nil {
		t.Fatal(err)
	}
	acc := accuracy(t, m, x.Slice(split, n), y[split:])
	t.Logf("loss %.3f → %.3f, test accuracy %.4f", res.EpochLoss[0], res.EpochLoss[len(res.EpochLoss)-1], acc)
	if acc < 0.95 {
		t.Errorf("test accuracy %.4f < 0.95", acc)
	}
}

// synthImages returns n labelled c × h × w images whose class is visible in their pixel means.
func synthImages(seed uint64, n, c, h, w, classes int) (*Tensor, []int) {
	r := newRand(seed, 1)
	x := randTensor(r, -1, 1, n, c, h, w)
	y := make([]int, n)
	per := c * h * w
	for i := range y {
		y[i] = r.IntN(classes)
		for j := 0; j < per; j++ {
			if j%classes == y[i] {
				x.Data[i*per+j] += 1
			}
		}
	}
	return x, y
}

func snapshot(m *Sequential) [][]float32 {
	var s [][]float32
	for _, p := range append(m.Params(), m.Buffers()...) {
		s = append(s, append([]float32(nil), p.Value.Data...))
	}
	return s
}

func sameBits(a, b [][]float32) bool {
	for i := range a {
		for j := range a[i] {
			if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
				return false
			}
		}
	}
	return true
}

// TestDeterminism trains the same models twice with the same seeds and requires bitwise identical
// parameters and running statistics; with the pure-Go backend also under GOMAXPROCS 1 and 4 (the
// GEMMs are large enough for gonum to split them across goroutines). A different seed must change
// the result. Two models trained concurrently must give the same weights as trained one by one (no
// shared mutable state; the race detector checks the rest).
func TestDeterminism(t *testing.T) {
	mlpX, mlpY := synthImages(1, 300, 1, 16, 16, 10)
	mlpX.Shape = []int{300, 256}
	cnnX, cnnY := synthImages(2, 40, 3, 12, 12, 4)
	runs := []struct {
		name  string
		build func() *Sequential
		data  Data
		cfg   TrainConfig
	}{
		{"mlp", func() *Sequential {
			m, _ := FromSpecs("det-mlp", []LayerSpec{
				{Kind: KindDense, In: 256, Out: 256}, {Kind: KindReLU}, {Kind: KindDropout, P: 0.2},
				{Kind: KindDense, In: 256, Out: 10},
			})
			return m
		}, Data{X: mlpX, Labels: mlpY}, TrainConfig{Epochs: 2, BatchSize: 256, LR: 1e-3, Optimizer: Adam{}}},
		{"cnn", func() *Sequential {
			m, _ := FromSpecs("det-cnn", []LayerSpec{
				{Kind: KindConv2D, In: 3, Out: 8, Kernel: 3, Padding: 1}, {Kind: KindBatchNorm, In: 8}, {Kind: KindReLU},
				{Kind: KindMaxPool2D, Kernel: 2}, {Kind: KindFlatten}, {Kind: KindDense, In: 288, Out: 4},
			})
			return m
		}, Data{X: cnnX, Labels: cnnY}, TrainConfig{Epochs: 2, BatchSize: 16, LR: 0.05,
			Optimizer: SGD{Momentum: 0.9}, Augment: LiRAAugment(), Schedule: LiRA{}}},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			train := func(procs int, seed uint64) [][]float32 {
				if procs > 0 {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				}
				m := run.build()
				m.Init(seed)
				cfg := run.cfg
				cfg.Seed = seed
				if _, err := Train(context.Background(), m, run.data, cfg); err != nil {
					t.Error(err)
				}
				return snapshot(m)
			}
			a := train(0, 7)
			if !sameBits(a, train(0, 7)) {
				t.Error("same seed twice: weights differ")
			}
			if sameBits(a, train(0, 8)) {
				t.Error("different seeds gave identical weights")
			}
			var c [2][][]float32
			done := make(chan int)
			for i := range c {
				go func() { c[i] = train(0, uint64(7+i)); done <- i }()
			}
			<-done
			<-done
			if !sameBits(a, c[0]) || !sameBits(train(0, 8), c[1]) {
				t.Error("models trained concurrently differ from models trained one by one")
			}
			if Backend() != "gonum" {
				t.Logf("GOMAXPROCS independence is checked for the pure-Go backend only, this is %s", Backend())
				return
			}
			if !sameBits(train(1, 7), train(4, 7)) {
				t.Error("same seed, GOMAXPROCS 1 vs 4: weights differ")
			}
		})
	}
}

func TestTrainErrors(t *testing.T) {
	x, y := synthImages(3, 20, 1, 2, 4, 3)
	x.Shape = []int{20, 8}
	newModel := func() *Sequential {
		m, err := FromSpecs("victim", []LayerSpec{{Kind: KindDense, In: 8, Out: 3}})
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		return m
	}
	cfg := TrainConfig{Epochs: 1, BatchSize: 8, LR: 0.1}
	badLabels := append([]int(nil), y...)
	badLabels[5] = 3
	nanX := x.Clone()
	nanX.Data[17] = float32(math.NaN())
	cases := []struct {
		name string
		data Data
		cfg  TrainConfig
		want []string
	}{
		{"feature mismatch", Data{X: &Tensor{Shape: []int{10, 16}, Data: make([]float32, 160)}, Labels: y[:10]}, cfg, []string{"victim", "layer 0", "[16]"}},
		{"shape vs data", Data{X: &Tensor{Shape: []int{20, 8}, Data: make([]float32, 10)}, Labels: y}, cfg, []string{"victim", "10 values"}},
		{"nil X", Data{Labels: y}, cfg, []string{"victim"}},
		{"no records", Data{X: &Tensor{Shape: []int{0, 8}}, Labels: []int{}}, cfg, []string{"no records"}},
		{"label count", Data{X: x, Labels: y[:5]}, cfg, []string{"5 labels for 20 records"}},
		{"label range", Data{X: x, Labels: badLabels}, cfg, []string{"victim", "label[5] = 3", "[0, 3)"}},
		{"negative label", Data{X: x, Labels: append([]int{-1}, y[1:]...)}, cfg, []string{"label[0] = -1"}},
		{"no targets", Data{X: x}, cfg, []string{"neither labels nor target values"}},
		{"values shape", Data{X: x, Values: NewTensor(20, 4)}, TrainConfig{Epochs: 1, BatchSize: 8, Loss: MSE{}}, []string{"target values shape"}},
		{"nan input", Data{X: nanX, Labels: y}, cfg, []string{"element 17", "NaN"}},
		{"batch size", Data{X: x, Labels: y}, TrainConfig{Epochs: 1}, []string{"batch size=0"}},
		{"negative lr", Data{X: x, Labels: y}, TrainConfig{Epochs: 1, BatchSize: 4, LR: -1}, []string{"learning rate=-1"}},
		{"augment flat", Data{X: x, Labels: y}, TrainConfig{Epochs: 1, BatchSize: 4, Augment: LiRAAugment()}, []string{"augmentation needs images"}},
		{"nesterov", Data{X: x, Labels: y}, TrainConfig{Epochs: 1, BatchSize: 4, Optimizer: SGD{Nesterov: true}}, []string{"Nesterov"}},
		{"adam beta", Data{X: x, Labels: y}, TrainConfig{Epochs: 1, BatchSize: 4, Optimizer: Adam{Beta1: 1}}, []string{"beta1=1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Train(context.Background(), newModel(), c.data, c.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := Train(context.Background(), nil, Data{X: x, Labels: y}, cfg); err == nil {
		t.Error("nil model: no error")
	}
}

// TestDivergence drives the loss to infinity with an absurd learning rate and expects an error that
// wraps ErrDiverged and names the model, the epoch and the batch.
func TestDivergence(t *testing.T) {
	x, y := synthImages(4, 64, 1, 4, 4, 4)
	x.Shape = []int{64, 16}
	m, _ := FromSpecs("runaway", []LayerSpec{{Kind: KindDense, In: 16, Out: 16}, {Kind: KindReLU}, {Kind: KindDense, In: 16, Out: 4}})
	m.Init(1)
	_, err := Train(context.Background(), m, Data{X: x, Labels: y}, TrainConfig{Epochs: 5, BatchSize: 16, LR: 1e30, Loss: MSE{}})
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("err = %v, want ErrDiverged", err)
	}
	for _, w := range []string{`"runaway"`, "epoch 1 of 5", "batch ", "of 4"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestTrainCancelAndProgress(t *testing.T) {
	x, y := synthImages(5, 50, 1, 2, 2, 2)
	x.Shape = []int{50, 4}
	m, _ := FromSpecs("cancelled", []LayerSpec{{Kind: KindDense, In: 4, Out: 2}})
	m.Init(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls [][2]int
	_, err := Train(ctx, m, Data{X: x, Labels: y}, TrainConfig{Epochs: 3, BatchSize: 20, LR: 0.1,
		Progress: func(epoch, batch int, loss float64) {
			calls = append(calls, [2]int{epoch, batch})
			if !(loss > 0) {
				t.Errorf("epoch %d batch %d: loss %v", epoch, batch, loss)
			}
			if epoch == 1 && batch == 1 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("err = %v, want context.Canceled naming the model", err)
	}
	want := [][2]int{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}}
	if len(calls) != len(want) {
		t.Fatalf("progress calls %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Fatalf("progress calls %v, want %v", calls, want)
		}
	}
	// DropLast: 50 records in batches of 20 → 2 steps per epoch.
	m.Init(1)
	res, err := Train(context.Background(), m, Data{X: x, Labels: y}, TrainConfig{Epochs: 2, BatchSize: 20, LR: 0.1, DropLast: true})
	if err != nil || res.Steps != 4 || len(res.EpochLoss) != 2 {
		t.Fatalf("DropLast: steps %d, epoch losses %v, err %v; want 4 steps, 2 losses", res.Steps, res.EpochLoss, err)
	}
}

// TestTrainMSERegression fits a linear map with MSE to check the regression path (target values).
func TestTrainMSERegression(t *testing.T) {
	r := newRand(6, 6)
	x := randTensor(r, -1, 1, 200, 3)
	v := NewTensor(200, 2)
	for i := 0; i < 200; i++ {
		a, b, c := x.Data[3*i], x.Data[3*i+1], x.Data[3*i+2]
		v.Data[2*i], v.Data[2*i+1] = 2*a-b+0.5, c-a
	}
	m, _ := FromSpecs("linreg", []LayerSpec{{Kind: KindDense, In: 3, Out: 2}})
	m.Init(1)
	res, err := Train(context.Background(), m, Data{X: x, Values: v}, TrainConfig{Epochs: 100, BatchSize: 20, LR: 0.1, Loss: MSE{}, Optimizer: SGD{Momentum: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if l := res.EpochLoss[len(res.EpochLoss)-1]; l > 1e-6 {
		t.Errorf("final MSE %g, want < 1e-6", l)
	}
	want := []float32{2, -1, 0, -1, 0, 1}
	for i, w := range want {
		if math.Abs(float64(m.Layers[0].(*Dense).W.Data[i]-w)) > 1e-3 {
			t.Errorf("W[%d] = %v, want %v", i, m.Layers[0].(*Dense).W.Data[i], w)
		}
	}
}

// TestCheckpointKeepsTraining: evaluating the model after every epoch (Checkpoint) leaves the training
// bit for bit as it was (dropout and batch norm in the model), and the last checkpoint's losses are the
// final model's.
func TestCheckpointKeepsTraining(t *testing.T) {
	x, y := synthImages(2, 40, 3, 12, 12, 4)
	d := Data{X: x, Labels: y}
	build := func() *Sequential {
		m, _ := FromSpecs("ckpt", []LayerSpec{
			{Kind: KindConv2D, In: 3, Out: 8, Kernel: 3, Padding: 1}, {Kind: KindBatchNorm, In: 8}, {Kind: KindReLU},
			{Kind: KindMaxPool2D, Kernel: 2}, {Kind: KindFlatten}, {Kind: KindDropout, P: 0.2}, {Kind: KindDense, In: 288, Out: 4},
		})
		m.Init(3)
		return m
	}
	cfg := TrainConfig{Epochs: 3, BatchSize: 16, LR: 0.05, Optimizer: SGD{Momentum: 0.9}, Seed: 3}
	plain := build()
	if _, err := Train(context.Background(), plain, d, cfg); err != nil {
		t.Fatal(err)
	}
	var epochs []int
	var last []float64
	cfg.Checkpoint = func(epoch int, m *Sequential) error {
		epochs = append(epochs, epoch)
		r, err := Evaluate(context.Background(), m, d, EvalConfig{BatchSize: 7})
		if err == nil {
			last = r.Loss
		}
		return err
	}
	m := build()
	if _, err := Train(context.Background(), m, d, cfg); err != nil {
		t.Fatal(err)
	}
	if !sameBits(snapshot(plain), snapshot(m)) || !slices.Equal(epochs, []int{1, 2, 3}) {
		t.Fatalf("checkpoints at %v changed the weights: %v", epochs, !sameBits(snapshot(plain), snapshot(m)))
	}
	// The same evaluation batch size as the checkpoint's: another BLAS (-tags openblas) rounds a product
	// differently with its row count.
	final, err := Evaluate(context.Background(), m, d, EvalConfig{BatchSize: 7})
	if err != nil || !slices.Equal(final.Loss, last) {
		t.Errorf("the last checkpoint's losses differ from the final model's (%v)", err)
	}
	cfg.Checkpoint = func(int, *Sequential) error { return errors.New("disk full") }
	if _, err := Train(context.Background(), build(), d, cfg); err == nil || !strings.Contains(err.Error(), "checkpoint after epoch 1: disk full") {
		t.Errorf("checkpoint error: %v", err)
	}
}
