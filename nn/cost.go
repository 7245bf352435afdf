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
	// forward and backward: the output of every layer (a ReLU fused into the layer before it and a
	// flatten, which share their input's storage, are not counted twice).
	Activations int
}

// Cost returns the training cost per record of m for a per-record input shape in (for example
// [3 32 32]), or an error if the model cannot take that shape.
func (m *Sequential) Cost(in []int) (Cost, error) {
	if _, err := m.OutShape(in); err != nil {
		return Cost{}, err
	}
	c := Cost{Params: m.NumParams()}
	first := true
	if _, err := layersCost(m.Layers, in, &c, &first); err != nil {
		return Cost{}, fmt.Errorf("nn: model %q: %w", m.Name, err)
	}
	return c, nil
}

// layersCost adds the cost of a chain of layers to c and returns its output shape. first is true
// until a layer with parameters has been counted (its input gradient is not computed).
func layersCost(layers []Layer, in []int, c *Cost, first *bool) ([]int, error) {
	s := in
	for i, l := range layers {
		out, err := l.OutShape(s)
		if err != nil {
			return nil, err
		}
		var macs float64
		switch l := l.(type) {
		case *Conv2D:
			macs = float64(l.Out) * float64(l.In*l.K*l.K) * float64(out[1]*out[2])
		case *Dense:
			macs = float64(l.In) * float64(l.Out)
		case *Residual:
			if _, err := layersCost(l.Body, s, c, first); err != nil {
				return nil, err
			}
			if _, err := layersCost(l.Shortcut, s, c, first); err != nil {
				return nil, err
			}
		}
		if macs > 0 {
			c.ForwardFLOPs += 2 * macs
			c.TrainFLOPs += 4 * macs // forward and weight gradient
			if !*first {
				c.TrainFLOPs += 2 * macs // input gradient
			}
			*first = false
		}
		shared := false
		switch l.(type) {
		case *Flatten:
			shared = true
		case *ReLU:
			if i > 0 {
				switch layers[i-1].(type) {
				case *Conv2D, *BatchNorm:
					shared = true
				}
			}
		}
		if !shared {
			c.Activations += numel(out)
		}
		s = out
	}
	return s, nil
}
