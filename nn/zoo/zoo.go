// Package zoo defines pmeter's named model architectures as declarative layer specs (nn.LayerSpec), so that
// a model can be described by name in a config or by its specs in JSON/YAML, and rebuilt identically.
//
// The architectures are those of Privacy Meter (see its models/ directory), adapted to the input shape:
//
//	logreg  flatten → dense(D, C)
//	mlp     flatten → dense(D, 128) → tanh → dense(128, C)         (Privacy Meter's Purchase/Texas MLP;
//	        89,828 parameters for 600 features and 100 classes)
//	mlp2    flatten → dense(D, 256) → relu → dense(256, C)          (the benchmark MLP of go-stack.md)
//	cnn     conv 5×5 C→6 → relu → maxpool 2 → conv 5×5 6→16 → relu → maxpool 2 → flatten
//	        → dense(·, 120) → relu → dense(120, 84) → relu → dense(84, C)   (Privacy Meter's CNN, LeNet-5-like;
//	        62,006 parameters for 3×32×32 inputs and 10 classes)
//	cnn2    conv 3×3 C→32 pad 1 → relu → maxpool 2 → conv 3×3 32→64 pad 1 → relu → maxpool 2 → flatten
//	        → dense(·, 128) → relu → dense(128, C)                  (the benchmark CNN of go-stack.md)
//	wrnN-K  the pre-activation wide ResNet WRN-N-K of Zagoruyko and Komodakis ("Wide Residual Networks",
//	        BMVC 2016) as Privacy Meter ports it from objax (its wrn28-1, wrn28-2, wrn28-10): N = 6n + 4
//	        layers deep, widths 16K, 32K and 64K; see WRN.
//
// D is the number of input features (the product of the input shape), C the number of classes. Images are
// C×H×W. The small wide ResNets (wrn16-1: 175,066 parameters on CIFAR-10) train on a CPU in minutes on
// 32×32 images; wrn28-2 is the model of the LiRA and RMIA papers.
package zoo

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/nn"
)

// Names lists the architectures Specs knows, sorted. Specs also takes wide ResNets of other depths
// and widths ("wrnN-K").
func Names() []string {
	n := []string{"logreg", "mlp", "mlp2", "cnn", "cnn2", "wrn16-1", "wrn16-2", "wrn28-1", "wrn28-2", "wrn28-10"}
	sort.Strings(n)
	return n
}

// Specs returns the layers of the named architecture for inputs of shape in (per record, e.g. [600] or
// [3, 32, 32]) and classes output classes. Names are case-insensitive (Privacy Meter spells its CNN "CNN").
func Specs(name string, in []int, classes int) ([]nn.LayerSpec, error) {
	if classes < 2 {
		return nil, fmt.Errorf("model %s: need at least 2 classes, got %d", name, classes)
	}
	return specs(name, in, classes)
}

// Regression returns the named architecture as a regression model: the same layers with one linear
// output ŷ (no activation after the last dense layer), for training with nn.MSE. "linreg" is logreg's
// regression form, linear regression.
func Regression(name string, in []int) ([]nn.LayerSpec, error) {
	if strings.EqualFold(name, "linreg") {
		name = "logreg"
	}
	return specs(name, in, 1)
}

// specs returns the layers of the named architecture with the given number of outputs.
func specs(name string, in []int, classes int) ([]nn.LayerSpec, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("model %s: empty input shape", name)
	}
	d := 1
	for _, s := range in {
		if s <= 0 {
			return nil, fmt.Errorf("model %s: invalid input shape %v", name, in)
		}
		d *= s
	}
	lower := strings.ToLower(name)
	switch lower {
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
	if depth, width, ok := parseWRN(lower); ok {
		if _, _, _, err := image(name, in); err != nil {
			return nil, err
		}
		return WRN(in[0], classes, depth, width)
	}
	return nil, fmt.Errorf("unknown model %q (known: %s, or wrnN-K for other wide ResNets)", name, strings.Join(Names(), ", "))
}

// parseWRN parses "wrnN-K".
func parseWRN(name string) (depth, width int, ok bool) {
	rest, found := strings.CutPrefix(name, "wrn")
	if !found {
		return 0, 0, false
	}
	ds, ws, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, false
	}
	depth, err1 := strconv.Atoi(ds)
	width, err2 := strconv.Atoi(ws)
	return depth, width, err1 == nil && err2 == nil
}

// WRN returns the layers of the pre-activation wide ResNet WRN-depth-width for images of c channels:
// a 3×3 convolution to 16 channels, three groups of n = (depth − 4)/6 blocks of widths 16·width,
// 32·width and 64·width (the first block of the second and third groups with stride 2), then batch
// norm → relu → global average pooling → dense(64·width, classes). Every convolution is bias-free. A
// block computes o1 = relu(bn(x)), z = conv3×3(relu(bn(conv3×3(o1, stride)))) and returns z + x, or
// z + conv1×1(o1, stride) where the width or the stride changes; the shared pre-activation bn → relu
// then comes before the residual layer. This is Privacy Meter's wrn28-k (objax's WideResNet), whose
// parameter counts it has (wrn28-2: 1,467,610 for 10 classes). Batch norm uses PyTorch's default
// momentum 0.1 (objax's 0.9 in its own convention); Privacy Meter's port passes momentum=0.9 to
// PyTorch, which weights the batch statistics by 0.9 instead.
func WRN(c, classes, depth, width int) ([]nn.LayerSpec, error) {
	if depth < 10 || (depth-4)%6 != 0 || width < 1 || c < 1 || classes < 2 {
		return nil, fmt.Errorf("model wrn%d-%d: need depth 6n + 4 ≥ 10, width ≥ 1, channels ≥ 1 and classes ≥ 2 (channels %d, classes %d)",
			depth, width, c, classes)
	}
	conv := func(in, out, k, stride int) nn.LayerSpec {
		return nn.LayerSpec{Kind: nn.KindConv2D, In: in, Out: out, Kernel: k, Stride: stride, Padding: k / 2, NoBias: true}
	}
	bn := func(ch int) nn.LayerSpec { return nn.LayerSpec{Kind: nn.KindBatchNorm, In: ch} }
	relu := nn.LayerSpec{Kind: nn.KindReLU}
	n := (depth - 4) / 6
	specs := []nn.LayerSpec{conv(c, 16, 3, 1)}
	cur := 16
	for g, w := range []int{16 * width, 32 * width, 64 * width} {
		for b := 0; b < n; b++ {
			stride := 1
			if g > 0 && b == 0 {
				stride = 2
			}
			if cur == w && stride == 1 {
				specs = append(specs, nn.LayerSpec{Kind: nn.KindResidual,
					Body: []nn.LayerSpec{bn(cur), relu, conv(cur, w, 3, 1), bn(w), relu, conv(w, w, 3, 1)}})
			} else {
				specs = append(specs, bn(cur), relu, nn.LayerSpec{Kind: nn.KindResidual,
					Body:     []nn.LayerSpec{conv(cur, w, 3, stride), bn(w), relu, conv(w, w, 3, 1)},
					Shortcut: []nn.LayerSpec{conv(cur, w, 1, stride)}})
			}
			cur = w
		}
	}
	return append(specs, bn(cur), relu, nn.LayerSpec{Kind: nn.KindGlobalAvgPool}, nn.LayerSpec{Kind: nn.KindDense, In: cur, Out: classes}), nil
}

func image(name string, in []int) (c, h, w int, err error) {
	if len(in) != 3 {
		return 0, 0, 0, fmt.Errorf("model %s needs images of shape C×H×W, got input shape %v", name, in)
	}
	return in[0], in[1], in[2], nil
}

// Build returns a model of the named architecture with zero parameters; call Init on it to draw them.
func Build(name string, in []int, classes int) (*nn.Sequential, error) {
	specs, err := Specs(name, in, classes)
	if err != nil {
		return nil, err
	}
	return nn.FromSpecs(name, specs)
}
