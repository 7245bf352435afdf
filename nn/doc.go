// Package nn is pmeter's native CPU training engine: float32 tensors, layers with forward and backward
// passes, losses, optimizers, learning-rate schedules and a training loop, used to train the target and
// reference (shadow) models of a membership-inference audit and to read per-record signals (logits,
// probability of the true label, loss, gradient norm) from them.
//
// Layers: Dense, Conv2D (im2col + GEMM), MaxPool2D, AvgPool2D, GlobalAvgPool, BatchNorm (1-d and
// 2-d), ReLU, Tanh, Sigmoid, Dropout, Flatten and Residual blocks, composed by Sequential. A model is
// also data: Sequential.Specs and FromSpecs convert it to and from []LayerSpec (JSON/YAML-ready).
// Losses: CrossEntropy, MSE. Optimizers: SGD (momentum, Nesterov), Adam, AdamW. Schedules: Constant,
// StepDecay, Cosine (with warm-up), LiRA. Train runs the loop (seeded shuffling, LiRA augmentation,
// context cancellation, progress callback), and with TrainConfig.DP trains with DP-SGD (Poisson
// sampling, per-example clipping without materialising per-example gradients, Gaussian noise; see
// DPConfig); Evaluate gives per-record logits, probability of the true
// label, loss and gradient norm. Save and Load store a trained model as safetensors weights (the
// format of Hugging Face's safetensors, which PyTorch reads) with a JSON sidecar holding the
// architecture, training configuration, seed and a hash of the training records; SaveWeights and
// LoadWeights exchange plain state_dicts with PyTorch.
//
// Conventions follow PyTorch so that models and weights can be exchanged with it: images are NCHW,
// a Dense weight is out × in, a Conv2D weight is out × in × kh × kw, parameters are named like a
// torch.nn.Sequential state_dict ("0.weight", "3.running_mean"), initialisation draws from the same
// distributions as PyTorch's defaults, and the optimizers implement torch.optim's update rules.
//
// Matrix products go through gonum's blas32 interface. The default build is pure Go; building with the
// tag openblas routes them to OpenBLAS through cgo (gonum.org/v1/netlib, Debian libopenblas-dev).
//
// Concurrency: a model (Sequential) and everything it owns (buffers, optimizer state, random streams) is
// used by one goroutine at a time. Separate models share no mutable state and can be trained
// concurrently, one goroutine each. All randomness comes from seeds passed in; there is no global
// random source.
//
// Buffers: a layer reuses its output and gradient buffers from call to call, so a tensor returned by
// Forward or Backward is valid only until the next call on the same model. Copy what must be kept.
package nn
