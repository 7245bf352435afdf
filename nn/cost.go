package nn

import "fmt"

// Cost is the arithmetic and memory of training a model, per record, counted from its layers'
// shapes (see Sequential.Cost).
type Cost struct {
	Params int // trainable scalars
	// ForwardFLOPs counts the multiply-adds (as two operations each) of the convolutions and dense
	// layers of one forward pass of one record; element-wise work (batch norm, activations,
	// pooling) is left out, as is usual.
	ForwardFLOPs float64
	// TrainFLOPs adds the backward pass: the weight gradient of every such layer and the input
	// gradient of all but the first (each as many operations as the forward product).
	TrainFLOPs float64
	// Activations is the number of float32 values per record that a training step keeps between
	// forward and backward: the output of every layer (a ReLU fused into the layer before it, a
	// convolution, batch norm or residual block, and a flatten, which share their input's storage,
	// are not counted twice).
	Activations int
}

// Cost returns the training cost per record of m for a per-record input shape in (for example
// [3 32 32]), or an error if the model cannot take that shape.
func (m *Sequential) Cost(in []int) (Cost, error) {
	if _, err := m.OutShape(in); err != nil {
		return Cost{}, err
	}
	sum, err := Summarize(m.Specs(), in)
	if err != nil {
		return Cost{}, fmt.Errorf("nn: model %q: %w", m.Name, err)
	}
	c := Cost{Params: m.NumParams(), ForwardFLOPs: sum.ForwardFLOPs, TrainFLOPs: sum.TrainFLOPs}
	if c.Activations, err = activations(m.Layers, in); err != nil {
		return Cost{}, fmt.Errorf("nn: model %q: %w", m.Name, err)
	}
	return c, nil
}

// activations returns the float32 values per record that a chain of layers keeps from forward to
// backward.
func activations(layers []Layer, in []int) (int, error) {
	n, s := 0, in
	for i, l := range layers {
		out, err := l.OutShape(s)
		if err != nil {
			return 0, err
		}
		if r, ok := l.(*Residual); ok {
			for _, part := range [][]Layer{r.Body, r.Shortcut} {
				k, err := activations(part, s)
				if err != nil {
					return 0, err
				}
				n += k
			}
		}
		shared := false
		switch l.(type) {
		case *Flatten:
			shared = true
		case *ReLU:
			if i > 0 {
				switch layers[i-1].(type) {
				case *Conv2D, *BatchNorm, *Residual:
					shared = true
				}
			}
		}
		if !shared {
			n += numel(out)
		}
		s = out
	}
	return n, nil
}
