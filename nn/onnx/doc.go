// Package onnx imports ONNX models (.onnx files) as nn.Sequential models, so that a user's own
// trained model can be audited: nn.Evaluate gives its per-record logits, loss, probability of the
// true label and gradient norm, and Model.Fresh rebuilds its architecture with fresh weights for
// training reference models.
//
// The ONNX protobuf messages are decoded by a small hand-written wire-format reader (no protobuf
// dependency) that checks every length against the input, so that malformed or truncated files give
// errors, and a tensor is never allocated larger than the data the file holds for it.
//
// The graph must be a chain of supported operators from its one input to its one output, possibly
// with residual blocks (a value forked into two branches joined by Add); DecodeWith lists the
// operators and their mapping onto nn's layers. Operators nn lacks (LeakyRelu, Softmax and
// LogSoftmax inside a model, element-wise arithmetic with constants, reshapes) become the layers of
// this package, whose LayerSpec kinds start with "onnx.": nn.FromSpecs cannot rebuild them, Model.Fresh
// can. Constant sub-graphs, including the Shape → Gather → Unsqueeze → Concat → Reshape chain that
// PyTorch exports for x.view(x.size(0), -1), are folded; the number of records stays symbolic. The
// constants that Concat nodes fold hold at most one element per byte of the file in all (at least
// 2¹⁶), so that a chain of Concats cannot make a small file allocate gigabytes.
//
// Records are along the first dimension of the input, and every operator must treat records
// independently: an operator that would mix them (a reshape or flatten across the first dimension,
// a softmax over it, a constant that varies along it) is refused. A Softmax or LogSoftmax that
// produces the output is stripped by default, because the audit needs logits; Model.Warnings says so.
//
// Graph (LoadGraph, DecodeGraph) is the other way to run an ONNX model: a small interpreter over
// float32 and int64 tensors whose shapes are known only when it runs, for graphs that are not a chain of
// layers, such as the decoder-only transformers torch.onnx.export writes (embeddings, LayerNormalization
// or its decomposition, GELU, causal masks, head reshapes, batched MatMul on nn/gemm's kernel, Softmax).
// It infers only (no gradients, no training); Ops lists its operators. Package llm/lmscore uses it to
// compute language models' per-token log-probabilities.
//
// PyTorch's torch.onnx.export in evaluation mode folds each BatchNorm that follows a Conv into the
// convolution; export with training=torch.onnx.TrainingMode.PRESERVE (the model in eval mode) to keep
// BatchNormalization nodes, and so the same trainable parameters as the PyTorch model.
package onnx
