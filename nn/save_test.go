package nn

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/npy"
)

// testResNetSpecs is a small network with every kind of state: convolutions with and without bias,
// 2-d and 1-d batch norm, and a residual block with a projection shortcut (input 3 × 8 × 8, 3 classes).
func testResNetSpecs(t *testing.T) []LayerSpec {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_model_specs.json")
	if err != nil {
		t.Fatal(err)
	}
	var specs []LayerSpec
	if err := json.Unmarshal(b, &specs); err != nil {
		t.Fatal(err)
	}
	return specs
}

// trainedTestModel returns the test network trained for two epochs on random data, so that every
// parameter, running statistic and num_batches_tracked differs from its initial value.
func trainedTestModel(t *testing.T) (*Sequential, Data, TrainConfig) {
	t.Helper()
	m, err := FromSpecs("ref-1", testResNetSpecs(t))
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	r := rand.New(rand.NewPCG(1, 2))
	x := randTensor(r, -1, 1, 24, 3, 8, 8)
	y := make([]int, 24)
	for i := range y {
		y[i] = r.IntN(3)
	}
	d := Data{X: x, Labels: y}
	cfg := TrainConfig{Epochs: 2, BatchSize: 8, LR: 0.01, Optimizer: Adam{}, Schedule: Cosine{Warmup: 1}, Seed: 9}
	if _, err := Train(context.Background(), m, d, cfg); err != nil {
		t.Fatal(err)
	}
	return m, d, cfg
}

func TestStateDictNames(t *testing.T) {
	m, _, _ := trainedTestModel(t)
	var got []string
	for _, e := range StateDict(m, nil).Tensors {
		got = append(got, e.Name)
	}
	// The same names as PyTorch's state_dict of the same nn.Sequential (testdata/torch_model.safetensors
	// was written from it), in the same order.
	ref, err := ReadSafetensorsFile("testdata/torch_model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ref.Tensors {
		want = append(want, e.Name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("state names\n got %v\nwant %v", got, want)
	}
	// And they are the names of Params and Buffers, plus num_batches_tracked.
	var pb []string
	for _, p := range append(m.Params(), m.Buffers()...) {
		pb = append(pb, p.Name)
	}
	var float []string
	for _, e := range StateDict(m, nil).Tensors {
		if e.DType == "F32" {
			float = append(float, e.Name)
		}
	}
	sort.Strings(pb)
	sort.Strings(float)
	if !reflect.DeepEqual(pb, float) {
		t.Errorf("F32 state %v, want Params+Buffers %v", float, pb)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m, d, cfg := trainedTestModel(t)
	spec, err := TrainSpecOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{4, 8, 15, 16, 23, 42}
	path := filepath.Join(t.TempDir(), "ref-1.safetensors")
	info := ModelInfo{Arch: "test-resnet", InputShape: []int{3, 8, 8}, Seed: 3, Train: &spec,
		IndicesHash: HashIndices(idx), NumRecords: len(idx), Extra: map[string]string{"key": "v"}}
	if err := Save(path, m, info); err != nil {
		t.Fatal(err)
	}
	got, gotInfo, err := Load(path, Expect{IndicesHash: HashIndices(idx), InputShape: []int{3, 8, 8}, Layers: testResNetSpecs(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "ref-1" || gotInfo.Arch != "test-resnet" || gotInfo.Seed != 3 || gotInfo.NumRecords != 6 ||
		gotInfo.NumParams != m.NumParams() || gotInfo.Extra["key"] != "v" || gotInfo.Weights != "ref-1.safetensors" ||
		gotInfo.Format != SidecarFormat || !reflect.DeepEqual(*gotInfo.Train, spec) {
		t.Errorf("sidecar %+v", gotInfo)
	}
	sameSafetensors(t, StateDict(got, nil), StateDict(m, nil))
	// The loaded model computes bitwise the same outputs.
	want, err := Evaluate(context.Background(), m, d, EvalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Evaluate(context.Background(), got, d, EvalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range want.Logits.Data {
		if math.Float32bits(out.Logits.Data[i]) != math.Float32bits(v) {
			t.Fatalf("logit %d = %v after loading, %v before", i, out.Logits.Data[i], v)
		}
	}
	// The weights file carries the metadata.
	s, err := ReadSafetensorsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Metadata["format"] != "pt" || s.Metadata["pmeter.indices_hash"] != HashIndices(idx) || s.Metadata["pmeter.name"] != "ref-1" {
		t.Errorf("metadata %v", s.Metadata)
	}
	// The training configuration round-trips.
	back, err := gotInfo.Train.Config()
	if err != nil {
		t.Fatal(err)
	}
	if back.Epochs != cfg.Epochs || back.BatchSize != cfg.BatchSize || back.LR != cfg.LR || back.Seed != cfg.Seed ||
		back.Optimizer != cfg.Optimizer || back.Schedule != cfg.Schedule || back.Loss != (CrossEntropy{}) {
		t.Errorf("config %+v, want %+v", back, cfg)
	}
}

func TestLoadRefuses(t *testing.T) {
	m, _, _ := trainedTestModel(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	hash := HashIndices([]int{1, 2, 3})
	if err := Save(path, m, ModelInfo{InputShape: []int{3, 8, 8}, IndicesHash: hash}); err != nil {
		t.Fatal(err)
	}
	weights, _ := os.ReadFile(path)
	sidecar, _ := os.ReadFile(SidecarPath(path))
	restore := func() {
		os.WriteFile(path, weights, 0o644)
		os.WriteFile(SidecarPath(path), sidecar, 0o644)
	}
	editSidecar := func(f func(*ModelInfo)) {
		var info ModelInfo
		if err := json.Unmarshal(sidecar, &info); err != nil {
			t.Fatal(err)
		}
		f(&info)
		// A consistent forgery (checksum recomputed), so that the checks behind the checksum are tested.
		if err := WriteModelInfo(SidecarPath(path), info); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		setup func()
		want  Expect
		msg   []string
	}{
		{"other records", func() {}, Expect{IndicesHash: HashIndices([]int{1, 2, 4})}, []string{"m.json", "trained on records", hash}},
		{"other input", func() {}, Expect{InputShape: []int{3, 9, 9}}, []string{"input shape [3 8 8]", "want [3 9 9]"}},
		{"other architecture", func() {}, Expect{Layers: []LayerSpec{{Kind: KindFlatten}, {Kind: KindDense, In: 192, Out: 3}}}, []string{"architecture"}},
		{"weights changed", func() {
			b := append([]byte(nil), weights...)
			b[len(b)-1] ^= 1
			os.WriteFile(path, b, 0o644)
		}, Expect{}, []string{"m.safetensors", "SHA-256", "do not belong together"}},
		{"weights truncated", func() { os.WriteFile(path, weights[:len(weights)-3], 0o644) }, Expect{}, []string{"m.safetensors", "truncated"}},
		{"weights not safetensors", func() { os.WriteFile(path, []byte("PK\x03\x04 not a safetensors file"), 0o644) }, Expect{}, []string{"m.safetensors", "header length"}},
		{"sidecar missing", func() { os.Remove(SidecarPath(path)) }, Expect{}, []string{"m.json"}},
		{"sidecar corrupt", func() { os.WriteFile(SidecarPath(path), sidecar[:20], 0o644) }, Expect{}, []string{"m.json"}},
		{"sidecar edited", func() {
			// An edit that keeps the JSON valid (another seed) but not the self-checksum.
			b := bytes.Replace(sidecar, []byte(`"seed": 0`), []byte(`"seed": 7`), 1)
			if bytes.Equal(b, sidecar) {
				t.Fatalf("no seed in the sidecar:\n%s", sidecar)
			}
			os.WriteFile(SidecarPath(path), b, 0o644)
		}, Expect{}, []string{"m.json", "do not match the SHA-256 it records"}},
		{"sidecar format", func() { editSidecar(func(i *ModelInfo) { i.Format = "other/v9" }) }, Expect{}, []string{"m.json", "format"}},
		{"shape mismatch", func() {
			// A sidecar describing a wider last layer, with the weights' true hash: the shapes disagree.
			editSidecar(func(i *ModelInfo) { i.Layers[len(i.Layers)-1].Out = 4 })
		}, Expect{}, []string{"m.safetensors", `tensor "9.weight"`, "shape [3 8] in the file", "[4 8]"}},
		{"missing tensor", func() {
			editSidecar(func(i *ModelInfo) { i.Layers = append(i.Layers, LayerSpec{Kind: KindDense, In: 3, Out: 2}) })
		}, Expect{}, []string{"m.safetensors", `tensor "10.weight"`, "missing"}},
		{"extra tensors", func() {
			editSidecar(func(i *ModelInfo) { i.Layers = i.Layers[:len(i.Layers)-1] })
		}, Expect{}, []string{"m.safetensors", `"9.weight"`, "does not have"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			restore()
			c.setup()
			_, _, err := Load(path, c.want)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, s := range c.msg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
	restore()
	if _, _, err := Load(path, Expect{IndicesHash: hash}); err != nil {
		t.Fatalf("restored files: %v", err)
	}
}

func TestLoadWeightsRefusesAndKeepsModel(t *testing.T) {
	m, _, _ := trainedTestModel(t)
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := SaveWeights(path, m, nil); err != nil {
		t.Fatal(err)
	}
	other, _ := FromSpecs("other", []LayerSpec{{Kind: KindFlatten}, {Kind: KindDense, In: 192, Out: 3}})
	before := other.Params()[0].Value.Clone()
	err := LoadWeights(path, other)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
	if !reflect.DeepEqual(before.Data, other.Params()[0].Value.Data) {
		t.Error("a failed load changed the model")
	}
}

func TestHashIndices(t *testing.T) {
	// Expected values from Python: "sha256:" + hashlib.sha256(np.asarray(idx, dtype="<i8").tobytes()).hexdigest().
	cases := []struct {
		idx  []int
		want string
	}{
		{nil, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{[]int{0, 1, 2, 3, 4}, "sha256:281b02b10f5f4997e5bf8c93343e6f2aa8bc81ffad6d6813c593181ebceda12a"},
		{[]int{7, -1, 1 << 40}, "sha256:03b1d8e0406808a0687257ccb2a7190289024ee89e67a7ca09cb3b3e129ed7c0"},
	}
	for _, c := range cases {
		if got := HashIndices(c.idx); got != c.want {
			t.Errorf("HashIndices(%v) = %s, want %s", c.idx, got, c.want)
		}
	}
}

func TestTrainSpec(t *testing.T) {
	cfgs := []TrainConfig{
		{},
		{Epochs: 3, BatchSize: 64, LR: 0.1, Optimizer: SGD{Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4}, Schedule: LiRA{}, Seed: 1 << 63, Augment: LiRAAugment(), DropLast: true},
		{Optimizer: AdamW{WeightDecay: 0.01, Beta2: 0.98}, Schedule: StepDecay{Every: 2, Gamma: 0.5}, Loss: MSE{}},
		{Optimizer: Adam{Eps: 1e-6}, Schedule: Cosine{Warmup: 10, Min: 0.01}},
		{Epochs: 2, BatchSize: 32, DP: &DPConfig{NoiseMultiplier: 1.1, MaxGradNorm: 0.5, Sampling: SamplingPoisson, SamplingRate: 0.08,
			MicroBatch: 16, StepsPerEpoch: 13, ExpectedBatch: 32}},
		{DP: &DPConfig{NoiseMultiplier: 2, MaxGradNorm: 1, Sampling: SamplingShuffle}},
	}
	for i, cfg := range cfgs {
		s, err := TrainSpecOf(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(s)
		var s2 TrainSpec
		if err := json.Unmarshal(b, &s2); err != nil {
			t.Fatal(err)
		}
		got, err := s2.Config()
		if err != nil {
			t.Fatal(err)
		}
		want := cfg
		if want.Optimizer == nil {
			want.Optimizer = SGD{}
		}
		if want.Schedule == nil {
			want.Schedule = Constant{}
		}
		if want.Loss == nil {
			want.Loss = CrossEntropy{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("case %d: %s gives %+v, want %+v", i, b, got, want)
		}
		if cfg.DP != nil && !strings.Contains(string(b), `"sampling":"`+cfg.DP.Sampling+`"`) {
			t.Errorf("case %d: %s does not say the sampling", i, b)
		}
	}
	type other struct{ SGD }
	if _, err := TrainSpecOf(TrainConfig{Optimizer: other{}}); err == nil {
		t.Error("unknown optimizer described")
	}
	for _, s := range []TrainSpec{{Optimizer: OptimizerSpec{Kind: "lbfgs"}}, {Schedule: ScheduleSpec{Kind: "poly"}}, {Loss: "hinge"}} {
		if _, err := s.Config(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

// TestLoadTorchWrittenFile reads a state_dict that PyTorch wrote (with the independent writer of
// testdata/safetensors_torch.py) and checks that the model computes torch's outputs.
func TestLoadTorchWrittenFile(t *testing.T) {
	m, err := FromSpecs("torch", testResNetSpecs(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadWeights("testdata/torch_model.safetensors", m); err != nil {
		t.Fatal(err)
	}
	x := readNpyTensor(t, "testdata/torch_model_x.npy")
	y := readNpyTensor(t, "testdata/torch_model_y.npy")
	out, err := m.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "torch output", out.Data, refTensor{Shape: y.Shape, Data: y.Data})
	for _, l := range m.Layers {
		if bn, ok := l.(*BatchNorm); ok && bn.NumBatchesTracked != 7 {
			t.Errorf("num_batches_tracked = %d, want 7", bn.NumBatchesTracked)
		}
	}
}

func readNpyTensor(t *testing.T, path string) *Tensor {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != npy.Float32 {
		t.Fatalf("%s: dtype %v, want float32", path, a.Kind)
	}
	return &Tensor{Shape: a.Shape, Data: a.F32}
}

// TestTorchReadsSavedModel is the other direction: PyTorch loads a file written by Save (parsed with
// json + numpy, load_state_dict strict) and its forward pass matches ours. It needs /usr/bin/python3
// with torch and is skipped without it.
func TestTorchReadsSavedModel(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch, numpy").Run(); err != nil {
		t.Skipf("%s with torch and numpy not available: %v", py, err)
	}
	m, d, _ := trainedTestModel(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := Save(path, m, ModelInfo{InputShape: []int{3, 8, 8}}); err != nil {
		t.Fatal(err)
	}
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	if err := npy.WriteFile(xp, npy.NewFloat32(d.X.Data, d.X.Shape...)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/safetensors_torch.py", "read", path, SidecarPath(path), xp, yp).CombinedOutput()
	if err != nil {
		t.Fatalf("torch: %v\n%s", err, out)
	}
	want := readNpyTensor(t, yp)
	got, err := m.Forward(d.X, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		t.Fatalf("torch output shape %v, ours %v", want.Shape, got.Shape)
	}
	closeTo(t, "output vs torch", got.Data, refTensor{Shape: want.Shape, Data: want.Data})
}

// TestSidecarChecksum: Save records the sidecar's self-checksum, and a sidecar from before it did (no
// sha256 field) still loads, with SHA256 empty for its caller to judge.
func TestSidecarChecksum(t *testing.T) {
	m, _, _ := trainedTestModel(t)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, m, ModelInfo{InputShape: []int{3, 8, 8}, Extra: map[string]string{"final_loss": "0.25"}}); err != nil {
		t.Fatal(err)
	}
	info, err := ReadModelInfo(SidecarPath(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.SHA256) != 64 {
		t.Fatalf("sidecar records SHA-256 %q", info.SHA256)
	}
	// The old format: the same sidecar without its sha256 line.
	b, _ := os.ReadFile(SidecarPath(path))
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, `"sha256"`) {
			lines = append(lines, l)
		}
	}
	old := strings.Replace(strings.Join(lines, "\n"), `"weights_sha256": "`+info.WeightsSHA256+`",`, `"weights_sha256": "`+info.WeightsSHA256+`"`, 1)
	if err := os.WriteFile(SidecarPath(path), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	_, legacy, err := Load(path, Expect{})
	if err != nil {
		t.Fatalf("old-format sidecar: %v\n%s", err, old)
	}
	if legacy.SHA256 != "" {
		t.Errorf("old-format sidecar read with SHA256 %q", legacy.SHA256)
	}
	// Rewriting it adds the checksum of the same contents.
	if err := WriteModelInfo(SidecarPath(path), *legacy); err != nil {
		t.Fatal(err)
	}
	again, err := ReadModelInfo(SidecarPath(path))
	if err != nil {
		t.Fatalf("rewritten sidecar: %v", err)
	}
	if again.SHA256 != info.SHA256 {
		t.Errorf("rewritten sidecar: SHA-256 %q, want %q", again.SHA256, info.SHA256)
	}
}
