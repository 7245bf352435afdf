package onnx

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/nn"
)

// nodeTestDir holds ONNX's backend node tests as packaged by Debian (libonnx-testdata): one directory
// per test with model.onnx (a graph of one operator) and test_data_set_0/input_N.pb, output_0.pb
// (TensorProtos computed by ONNX's reference implementation).
const nodeTestDir = "/usr/share/libonnx-testdata/data/node"

// nodeTests lists the node tests of the supported operators. Inputs after the first become
// initializers (constants), since a model here has one input; the first input's first dimension
// indexes records. A test whose err is set must fail to import with an error containing it: the
// operator or attribute is outside what nn can compute per record.
var nodeTests = []struct {
	name string
	err  string
}{
	{"test_relu", ""},
	{"test_sigmoid", ""},
	{"test_sigmoid_example", ""},
	{"test_tanh", ""},
	{"test_tanh_example", ""},
	{"test_leakyrelu", ""},
	{"test_leakyrelu_default", ""},
	{"test_leakyrelu_example", ""},
	{"test_identity", ""},

	{"test_gemm_all_attributes", "transA=1"},
	{"test_gemm_alpha", ""},
	{"test_gemm_beta", ""},
	{"test_gemm_default_matrix_bias", "varies over records"},
	{"test_gemm_default_no_bias", ""},
	{"test_gemm_default_scalar_bias", ""},
	{"test_gemm_default_single_elem_vector_bias", ""},
	{"test_gemm_default_vector_bias", ""},
	{"test_gemm_default_zero_bias", ""},
	{"test_gemm_transposeA", "transA=1"},
	{"test_gemm_transposeB", ""},
	{"test_matmul_2d", ""},
	{"test_matmul_3d", "only records × features"},

	{"test_add", "varies over records"},
	{"test_add_bcast", ""},
	{"test_sub", "varies over records"},
	{"test_sub_bcast", ""},
	{"test_mul", "varies over records"},
	{"test_mul_bcast", ""},
	{"test_div", "varies over records"},
	{"test_div_bcast", ""},

	{"test_conv_with_strides_padding", ""},
	{"test_conv_with_strides_no_padding", ""},
	{"test_conv_with_strides_and_asymmetric_padding", "only the same padding on all sides"},
	{"test_conv_with_autopad_same", ""},
	{"test_maxpool_2d_default", ""},
	{"test_maxpool_2d_pads", "more than half the kernel"},
	{"test_maxpool_2d_precomputed_pads", ""},
	{"test_maxpool_2d_precomputed_strides", ""},
	{"test_maxpool_2d_precomputed_same_upper", ""},
	{"test_maxpool_2d_same_upper", "only the same padding on all sides"},
	{"test_maxpool_2d_same_lower", "only the same padding on all sides"},
	{"test_maxpool_2d_strides", ""},
	{"test_maxpool_2d_ceil", "ceil_mode=1"},
	{"test_maxpool_2d_dilations", "dilations"},
	{"test_maxpool_1d_default", "1-D pooling"},
	{"test_maxpool_3d_default", "3-D pooling"},
	{"test_averagepool_2d_default", ""},
	{"test_averagepool_2d_strides", ""},
	{"test_averagepool_2d_pads", "count_include_pad=0"},
	{"test_averagepool_2d_pads_count_include_pad", "more than half the kernel"},
	{"test_averagepool_2d_precomputed_pads", "count_include_pad=0"},
	{"test_averagepool_2d_precomputed_pads_count_include_pad", ""},
	{"test_averagepool_2d_precomputed_strides", ""},
	{"test_averagepool_2d_ceil", "ceil_mode=1"},
	{"test_averagepool_1d_default", "1-D pooling"},
	{"test_globalaveragepool", ""},
	{"test_globalaveragepool_precomputed", ""},

	{"test_batchnorm_example", ""},
	{"test_batchnorm_epsilon", ""},
	{"test_batchnorm_example_training_mode", "training_mode=1"},

	{"test_flatten_axis0", "axis=0"},
	{"test_flatten_axis1", ""},
	{"test_flatten_default_axis", ""},
	{"test_flatten_axis2", "merges records"},
	{"test_flatten_negative_axis3", ""},
	{"test_flatten_negative_axis2", "merges records"},
	{"test_flatten_negative_axis4", "axis -4"},
	{"test_reshape_reduced_dims", ""},
	{"test_reshape_extended_dims", ""},
	{"test_reshape_one_dim", "merges records"},
	{"test_reshape_negative_dim", ""},
	{"test_reshape_zero_dim", ""},
	{"test_reshape_zero_and_negative_dim", ""},
	{"test_transpose_default", "moves the records dimension"},
	{"test_transpose_all_permutations_0", ""},
	{"test_transpose_all_permutations_1", "reorders the data"},
	{"test_squeeze", "remove the records dimension"},
	{"test_squeeze_negative_axes", ""},
	{"test_unsqueeze_axis_0", "before the records"},
	{"test_unsqueeze_axis_1", ""},
	{"test_unsqueeze_axis_2", ""},
	{"test_unsqueeze_axis_3", ""},
	{"test_unsqueeze_negative_axes", ""},
	{"test_unsqueeze_three_axes", ""},
	{"test_unsqueeze_two_axes", ""},
	{"test_unsqueeze_unsorted_axes", ""},
	{"test_reshape_negative_extended_dims", "merges or splits records"},
	{"test_reshape_reordered_all_dims", "merges or splits records"},
	{"test_reshape_reordered_last_dims", ""},
	{"test_reshape_allowzero_reordered", "allowzero=1"},
	{"test_constant_pad", "only zeros"},
	{"test_edge_pad", "mode \"edge\""},
	{"test_reflect_pad", "mode \"reflect\""},
	{"test_sum_one_input", ""},
	{"test_sum_two_inputs", "varies over records"},
	{"test_dropout_default_old", ""},
	{"test_dropout_default_mask", "mask output"},
	{"test_dropout_default", ""},
	{"test_dropout_default_ratio", ""},

	{"test_softmax_axis_0", "axis=0"},
	{"test_softmax_axis_1", ""},
	{"test_softmax_axis_2", ""},
	{"test_softmax_default_axis", ""},
	{"test_softmax_negative_axis", ""},
	{"test_softmax_example", ""},
	{"test_softmax_large_number", ""},
	{"test_logsoftmax_axis_1", ""},
	{"test_logsoftmax_axis_2", ""},
	{"test_logsoftmax_default_axis", ""},
	{"test_logsoftmax_example_1", ""},
	{"test_logsoftmax_large_number", ""},
	{"test_logsoftmax_negative_axis", ""},
	{"test_softmax_axis_1_expanded", "ReduceMax"},
}

// readTensor decodes a TensorProto file.
func readTensor(path string) (*tensorProto, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeTensor(b)
}

// runNodeTest imports the node test dir with inputs 1, 2, … as initializers and returns the model,
// the input tensor and the expected output.
func runNodeTest(dir string) (*Model, *nn.Tensor, *constant, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nil, nil, nil, err
	}
	mp, err := decodeModel(b)
	if err != nil {
		return nil, nil, nil, err
	}
	data := filepath.Join(dir, "test_data_set_0")
	var x *constant
	for i, in := range mp.Graph.Inputs {
		t, err := readTensor(filepath.Join(data, "input_"+strconv.Itoa(i)+".pb"))
		if err != nil {
			return nil, nil, nil, err
		}
		if i == 0 {
			if x, err = t.decode(); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		t.Name = in.Name
		mp.Graph.Initializers = append(mp.Graph.Initializers, t)
	}
	out, err := readTensor(filepath.Join(data, "output_0.pb"))
	if err != nil {
		return nil, nil, nil, err
	}
	want, err := out.decode()
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := convert(mp, Options{KeepSoftmax: true}, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	xt, err := nn.FromSlice(x.floats(), x.Shape...)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, xt, want, nil
}

func TestNodeTests(t *testing.T) {
	if _, err := os.Stat(nodeTestDir); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is absent (apt-get install libonnx-testdata to run ONNX's operator tests)", nodeTestDir)
	}
	ran := 0
	for _, nt := range nodeTests {
		dir := filepath.Join(nodeTestDir, nt.name)
		if _, err := os.Stat(dir); err != nil {
			t.Logf("%s: not in this version of the test data", nt.name)
			continue
		}
		ran++
		t.Run(nt.name, func(t *testing.T) {
			m, x, want, err := runNodeTest(dir)
			if nt.err != "" {
				if err == nil || !strings.Contains(err.Error(), nt.err) {
					t.Fatalf("error %v, want one containing %q", err, nt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Net.Forward(x, false)
			if err != nil {
				t.Fatal(err)
			}
			if got.Shape[0] != want.Shape[0] || !slices.Equal(squeezeOnes(got.Shape[1:]), squeezeOnes(want.Shape[1:])) {
				t.Fatalf("output shape %v, want %v", got.Shape, want.Shape)
			}
			for i, w := range want.floats() {
				if d := math.Abs(float64(got.Data[i] - w)); d > 1e-5*math.Max(1, math.Abs(float64(w))) {
					t.Errorf("output %d: %v, want %v", i, got.Data[i], w)
				}
			}
		})
	}
	if ran == 0 {
		t.Fatalf("no node test found in %s", nodeTestDir)
	}
}
