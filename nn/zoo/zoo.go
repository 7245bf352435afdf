// Package zoo defines pmeter's named model architectures as declarative layer specs (nn.LayerSpec), so that
// a model can be described by name in a config or by its specs in JSON/YAML, and rebuilt identically.
//
// The architectures are those of Privacy Meter (see its models/ directory), adapted to the input shape:
//
//	logreg  flatten → dense(D, C)
//	mlp     flatten → dense(D, 128) → tanh → dense(128, C)         (Privacy Meter's Purchase/Texas MLP)
//	mlp2    flatten → dense(D, 256) → relu → dense(256, C)          (the benchmark MLP of go-stack.md)
//	cnn     conv 5×5 C→6 → relu → maxpool 2 → conv 5×5 6→16 → relu → maxpool 2 → flatten
//	        → dense(·, 120) → relu → dense(120, 84) → relu → dense(84, C)   (Privacy Meter's CNN, LeNet-5-like;
//	        62,006 parameters for 3×32×32 inputs and 10 classes)
//	cnn2    conv 3×3 C→32 pad 1 → relu → maxpool 2 → conv 3×3 32→64 pad 1 → relu → maxpool 2 → flatten
//	        → dense(·, 128) → relu → dense(128, C)                  (the benchmark CNN of go-stack.md)
//	resnet  a small pre-activation ResNet for C×H×W images is not yet expressible as a Sequential (it needs
//	        residual connections) and is reported as unsupported.
//
// D is the number of input features (the product of the input shape), C the number of classes.
package zoo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pmeter/pmeter/nn"
)

// Names lists the architectures Specs knows, sorted.
func Names() []string {
	n := []string{"logreg", "mlp", "mlp2", "cnn", "cnn2"}
	sort.Strings(n)
	return n
}

// Specs returns the layers of the named architecture for inputs of shape in (per record, e.g. [600] or
// [3, 32, 32]) and classes output classes. Names are case-insensitive (Privacy Meter spells its CNN "CNN").
func Specs(name string, in []int, classes int) ([]nn.LayerSpec, error) {
	if classes < 2 {
		return nil, fmt.Errorf("model %s: need at least 2 classes, got %d", name, classes)
	}
	d := 1
	for _, s := range in {
		if s <= 0 {
			return nil, fmt.Errorf("model %s: invalid input shape %v", name, in)
		}
		d *= s
	}
	switch strings.ToLower(name) {
	case "logreg":
		return []nn.LayerSpec{{Kind: nn.KindFlatten}, {Kind: nn.KindDense, In: d, Out: classes}}, nil
	case "mlp":
		return []nn.LayerSpec{{Kind: nn.KindFlatten}, {Kind: nn.KindDense, In: d, Out: 128}, {Kind: nn.KindTanh},
			{Kind: nn.KindDense, In: 128, Out: classes}}, nil
	case "mlp2":
		return []nn.LayerSpec{{Kind: nn.KindFlatten}, {Kind: nn.KindDense, In: d, Out: 256}, {Kind: nn.KindReLU},
			{Kind: nn.KindDense, In: 256, Out: classes}}, nil
	case "cnn":
		c, h, w, err := image(name, in)
		if err != nil {
			return nil, err
		}
		h, w = (h-4)/2, (w-4)/2
		h, w = (h-4)/2, (w-4)/2
		if h < 1 || w < 1 {
			return nil, fmt.Errorf("model %s: input %v is too small for two 5×5 convolutions and pools", name, in)
		}
		return []nn.LayerSpec{
			{Kind: nn.KindConv2D, In: c, Out: 6, Kernel: 5}, {Kind: nn.KindReLU}, {Kind: nn.KindMaxPool2D, Kernel: 2},
			{Kind: nn.KindConv2D, In: 6, Out: 16, Kernel: 5}, {Kind: nn.KindReLU}, {Kind: nn.KindMaxPool2D, Kernel: 2},
			{Kind: nn.KindFlatten}, {Kind: nn.KindDense, In: 16 * h * w, Out: 120}, {Kind: nn.KindReLU},
			{Kind: nn.KindDense, In: 120, Out: 84}, {Kind: nn.KindReLU}, {Kind: nn.KindDense, In: 84, Out: classes},
		}, nil
	case "cnn2":
		c, h, w, err := image(name, in)
		if err != nil {
			return nil, err
		}
		if h < 4 || w < 4 {
			return nil, fmt.Errorf("model %s: input %v is too small for two 2×2 pools", name, in)
		}
		return []nn.LayerSpec{
			{Kind: nn.KindConv2D, In: c, Out: 32, Kernel: 3, Padding: 1}, {Kind: nn.KindReLU}, {Kind: nn.KindMaxPool2D, Kernel: 2},
			{Kind: nn.KindConv2D, In: 32, Out: 64, Kernel: 3, Padding: 1}, {Kind: nn.KindReLU}, {Kind: nn.KindMaxPool2D, Kernel: 2},
			{Kind: nn.KindFlatten}, {Kind: nn.KindDense, In: 64 * (h / 4) * (w / 4), Out: 128}, {Kind: nn.KindReLU},
			{Kind: nn.KindDense, In: 128, Out: classes},
		}, nil
	}
	return nil, fmt.Errorf("unknown model %q (known: %s)", name, strings.Join(Names(), ", "))
}

func image(name string, in []int) (c, h, w int, err error) {
	if len(in) != 3 {
		return 0, 0, 0, fmt.Errorf("model %s needs images of shape C×H×W, got input shape %v", name, in)
	}
	return in[0], in[1], in[2], nil
}

// Build returns a freshly initialised model of the named architecture.
func Build(name string, in []int, classes int) (*nn.Sequential, error) {
	specs, err := Specs(name, in, classes)
	if err != nil {
		return nil, err
	}
	return nn.FromSpecs(name, specs)
}
