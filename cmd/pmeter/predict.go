package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/nn/onnx"
	"github.com/pmeter/pmeter/npy"
)

const predictUsage = `Usage:
  pmeter predict MODEL --input X.npy --out LOGITS.npy [--batch N] [--force]

Runs a model on the records of X.npy, in evaluation mode, and writes its outputs to LOGITS.npy
(float32, records × the model's output shape: logits for a classifier).

MODEL is an ONNX file (.onnx), imported by package nn/onnx (a Softmax or LogSoftmax that produces
the output is stripped, so that the outputs are logits; the import says so on stderr), or a model
saved by pmeter (its .safetensors weights file, with the JSON sidecar beside it).

X.npy holds the records in the model's input layout, float32 (float64 is converted): records × the
per-record input shape, for example N × C × H × W for images.

Flags:
  --input X.npy     the records
  --out FILE.npy    where to write the outputs (written atomically); never the input or the model
  --batch N         records per forward pass (default 256)
  --force           overwrite FILE.npy if it exists
`

// runPredict implements 'pmeter predict'.
func runPredict(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	input := fs.String("input", "", "")
	out := fs.String("out", "", "")
	batch := fs.Int("batch", 256, "")
	force := fs.Bool("force", false, "")
	pos, err := parseArgs(fs, args, predictUsage, stdout)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("want one MODEL argument, got %d (%s); run 'pmeter predict -h'", len(pos), strings.Join(pos, " "))
	case *input == "":
		return usagef("--input is required")
	case *out == "":
		return usagef("--out is required")
	case *batch <= 0:
		return usagef("--batch %d: must be positive", *batch)
	case samePath(*out, *input) || samePath(*out, pos[0]) || samePath(*out, nn.SidecarPath(pos[0])):
		return usagef("--out %s is an input of the command (the records or the model); choose another file", *out)
	case lexists(*out) && !*force:
		return usagef("--out %s exists; use --force to overwrite it", *out)
	}

	xa, err := npy.ReadFile(*input)
	if err != nil {
		return err
	}
	var data []float32
	switch xa.Kind {
	case npy.Float32:
		data = xa.F32
	case npy.Float64:
		data = make([]float32, len(xa.F64))
		for i, v := range xa.F64 {
			data[i] = float32(v)
		}
	default:
		return fmt.Errorf("--input %s: the records must be float32 or float64, not %v", *input, xa.Kind)
	}
	if len(xa.Shape) < 1 {
		return fmt.Errorf("--input %s: a scalar; want records × the model's input shape", *input)
	}

	net, inShape, err := loadPredictModel(pos[0], xa.Shape[1:], stderr)
	if err != nil {
		return err
	}
	if !slices.Equal(xa.Shape[1:], inShape) {
		return fmt.Errorf("--input %s: array of shape %s has records of shape %s; model %s expects records of shape %s (an array of shape %s)",
			*input, npy.ShapeString(xa.Shape), npy.ShapeString(xa.Shape[1:]), pos[0], npy.ShapeString(inShape),
			npy.ShapeString(append([]int{xa.Shape[0]}, inShape...)))
	}
	outShape, err := net.OutShape(inShape)
	if err != nil {
		return fmt.Errorf("model %s: %w", pos[0], err)
	}
	x, err := nn.FromSlice(data, xa.Shape...)
	if err != nil {
		return fmt.Errorf("--input %s: %w", *input, err)
	}
	n := xa.Shape[0]
	rowOut := 1
	for _, d := range outShape {
		rowOut *= d
	}
	logits := make([]float32, n*rowOut)
	step := net.EvalPass(inShape, *batch, 0) // fewer records per pass when a batch's activations are large
	for lo := 0; lo < n; lo += step {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+step, n)
		y, err := net.Forward(x.Slice(lo, hi), false)
		if err != nil {
			return fmt.Errorf("model %s: records %d–%d: %w", pos[0], lo, hi, err)
		}
		copy(logits[lo*rowOut:hi*rowOut], y.Data)
	}
	if err := npy.WriteFile(*out, npy.NewFloat32(logits, append([]int{n}, outShape...)...)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d records × %s from model %s\n", *out, n, npy.ShapeString(outShape), pos[0])
	return nil
}

// loadPredictModel loads an ONNX file or a model saved by pmeter and returns it with its per-record
// input shape. recShape, the shape of the records given, completes an ONNX input shape that leaves
// dimensions symbolic. Import warnings go to stderr.
func loadPredictModel(path string, recShape []int, stderr io.Writer) (*nn.Sequential, []int, error) {
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		m, err := onnx.Load(path)
		if errors.Is(err, onnx.ErrInputShape) {
			m, err = onnx.LoadWith(path, onnx.Options{InputShape: recShape})
		}
		if err != nil {
			return nil, nil, err
		}
		for _, w := range m.Warnings {
			fmt.Fprintf(stderr, "pmeter predict: %s: %s\n", path, w)
		}
		return m.Net, m.InputShape, nil
	}
	net, info, err := nn.Load(path, nn.Expect{})
	if err != nil {
		return nil, nil, fmt.Errorf("model %s: %w (MODEL must be an .onnx file or a model saved by pmeter)", path, err)
	}
	return net, info.InputShape, nil
}
