// Package llm audits language models for membership from per-token quantities that any framework can
// export: token log-probabilities, the mean and variance of the log-probability under the full next-token
// distribution, a reference model's log-probabilities, log-probabilities conditioned on a non-member
// prefix, neighbour losses and token ids. The model itself is never run.
//
// The input is the "mia-llm-logprobs/1" layout (a directory of .npy files, the same arrays in one .npz, or
// a JSONL file with one object per sequence; see Read). The attacks are those of the MIMIR benchmark
// (Duan et al., "Do Membership Inference Attacks Work on Large Language Models?", COLM 2024): LOSS, zlib,
// Min-K%, Min-K%++, reference, ReCaLL, DC-PDD and neighbourhood. Every score follows pmeter's convention:
// higher = more likely a member.
//
// Usage is text DUCI: the fraction of a corpus the target LM was fine-tuned on, package duci's estimator
// on the sequence signal with the shadow LMs as reference models.
//
// Under Compat "mimir" each attack equals MIMIR (iamgroot42/mimir 1b6fd64) to the last bits, quirks
// included; the default fixes each quirk and says why beside the code (compat.go holds the MIMIR paths).
package llm
