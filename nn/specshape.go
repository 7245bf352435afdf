package nn

import (
	"fmt"
	"math"
	"slices"
)

// SpecSummary describes an architecture, given as layer specs, on records of one shape, computed
// without building it: no parameter is allocated, so a plan can check (and refuse) a model far too
// large to build.
type SpecSummary struct {
	// Specs are the layer specs with the In of every dense, conv2d and batchnorm layer that left it 0
	// set to what the layer's input has (features or channels).
	Specs []LayerSpec
	// Out is the per-record output shape.
	Out []int
	// Params counts the trainable parameters, Buffers the other state (batch-norm running statistics).
	Params, Buffers int64
	// Activations sums the per-record sizes of every layer's output (both branches of a residual
	// block): the values a forward pass keeps per record for the backward pass.
	Activations int64
	// Workspace is the largest per-record scratch space of one layer (a convolution's unfolded input).
	Workspace int64
	// Kept counts the values of Activations that a training step actually stores per record: a ReLU
	// fused into the convolution, batch norm or residual block before it, and a flatten, share their
	// input's storage
	// (as Sequential.Cost counts them).
	Kept int64
	// MaxOut is the largest per-record output of one layer (or the input), the size of the shared
	// input-gradient buffers; MaxResidual the largest inside a residual block (or at its input),
	// whose backward pass needs two more of them.
	MaxOut, MaxResidual int64
	// Scratch counts the float32 values of the convolutions' own buffers (patch matrices and
	// products of one chunk of images), which do not grow with the batch beyond a few images.
	Scratch int64
	// ForwardFLOPs counts the multiply-adds (two operations each) of the convolutions and dense layers
	// in a forward pass of one record; TrainFLOPs adds the backward pass: every such layer's weight
	// gradient and the input gradient of all but the first. Element-wise work is left out.
	ForwardFLOPs, TrainFLOPs float64

	seenWeights bool // a layer with weights was counted: later ones compute input gradients
}

// Summarize walks specs on records of per-record shape in, fills in the In that a dense, conv2d or
// batchnorm layer leaves 0, and counts parameters and activations. Errors name the layer, what its
// input is and what the spec asks for, as FromSpecs and OutShape do.
func Summarize(specs []LayerSpec, in []int) (*SpecSummary, error) {
	for i, d := range in {
		if d <= 0 {
			return nil, fmt.Errorf("nn: input shape %v: dimension %d is not positive", in, i)
		}
	}
	s := &SpecSummary{MaxOut: numel64(in)}
	out, err := s.chain(specs, in, &s.Specs, "layer ")
	if err != nil {
		return nil, err
	}
	s.Out = out
	return s, nil
}

// chain summarises the layers of specs in order, appending the filled-in specs to *filled.
func (s *SpecSummary) chain(specs []LayerSpec, in []int, filled *[]LayerSpec, prefix string) ([]int, error) {
	shape := slices.Clone(in)
	for i, spec := range specs {
		out, err := s.layer(&spec, shape, fmt.Sprintf("%s%d", prefix, i))
		if err != nil {
			return nil, err
		}
		// Kept, as activations (cost.go) counts what Forward stores.
		shared := spec.Kind == KindFlatten
		if spec.Kind == KindReLU && i > 0 {
			k := specs[i-1].Kind
			shared = k == KindConv2D || k == KindBatchNorm || k == KindResidual
		}
		if !shared {
			s.Kept = addSat(s.Kept, numel64(out))
		}
		*filled = append(*filled, spec)
		shape = out
	}
	return shape, nil
}

// layer summarises one layer, filling in spec.In, and returns its per-record output shape.
func (s *SpecSummary) layer(spec *LayerSpec, in []int, name string) ([]int, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("nn: %s (%s): %s", name, spec.Kind, fmt.Sprintf(format, a...))
	}
	// fillIn sets spec.In from the input's features or channels, or checks the In the spec gives.
	fillIn := func(have int, what string) error {
		switch {
		case spec.In == 0:
			spec.In = have
		case spec.In != have:
			return fail("in = %d, but its input has %d %s (input shape %v); leave in out to take it from the input", spec.In, have, what, in)
		}
		return nil
	}
	var out []int
	var params, work int64
	var macs float64
	switch spec.Kind {
	case KindDense:
		if len(in) != 1 {
			return nil, fail("input shape %v, want a vector of features (add a flatten layer for images)", in)
		}
		if err := fillIn(in[0], "features"); err != nil {
			return nil, err
		}
		if spec.Out <= 0 {
			return nil, fail("out = %d, want a positive number of features", spec.Out)
		}
		params = mulSat(spec.In, spec.Out)
		if !spec.NoBias {
			params = addSat(params, int64(spec.Out))
		}
		macs = float64(spec.In) * float64(spec.Out)
		out = []int{spec.Out}
	case KindConv2D:
		if len(in) != 3 {
			return nil, fail("input shape %v, want [channels height width]", in)
		}
		if err := fillIn(in[0], "channels"); err != nil {
			return nil, err
		}
		stride := spec.Stride
		if stride == 0 {
			stride = 1
		}
		if spec.Out <= 0 || spec.Kernel <= 0 || stride < 0 || spec.Padding < 0 {
			return nil, fail("out=%d kernel=%d stride=%d padding=%d: need positive sizes and non-negative padding", spec.Out, spec.Kernel, spec.Stride, spec.Padding)
		}
		ho, wo := convOut(in[1], spec.Kernel, stride, spec.Padding), convOut(in[2], spec.Kernel, stride, spec.Padding)
		if ho <= 0 || wo <= 0 {
			return nil, fail("input %v too small for kernel %d with padding %d", in, spec.Kernel, spec.Padding)
		}
		kk := mulSat(spec.Kernel, spec.Kernel)
		params = mulSat64(mulSat(spec.In, spec.Out), kk)
		if !spec.NoBias {
			params = addSat(params, int64(spec.Out))
		}
		work = mulSat64(mulSat64(int64(spec.In), kk), mulSat(ho, wo))
		// Conv2D's patch matrix and its gradient, and the product, of a chunk of images (Conv2D.chunk);
		// none for a pointwise convolution (but its subsampled input with a stride), and an image's phase planes and their gradient for a
		// phased one (conv_strided.go).
		switch {
		case spec.Kernel == 1 && spec.Padding == 0:
			if stride > 1 { // the subsampled input, kept for the backward pass
				s.Kept = addSat(s.Kept, mulSat64(int64(spec.In), mulSat(ho, wo)))
			}
		default:
			ch := max(1, colsBudget/max(work, 1))
			s.Scratch = addSat(s.Scratch, mulSat64(ch, addSat(2*work, mulSat(spec.Out, ho*wo))))
			if stride > 1 && spec.Kernel > 1 && in[1]%stride == 0 && in[2]%stride == 0 && ho == in[1]/stride && wo == in[2]/stride {
				s.Scratch = addSat(s.Scratch, 2*mulSat64(int64(spec.In), mulSat(in[1], in[2])))
			}
		}
		macs = float64(spec.Out) * float64(spec.In) * float64(kk) * float64(ho) * float64(wo)
		out = []int{spec.Out, ho, wo}
	case KindBatchNorm:
		if len(in) == 0 {
			return nil, fail("empty input shape")
		}
		if err := fillIn(in[0], "channels"); err != nil {
			return nil, err
		}
		if _, err := NewBatchNorm(1, spec.Eps, spec.Momentum); err != nil {
			return nil, fail("%v", err)
		}
		params = 2 * int64(spec.In)
		s.Buffers = addSat(s.Buffers, 2*int64(spec.In))
		out = slices.Clone(in)
	case KindResidual:
		if len(spec.Body) == 0 {
			return nil, fail("empty body")
		}
		var body, shortcut []LayerSpec
		outer := s.MaxOut
		s.MaxOut = numel64(in)
		b, err := s.chain(spec.Body, in, &body, name+" body layer ")
		if err != nil {
			return nil, err
		}
		sc, err := s.chain(spec.Shortcut, in, &shortcut, name+" shortcut layer ")
		if err != nil {
			return nil, err
		}
		if !slices.Equal(b, sc) {
			return nil, fail("body gives %v, shortcut gives %v", b, sc)
		}
		spec.Body, spec.Shortcut = body, shortcut
		s.MaxResidual = max(s.MaxResidual, s.MaxOut)
		s.MaxOut = max(outer, s.MaxOut)
		out = b
	default:
		// The other layers have no parameters: building them allocates nothing.
		l, err := spec.Build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if out, err = l.OutShape(in); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	s.Params = addSat(s.Params, params)
	s.Workspace = max(s.Workspace, work)
	if macs > 0 {
		s.ForwardFLOPs += 2 * macs
		s.TrainFLOPs += 4 * macs // forward and weight gradient
		if s.seenWeights {
			s.TrainFLOPs += 2 * macs // input gradient
		}
		s.seenWeights = true
	}
	size := int64(1)
	for _, d := range out {
		size = mulSat64(size, int64(d))
	}
	s.Activations = addSat(s.Activations, size)
	s.MaxOut = max(s.MaxOut, size)
	return out, nil
}

func numel64(shape []int) int64 {
	n := int64(1)
	for _, d := range shape {
		n = mulSat64(n, int64(d))
	}
	return n
}

// TrainMemory returns about the bytes one model of this architecture holds while it trains (Train,
// outside DP-SGD) on batches of batch records with an optimizer keeping moments values per parameter
// (Adam: 2; SGD with momentum: 1): the weights, their gradients and the moments; the batch-norm
// running statistics; the values each layer keeps for the backward pass (Kept per record); the
// input-gradient buffers the layers share (two of the largest output per record, and two of the
// largest inside a residual block); and the convolutions' scratch buffers. The training data and the Go runtime's own
// overhead come on top.
//
// Calibrated against the live heap after an epoch of training with Adam (runtime.MemStats.HeapAlloc
// after a collection, measured 2026-12 on the 2-core shared machine, one goroutine per product): for
// WRN-28-2 on 3×32×32 images at batch 128 the estimate is 725 MiB, the heap 716 MiB and the process's
// peak RSS 782 MiB; at batch 32 224, 214 and 241 MiB; cnn2 at batch 256 133, 122 and 158 MiB. (The
// former estimate, twice the activations of every layer plus a batch of unfolded inputs, said 1,993
// MiB for WRN-28-2 at batch 128.) TestTrainMemoryEstimate holds it within [0.8, 1.5]× of the heap on
// small models, where the convolutions' scratch weighs more.
func (s *SpecSummary) TrainMemory(batch, moments int) int64 {
	grads := addSat(2*s.MaxOut, 2*s.MaxResidual)
	values := mulSat64(int64(2+moments), s.Params)
	values = addSat(values, s.Buffers)
	values = addSat(values, mulSat64(int64(batch), addSat(s.Kept, grads)))
	values = addSat(values, s.Scratch)
	return mulSat64(4, values)
}

// mulSat, mulSat64 and addSat are products and sums of non-negative sizes that saturate at MaxInt64
// instead of overflowing, so that an absurd spec yields an absurd (refusable) count, never a negative one.
func mulSat(a, b int) int64 { return mulSat64(int64(a), int64(b)) }

func mulSat64(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
