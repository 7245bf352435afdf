package nn

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/internal/jsonsum"
	"github.com/pmeter/pmeter/npy"
)

// SidecarFormat identifies the schema of the JSON sidecar that Save writes beside the weights.
const SidecarFormat = "pmeter.nn.model/v1"

// ModelInfo is the JSON sidecar of a saved model: everything needed to rebuild the model and to tell
// whether it is the model a run expects, except the weights themselves.
type ModelInfo struct {
	Format     string      `json:"format"`         // SidecarFormat
	Name       string      `json:"name"`           // the model's name (Sequential.Name)
	Arch       string      `json:"arch,omitempty"` // architecture name (for example a zoo name), informational
	InputShape []int       `json:"input_shape"`    // per-record input shape, e.g. [3, 32, 32]
	Layers     []LayerSpec `json:"layers"`         // the architecture, as FromSpecs takes it
	NumParams  int         `json:"num_params"`     // trainable scalars
	Seed       uint64      `json:"seed"`           // the seed the model was initialised with
	Train      *TrainSpec  `json:"train,omitempty"`
	// IndicesHash identifies the training records: HashIndices of their indices in the data set.
	IndicesHash string `json:"indices_hash,omitempty"`
	NumRecords  int    `json:"num_records,omitempty"` // training records
	Backend     string `json:"backend,omitempty"`     // BLAS backend of the process that saved the model
	// Extra holds free-form fields of the caller (for example the key of a model cache).
	Extra map[string]string `json:"extra,omitempty"`
	// Weights is the base name of the weights file and WeightsSHA256 the hex SHA-256 of its bytes, which
	// ties the two files together.
	Weights       string `json:"weights"`
	WeightsSHA256 string `json:"weights_sha256"`
	// SHA256 is the sidecar's self-checksum: jsonsum.SHA256 of the sidecar with SHA256 itself empty, so
	// that an edited or damaged sidecar is refused rather than trusted. A sidecar written before pmeter
	// recorded it has none (see ReadModelInfo).
	SHA256 string `json:"sha256,omitempty"`
}

// Expect lists what Load checks a saved model against; zero fields are not checked.
type Expect struct {
	IndicesHash string      // the model must have been trained on these records (HashIndices)
	InputShape  []int       // per-record input shape
	Layers      []LayerSpec // architecture (compared after filling in defaults)
}

// HashIndices identifies a list of training-record indices: "sha256:" followed by the hex SHA-256 of
// the indices, in the order given, as consecutive 8-byte little-endian signed integers. In Python:
// "sha256:" + hashlib.sha256(numpy.asarray(idx, dtype="<i8").tobytes()).hexdigest().
func HashIndices(idx []int) string {
	h := sha256.New()
	var b [8]byte
	for _, i := range idx {
		binary.LittleEndian.PutUint64(b[:], uint64(int64(i)))
		h.Write(b[:])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// SidecarPath returns the path of the JSON sidecar of a weights file: the path with its .safetensors
// extension replaced by .json ("ref-3.safetensors" → "ref-3.json"), or with .json appended.
func SidecarPath(weights string) string {
	return strings.TrimSuffix(weights, ".safetensors") + ".json"
}

// stateEntry is one tensor of a model's state: a float32 parameter or buffer, or the integer
// num_batches_tracked of a batch-norm layer.
type stateEntry struct {
	name  string
	value *Tensor
	bn    *BatchNorm
}

// stateEntries lists a model's state with PyTorch state_dict names, layer by layer as torch orders
// them: parameters, then buffers, then num_batches_tracked.
func stateEntries(m *Sequential) []stateEntry {
	var es []stateEntry
	for i, l := range m.Layers {
		es = appendLayerState(es, strconv.Itoa(i)+".", l)
	}
	return es
}

func appendLayerState(es []stateEntry, prefix string, l Layer) []stateEntry {
	if r, ok := l.(*Residual); ok {
		for i, b := range r.Body {
			es = appendLayerState(es, prefix+"body."+strconv.Itoa(i)+".", b)
		}
		for i, b := range r.Shortcut {
			es = appendLayerState(es, prefix+"shortcut."+strconv.Itoa(i)+".", b)
		}
		return es
	}
	for _, p := range l.Params() {
		es = append(es, stateEntry{name: prefix + p.Name, value: p.Value})
	}
	if b, ok := l.(Bufferer); ok {
		for _, p := range b.Buffers() {
			es = append(es, stateEntry{name: prefix + p.Name, value: p.Value})
		}
	}
	if bn, ok := l.(*BatchNorm); ok {
		es = append(es, stateEntry{name: prefix + "num_batches_tracked", bn: bn})
	}
	return es
}

// StateDict returns the model's state as PyTorch's state_dict holds it: every parameter and buffer as
// an F32 tensor named like "0.weight" or "3.body.1.running_mean", and each batch-norm layer's
// num_batches_tracked as an I64 scalar. The F32 values share the model's storage.
func StateDict(m *Sequential, metadata map[string]string) *Safetensors {
	es := stateEntries(m)
	s := &Safetensors{Metadata: metadata, Tensors: make([]SafeTensor, len(es))}
	for i, e := range es {
		if e.bn != nil {
			s.Tensors[i] = SafeTensor{Name: e.name, DType: "I64", Shape: []int{}, I64: []int64{e.bn.NumBatchesTracked}}
			continue
		}
		s.Tensors[i] = SafeTensor{Name: e.name, DType: "F32", Shape: append([]int(nil), e.value.Shape...), F32: e.value.Data}
	}
	return s
}

// SetState copies the tensors of s into the model's parameters and buffers. s must hold exactly the
// model's state (see StateDict) with the same shapes; errors name the tensor and both shapes. The
// model is unchanged on error.
func SetState(m *Sequential, s *Safetensors) error {
	es := stateEntries(m)
	byName := make(map[string]*SafeTensor, len(s.Tensors))
	for i := range s.Tensors {
		byName[s.Tensors[i].Name] = &s.Tensors[i]
	}
	for _, e := range es {
		t := byName[e.name]
		if t == nil {
			return fmt.Errorf("tensor %q of model %q is missing", e.name, m.Name)
		}
		if e.bn != nil {
			if t.DType != "I64" || len(t.Shape) > 1 || len(t.I64) != 1 {
				return fmt.Errorf("tensor %q: %s %v, want an I64 scalar", e.name, t.DType, t.Shape)
			}
			continue
		}
		if t.DType != "F32" {
			return fmt.Errorf("tensor %q: dtype %s, want F32", e.name, t.DType)
		}
		if !slices.Equal(t.Shape, e.value.Shape) {
			return fmt.Errorf("tensor %q: shape %v in the file, model %q has %v", e.name, t.Shape, m.Name, e.value.Shape)
		}
	}
	if len(s.Tensors) != len(es) {
		known := make(map[string]bool, len(es))
		for _, e := range es {
			known[e.name] = true
		}
		var extra []string
		for _, t := range s.Tensors {
			if !known[t.Name] {
				extra = append(extra, strconv.Quote(t.Name))
			}
		}
		if len(extra) > 5 {
			extra = append(extra[:5], "…")
		}
		return fmt.Errorf("%d tensors that model %q does not have: %s", len(s.Tensors)-len(es), m.Name, strings.Join(extra, ", "))
	}
	for _, e := range es {
		t := byName[e.name]
		if e.bn != nil {
			e.bn.NumBatchesTracked = t.I64[0]
		} else {
			copy(e.value.Data, t.F32)
		}
	}
	return nil
}

// SaveWeights writes the model's state (StateDict) to a safetensors file, atomically. PyTorch reads it
// with safetensors.torch.load_file and load_state_dict into the same architecture.
func SaveWeights(path string, m *Sequential, metadata map[string]string) error {
	if err := WriteSafetensorsFile(path, StateDict(m, metadata)); err != nil {
		return fmt.Errorf("nn: save model %q: %w", m.Name, err)
	}
	return nil
}

// LoadWeights reads a safetensors file (written by SaveWeights, or by PyTorch from the state_dict of
// the same architecture) into m; see SetState.
func LoadWeights(path string, m *Sequential) error {
	s, err := ReadSafetensorsFile(path)
	if err != nil {
		return fmt.Errorf("nn: load: %w", err)
	}
	if err := SetState(m, s); err != nil {
		return fmt.Errorf("nn: load %s: %w", path, err)
	}
	return nil
}

// Save writes a trained model: its weights to path (safetensors, conventionally "<name>.safetensors")
// and info to the JSON sidecar SidecarPath(path). The caller fills in InputShape (required) and what it
// knows of Arch, Seed, Train, IndicesHash, NumRecords and Extra; Save sets the other fields. Each file
// is written atomically, the weights first; the sidecar records their SHA-256, so that a crash between
// the two writes, or files mixed up later, make Load fail rather than return the wrong model.
func Save(path string, m *Sequential, info ModelInfo) error {
	if m == nil {
		return errors.New("nn: save: nil model")
	}
	if _, err := m.OutShape(info.InputShape); err != nil {
		return fmt.Errorf("nn: save %s: input shape %v: %w", path, info.InputShape, err)
	}
	info.Format = SidecarFormat
	if info.Name == "" {
		info.Name = m.Name
	}
	info.InputShape = append([]int(nil), info.InputShape...)
	info.Layers = m.Specs()
	info.NumParams = m.NumParams()
	if info.Backend == "" {
		info.Backend = Backend()
	}
	info.Weights = filepath.Base(path)
	meta := map[string]string{"format": "pt", "pmeter.name": info.Name}
	if info.IndicesHash != "" {
		meta["pmeter.indices_hash"] = info.IndicesHash
	}
	h := sha256.New()
	err := npy.WriteAtomic(path, func(w io.Writer) error {
		return EncodeSafetensors(io.MultiWriter(w, h), StateDict(m, meta))
	})
	if err != nil {
		return fmt.Errorf("nn: save model %q: %w", m.Name, err)
	}
	info.WeightsSHA256 = hex.EncodeToString(h.Sum(nil))
	if err := WriteModelInfo(SidecarPath(path), info); err != nil {
		return fmt.Errorf("nn: save model %q: %w", m.Name, err)
	}
	return nil
}

// selfHash returns the SHA-256 that info records of itself.
func (info ModelInfo) selfHash() (string, error) {
	info.SHA256 = ""
	return jsonsum.SHA256(info)
}

// WriteModelInfo writes info atomically as the JSON sidecar at path, with its self-checksum SHA256
// computed afresh. Save calls it; a caller that keeps a sidecar written before pmeter recorded
// checksums (see ReadModelInfo) calls it to add one.
func WriteModelInfo(path string, info ModelInfo) error {
	var err error
	if info.SHA256, err = info.selfHash(); err != nil {
		return fmt.Errorf("sidecar %s: %w", path, err)
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("sidecar %s: %w", path, err)
	}
	return npy.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// ReadModelInfo reads the JSON sidecar of a saved model (the path of the sidecar itself) and verifies
// its self-checksum: a sidecar whose contents do not match the SHA-256 it records is an error that
// names the file. A sidecar without a checksum (written by a pmeter from before sidecars recorded one,
// or by another tool) is returned with SHA256 empty: its weights are still checked against
// weights_sha256 by Load, and the caller decides whether to trust the rest.
func ReadModelInfo(path string) (*ModelInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: model sidecar: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var info ModelInfo
	if err := dec.Decode(&info); err != nil {
		return nil, fmt.Errorf("nn: model sidecar %s: %w", path, err)
	}
	if info.Format != SidecarFormat {
		return nil, fmt.Errorf("nn: model sidecar %s: format %q, want %q", path, info.Format, SidecarFormat)
	}
	if info.SHA256 != "" {
		sum, err := info.selfHash()
		if err != nil {
			return nil, fmt.Errorf("nn: model sidecar %s: %w", path, err)
		}
		if sum != info.SHA256 {
			return nil, fmt.Errorf("nn: model sidecar %s: damaged or edited: its contents do not match the SHA-256 it records", path)
		}
	}
	if len(info.Layers) == 0 || len(info.InputShape) == 0 || len(info.WeightsSHA256) != 64 {
		return nil, fmt.Errorf("nn: model sidecar %s: needs layers, input_shape and weights_sha256", path)
	}
	return &info, nil
}

// Load reads a model saved by Save from path (the weights file; the sidecar is SidecarPath(path)),
// checks it against want, and returns it with its sidecar. It refuses, with an error naming the file:
// a sidecar that does not match the weights (SHA-256), a model trained on other records, input shape or
// architecture than want says, and weights whose names, dtypes or shapes do not match the architecture
// (naming the tensor and both shapes).
func Load(path string, want Expect) (*Sequential, *ModelInfo, error) {
	sidecar := SidecarPath(path)
	info, err := ReadModelInfo(sidecar)
	if err != nil {
		return nil, nil, err
	}
	if want.IndicesHash != "" && info.IndicesHash != want.IndicesHash {
		return nil, nil, fmt.Errorf("nn: load %s: model %q was trained on records %q, want %q", sidecar, info.Name, info.IndicesHash, want.IndicesHash)
	}
	if want.InputShape != nil && !slices.Equal(want.InputShape, info.InputShape) {
		return nil, nil, fmt.Errorf("nn: load %s: model %q takes input shape %v, want %v", sidecar, info.Name, info.InputShape, want.InputShape)
	}
	m, err := FromSpecs(info.Name, info.Layers)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: load %s: %w", sidecar, err)
	}
	if _, err := m.OutShape(info.InputShape); err != nil {
		return nil, nil, fmt.Errorf("nn: load %s: %w", sidecar, err)
	}
	if want.Layers != nil {
		if err := sameArchitecture(m, want.Layers); err != nil {
			return nil, nil, fmt.Errorf("nn: load %s: %w", sidecar, err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: load: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	s, err := DecodeSafetensors(io.TeeReader(bufio.NewReaderSize(f, 1<<20), h))
	if err != nil {
		return nil, nil, fmt.Errorf("nn: load %s: %w", path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != info.WeightsSHA256 {
		return nil, nil, fmt.Errorf("nn: load %s: SHA-256 %s…, but the sidecar %s records %s… (the files do not belong together)",
			path, sum[:12], sidecar, info.WeightsSHA256[:12])
	}
	if err := SetState(m, s); err != nil {
		return nil, nil, fmt.Errorf("nn: load %s: %w", path, err)
	}
	return m, info, nil
}

// sameArchitecture compares m's layers with specs after filling in defaults on both sides.
func sameArchitecture(m *Sequential, specs []LayerSpec) error {
	w, err := FromSpecs("expected", specs)
	if err != nil {
		return fmt.Errorf("expected architecture: %w", err)
	}
	a, _ := json.Marshal(m.Specs())
	b, _ := json.Marshal(w.Specs())
	if !bytes.Equal(a, b) {
		return fmt.Errorf("model %q has architecture %s, want %s", m.Name, a, b)
	}
	return nil
}
