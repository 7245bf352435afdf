package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmeter/pmeter/nn"
)

// maxFileSize bounds the size of an .onnx file Load reads (protobuf itself limits messages to 2 GiB).
const maxFileSize = 2 << 30

// Model is an ONNX model imported as an nn.Sequential.
type Model struct {
	// Net computes the model: records × InputShape → records × OutputShape. Its parameters hold the
	// ONNX weights, named like a PyTorch state_dict by layer index ("0.weight"), not by ONNX names.
	Net *nn.Sequential
	// InputName and OutputName are the ONNX names of the graph's input and output.
	InputName, OutputName string
	// InputShape is the per-record input shape (without the batch dimension), for example [3 32 32]
	// for NCHW images; OutputShape the per-record output shape, for a classifier [classes].
	InputShape, OutputShape []int
	// Batch is the batch size written in the graph's input shape, or 0 when it is symbolic. Net accepts
	// any number of records either way.
	Batch int
	// Opset is the version of the default ("ai.onnx") operator set the model was written for, IRVersion
	// the ONNX IR version, and Producer the exporting tool ("pytorch 1.13.0").
	Opset, IRVersion int64
	Producer         string
	// Warnings lists what the import changed or could not verify, for example a stripped output
	// softmax.
	Warnings []string
}

// Options configures DecodeWith and LoadWith. The zero value is what Decode and Load use.
type Options struct {
	// Name names Net (default: the file's base name without extension, or "onnx").
	Name string
	// InputShape is the per-record input shape to use when the graph leaves dimensions other than the
	// batch symbolic or unknown (for example [3 32 32]). Known dimensions must agree with it.
	InputShape []int
	// KeepSoftmax keeps a Softmax or LogSoftmax that produces the graph output. By default it is
	// stripped, so that Net returns logits (what nn.Evaluate and the attacks need), and a warning says so.
	KeepSoftmax bool
}

// ErrInputShape is returned (wrapped) when the graph's input shape has unknown dimensions other than
// the batch and Options.InputShape does not supply them.
var ErrInputShape = errors.New("input shape unknown")

// readFile reads an .onnx file whole, refusing one above the 2 GiB protobuf limit before reading it.
func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("onnx: %s: %d bytes is larger than the 2 GiB protobuf limit", path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return b, nil
}

// Load reads an .onnx file and imports it (see DecodeWith). Errors name the file.
func Load(path string) (*Model, error) { return LoadWith(path, Options{}) }

// LoadWith reads an .onnx file and imports it with the given options. Errors name the file.
func LoadWith(path string, opt Options) (*Model, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	if opt.Name == "" {
		opt.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	m, err := decode(b, opt)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return m, nil
}

// Decode imports a serialized ONNX ModelProto (see DecodeWith).
func Decode(data []byte) (*Model, error) { return DecodeWith(data, Options{}) }

// DecodeWith imports a serialized ONNX ModelProto as an nn.Sequential.
//
// The graph must have one float input with records along its first dimension and one output, and
// its nodes must form a chain from the input to the output, where a value may fork into two branches
// that are summed by an Add (a residual block, nn.Residual). Operators of the default domain, with the semantics of
// opsets 7 to 21 (a model of another opset gets a warning):
//
//	Gemm (transA=0; any transB, alpha, beta)      → nn.Dense
//	MatMul with a constant 2-D right operand      → nn.Dense (an Add or Sub of a constant that follows
//	                                                 a Dense or Conv becomes its bias)
//	Conv (2-D, square kernel, equal strides, symmetric padding, group=1, dilations=1)  → nn.Conv2D
//	MaxPool, AveragePool (2-D, square, symmetric padding, no dilation; AveragePool with
//	    count_include_pad=1 when padded)          → nn.MaxPool2D, nn.AvgPool2D
//	GlobalAveragePool                             → nn.GlobalAvgPool
//	BatchNormalization (inference)                → nn.BatchNorm (ONNX momentum m → PyTorch 1 − m)
//	Relu, Sigmoid, Tanh                           → nn.ReLU, nn.Sigmoid, nn.Tanh
//	Dropout (inference)                           → nn.Dropout (the identity in evaluation)
//	Flatten, Reshape (to records × …), Squeeze, Unsqueeze, Transpose (of size-1 axes only)
//	                                              → nn.Flatten or a view layer
//	LeakyRelu, Softmax, LogSoftmax                → layers of this package
//	Add, Sub, Mul, Div with a constant operand that broadcasts over records → a layer of this package
//	Pad (constant zeros on H and W) before Conv or AveragePool → their padding
//	Identity, Constant; Shape, Gather, Unsqueeze, Squeeze, Concat, Cast on constants and shapes
//	                                              → folded
//
// An unsupported operator or attribute gives one error that lists every such node by name and type.
// A Softmax or LogSoftmax producing the output (over the class axis of records × classes) is stripped
// unless opt.KeepSoftmax is set, and Warnings says so. The batch size written in the graph is not
// enforced: Net takes any number of records.
func DecodeWith(data []byte, opt Options) (*Model, error) {
	m, err := decode(data, opt)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return m, nil
}

func decode(data []byte, opt Options) (*Model, error) {
	mp, err := decodeModel(data)
	if err != nil {
		return nil, fmt.Errorf("decode %w", err)
	}
	return convert(mp, opt, len(data))
}

// Fresh returns a new model with the architecture of m.Net, its parameters drawn afresh from seed
// with PyTorch's default initialisation (nn.Sequential.Init), for training reference models like the
// audited one. Constant operands of element-wise layers (for example an input normalisation) are kept.
// Unlike nn.FromSpecs(name, m.Net.Specs()), it also rebuilds the layers of this package.
func (m *Model) Fresh(name string, seed uint64) (*nn.Sequential, error) {
	layers, err := freshLayers(m.Net.Layers)
	if err != nil {
		return nil, fmt.Errorf("onnx: model %q: %w", m.Net.Name, err)
	}
	s := nn.NewSequential(name, layers...)
	s.Init(seed)
	return s, nil
}

func freshLayers(ls []nn.Layer) ([]nn.Layer, error) {
	out := make([]nn.Layer, len(ls))
	for i, l := range ls {
		switch l := l.(type) {
		case freshener:
			out[i] = l.fresh()
		case *nn.Residual:
			body, err := freshLayers(l.Body)
			if err != nil {
				return nil, fmt.Errorf("layer %d: body: %w", i, err)
			}
			short, err := freshLayers(l.Shortcut)
			if err != nil {
				return nil, fmt.Errorf("layer %d: shortcut: %w", i, err)
			}
			out[i] = nn.NewResidual(body, short)
		default:
			nl, err := l.Spec().Build()
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			out[i] = nl
		}
	}
	return out, nil
}

// freshener is implemented by the layers of this package: fresh returns a copy with fresh buffers
// (and no trainable parameters to initialise).
type freshener interface {
	fresh() nn.Layer
}
