package llm

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/internal/numpysum"
)

// Compat selects whose arithmetic the attacks reproduce.
type Compat string

const (
	// Default is pmeter's own arithmetic: each of MIMIR's quirks is fixed, for the reason given at the
	// attack.
	Default Compat = ""
	// Mimir reproduces iamgroot42/mimir 1b6fd64 as run.py runs it under Python 3.10, quirks included.
	Mimir Compat = "mimir"
	// MimirPy311 is Mimir, except that the reference attack is what run.py computes under Python ≥ 3.11,
	// where the attack is also run with the target's own log-probabilities: max(0, ref_loss − loss).
	MimirPy311 Compat = "mimir-py311"
)

func (c Compat) mimir() bool { return c == Mimir || c == MimirPy311 }

// Params are the attacks' parameters. The zero value is not valid; start from DefaultParams.
type Params struct {
	K         float64 `json:"k"`         // Min-K%, Min-K%++: the fraction of tokens (windows) kept, in (0, 1]
	Window    int     `json:"window"`    // Min-K%: tokens per window, ≥ 1
	Stride    int     `json:"stride"`    // Min-K%: windows start every Stride tokens, ≥ 1
	A         float64 `json:"a"`         // DC-PDD: the clip of each token's score, in (0, 1]
	Neighbors int     `json:"neighbors"` // neighbourhood: use each text's first Neighbors neighbour losses; 0 = all
	Reference string  `json:"reference"` // reference: the reference model by name; "" = all of them (their mean loss)
	Online    bool    `json:"online"`    // rmia-lm, lira-lm: use IN and OUT shadow LMs (default offline: OUT only)
	Compat    Compat  `json:"compat"`
}

// DefaultParams returns MIMIR's defaults: k = 0.2, window = stride = 1, a = 0.01, all neighbours, all
// reference models, pmeter's arithmetic.
func DefaultParams() Params { return Params{K: 0.2, Window: 1, Stride: 1, A: 0.01} }

// Set sets one parameter from its text form, as "--set key=value" gives it: k, window, stride, a,
// neighbors (or n), reference, compat.
func (p *Params) Set(key, value string) error {
	f := func() (float64, error) { return strconv.ParseFloat(value, 64) }
	i := func() (int, error) { return strconv.Atoi(value) }
	var err error
	switch key {
	case "k":
		p.K, err = f()
	case "window":
		p.Window, err = i()
	case "stride":
		p.Stride, err = i()
	case "a":
		p.A, err = f()
	case "neighbors", "n":
		p.Neighbors, err = i()
	case "reference":
		p.Reference = value
	case "compat":
		p.Compat = Compat(value)
	case "online":
		p.Online, err = strconv.ParseBool(value)
	default:
		return fmt.Errorf("unknown parameter %q (want k, window, stride, a, neighbors, reference, online or compat)", key)
	}
	if err != nil {
		return fmt.Errorf("parameter %s=%q: %w", key, value, err)
	}
	return p.Validate()
}

// Validate checks the parameters' ranges.
func (p Params) Validate() error {
	switch {
	case !(p.K > 0 && p.K <= 1):
		return fmt.Errorf("k = %v, want a fraction in (0, 1]", p.K)
	case p.Window < 1:
		return fmt.Errorf("window = %d, want ≥ 1", p.Window)
	case p.Stride < 1:
		return fmt.Errorf("stride = %d, want ≥ 1", p.Stride)
	case !(p.A > 0 && p.A <= 1):
		return fmt.Errorf("a = %v, want a clip in (0, 1] (MIMIR rejects a > 1)", p.A)
	case p.Neighbors < 0:
		return fmt.Errorf("neighbors = %d, want ≥ 0 (0 = all)", p.Neighbors)
	case p.Compat != Default && p.Compat != Mimir && p.Compat != MimirPy311:
		return fmt.Errorf("compat = %q, want \"\", %q or %q", p.Compat, Mimir, MimirPy311)
	}
	return nil
}

// An Attack is one of the attacks, with what it reads.
type Attack struct {
	Name  string // as --attack names it
	Paper string // the citation
	Needs string // the layout arrays it reads
	needs func(*Bundle) error
	score func(*Bundle, Params) ([]float64, error)
}

// ErrMissingInput is wrapped by Score's error when the bundle lacks an attack's inputs.
var ErrMissingInput = errors.New("the bundle lacks this attack's inputs")

func need(ok bool, what string) error {
	if !ok {
		return fmt.Errorf("%w: %s", ErrMissingInput, what)
	}
	return nil
}

// Attacks lists the attacks: MIMIR's, in its order, then the sequence-level attacks over reference LMs
// trained with known memberships (rmia-lm, lira-lm).
func Attacks() []Attack {
	return []Attack{
		{"loss", "Yeom et al., CSF 2018", "token_logprobs",
			func(*Bundle) error { return nil }, func(b *Bundle, p Params) ([]float64, error) { return Loss(b, p), nil }},
		{"zlib", "Carlini et al., USENIX Security 2021", "token_logprobs, zlib_len (or texts, or token_ids and vocab_bytes)",
			func(b *Bundle) error {
				return need(b.ZlibLen != nil || b.Texts != nil || (b.Tokens.Present() && b.Vocab.Present()), "zlib_len.npy, texts.json, or token_ids.npy with vocab_bytes.npy")
			}, Zlib},
		{"min-k", "Shi et al., ICLR 2024", "token_logprobs",
			func(*Bundle) error { return nil }, func(b *Bundle, p Params) ([]float64, error) { return MinK(b, p), nil }},
		{"min-k-pp", "Zhang et al., ICLR 2025", "token_logprobs, mu, sigma2",
			func(b *Bundle) error { return need(b.Mu != nil, "mu.npy and sigma2.npy") },
			func(b *Bundle, p Params) ([]float64, error) { return MinKPlusPlus(b, p), nil }},
		{"reference", "Carlini et al., USENIX Security 2021", "token_logprobs, ref_token_logprobs",
			func(b *Bundle) error { return need(len(b.Refs) > 0, "ref_token_logprobs.npy or ref/<name>/") }, ReferenceLoss},
		{"recall", "Xie et al., EMNLP 2024", "token_logprobs, cond_token_logprobs",
			func(b *Bundle) error { return need(b.Cond.Present(), "cond_token_logprobs.npy") }, ReCaLL},
		{"dc-pdd", "Zhang et al., EMNLP 2024", "token_ids, token_logprobs_bos, freq_counts (or corpus_token_ids)",
			func(b *Bundle) error {
				return need(b.LogProbsBOS != nil && (b.FreqCounts != nil || b.Corpus.Present()), "token_ids.npy, token_logprobs_bos.npy and freq_counts.npy (or corpus_token_ids.npy)")
			}, DCPDD},
		{"neighborhood", "Mattern et al., Findings of ACL 2023", "token_logprobs, neighbor_losses",
			func(b *Bundle) error { return need(b.Neighbors.Present(), "neighbor_losses.npy") }, Neighborhood},
		{"rmia-lm", "Zarifzadeh et al., ICML 2024; Privacy Meter v2", "token_logprobs, shadow/<name>/, population",
			func(b *Bundle) error {
				return need(len(b.Shadows) > 0 && b.Population != nil, "shadow/<name>/ (reference LMs trained with known memberships) and population.npy")
			}, RMIALM},
		{"lira-lm", "Carlini et al., S&P 2022", "token_logprobs, shadow/<name>/",
			func(b *Bundle) error {
				return need(len(b.Shadows) > 0, "shadow/<name>/ (reference LMs trained with known memberships)")
			}, LiRALM},
	}
}

// Lookup returns the attack named name.
func Lookup(name string) (Attack, bool) {
	for _, a := range Attacks() {
		if a.Name == name {
			return a, true
		}
	}
	return Attack{}, false
}

// Names lists the attack names.
func Names() []string {
	var out []string
	for _, a := range Attacks() {
		out = append(out, a.Name)
	}
	return out
}

// Available lists the attacks whose inputs b has.
func Available(b *Bundle) []string {
	var out []string
	for _, a := range Attacks() {
		if a.needs(b) == nil {
			out = append(out, a.Name)
		}
	}
	return out
}

// Score runs the named attack on b: one score per sequence, higher = more likely a member. A NaN score
// marks a sequence the attack leaves out (MIMIR's empty Min-K% selections under Compat, ReCaLL's prefix
// texts in the default); metrics drop them.
func Score(b *Bundle, name string, p Params) ([]float64, error) {
	a, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("llm: unknown attack %q (want one of %s)", name, strings.Join(Names(), ", "))
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("llm: %s: %w", name, err)
	}
	if err := a.needs(b); err != nil {
		return nil, fmt.Errorf("llm: %s: %w", name, err)
	}
	s, err := a.score(b, p)
	if err != nil {
		return nil, fmt.Errorf("llm: %s: %w", name, err)
	}
	return s, nil
}

// mean is numpy.mean of a contiguous float64 array: pairwise summation, then one division.
func mean(x []float64) float64 { return numpysum.Sum(x) / float64(len(x)) }

// nll returns each sequence's average negative log-likelihood −mean_t log p(x_t | x_<t).
func nll(r Ragged[float64]) []float64 {
	out := make([]float64, len(r.Offsets)-1)
	for s := range out {
		out[s] = -mean(r.Seq(s))
	}
	return out
}

// Loss is the LOSS attack (Yeom et al., "Privacy Risk in Machine Learning", CSF 2018), on a text's
// average token log-likelihood:
//
//	score(x) = (1/(T−1)) Σ_{t≥1} log p(x_t | x_<t)   = −L(x)
//
// Members are fit better, so their likelihood is higher. MIMIR returns L(x); Compat changes nothing.
func Loss(b *Bundle, _ Params) []float64 {
	l := nll(b.LogProbs)
	for s := range l {
		l[s] = -l[s]
	}
	return l
}

// Zlib is the zlib-entropy calibration (Carlini et al., "Extracting Training Data from Large Language
// Models", USENIX Security 2021): the loss divided by the text's zlib-compressed length in bytes,
//
//	score(x) = −L(x) / zlib(x)
//
// so that texts that are simply easy (repetitive) are not taken for members. zlib(x) is zlib_len when the
// bundle gives it; otherwise it is computed here with Go's compress/zlib at level 6 from texts.json or the
// token strings. Go's DEFLATE encoder is not zlib's: the lengths generally differ from CPython's
// zlib.compress by a few bytes, so scores computed that way differ from MIMIR's. Export zlib_len to
// reproduce MIMIR.
func Zlib(b *Bundle, _ Params) ([]float64, error) {
	z, err := ZlibLengths(b)
	if err != nil {
		return nil, err
	}
	l := nll(b.LogProbs)
	for s := range l {
		l[s] = -(l[s] / float64(z[s]))
	}
	return l, nil
}

// ZlibLengths returns zlib_len, or computes it with Go's compress/zlib (level 6) from the texts or the
// token strings (see Zlib for why those lengths differ from CPython's).
func ZlibLengths(b *Bundle) ([]int64, error) {
	if b.ZlibLen != nil {
		return b.ZlibLen, nil
	}
	out := make([]int64, b.N())
	for s := range out {
		var text []byte
		switch {
		case b.Texts != nil:
			text = []byte(b.Texts[s])
		case b.Tokens.Present() && b.Vocab.Present():
			for _, id := range b.Tokens.Seq(s) {
				for _, c := range b.Vocab.Seq(int(id)) {
					text = append(text, byte(c))
				}
			}
		default:
			return nil, fmt.Errorf("%w: zlib_len.npy, texts.json, or token_ids.npy with vocab_bytes.npy", ErrMissingInput)
		}
		out[s] = int64(ZlibLen(text))
	}
	return out, nil
}

// ZlibLen returns the length of text compressed by Go's compress/zlib at level 6 (zlib's default), header
// and checksum included.
func ZlibLen(text []byte) int {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, 6)
	w.Write(text)
	w.Close()
	return buf.Len()
}

// MinK is Min-K% Prob (Shi et al., "Detecting Pretraining Data from Large Language Models", ICLR 2024):
// the mean of the k·100 % lowest token log-probabilities, where MIMIR's generalisation first averages
// windows of Window tokens starting every Stride tokens:
//
//	g_i = mean(log p(x_t | x_<t), t ∈ [i, i+w)),  i = 0, s, 2s, …, n−w
//	score(x) = mean of the m smallest g_i,  m = ⌊k·|g|⌋
//
// Unseen texts have a few outlier tokens with very low probability; members have fewer.
//
// pmeter's m is max(1, ⌊k·|g| + 10⁻⁹⌋): MIMIR's int(len(g) * k) truncates the float64 product, so
// 50 × 0.58 = 28.999999999999996 keeps 28 windows, not the 29 that k = 58 % means; and it keeps none
// (score NaN, the text silently dropped from the metrics) when k·|g| < 1. A text shorter than the window
// is one window of all its tokens (MIMIR: no window, NaN).
func MinK(b *Bundle, p Params) []float64 {
	out := make([]float64, b.N())
	var g []float64
	for s := range out {
		x := b.LogProbs.Seq(s)
		w := p.Window
		if !p.Compat.mimir() && w > len(x) {
			w = len(x)
		}
		g = g[:0]
		for i := 0; i+w <= len(x); i += p.Stride {
			g = append(g, mean(x[i:i+w]))
		}
		out[s] = -lowestMean(g, p.K, p.Compat)
	}
	return out
}

// MinKPlusPlus is Min-K%++ (Zhang et al., "Min-K%++: Improved Baseline for Detecting Pre-Training Data
// from Large Language Models", ICLR 2025): each token's log-probability is standardised by the mean and
// standard deviation of the log-probability under the model's full next-token distribution,
//
//	z_t = (log p(x_t | x_<t) − μ_t) / σ_t,   μ_t = E_{v∼p(·|x_<t)}[log p(v | x_<t)],   σ_t² = Var[…]
//	score(x) = mean of the ⌊k·n⌋ smallest z_t
//
// since training drives a member's tokens towards local maxima of the likelihood. The count m is as in
// MinK. Where σ_t = 0 (a one-hot distribution, so log p = μ = 0) pmeter takes z_t = 0; MIMIR gets NaN.
func MinKPlusPlus(b *Bundle, p Params) []float64 {
	out := make([]float64, b.N())
	var z []float64
	for s := range out {
		lo, hi := b.LogProbs.Offsets[s], b.LogProbs.Offsets[s+1]
		z = z[:0]
		for t := lo; t < hi; t++ {
			zt := (b.LogProbs.Values[t] - b.Mu[t]) / math.Sqrt(b.Sigma2[t])
			if b.Sigma2[t] == 0 && !p.Compat.mimir() {
				zt = 0
			}
			z = append(z, zt)
		}
		out[s] = -lowestMean(z, p.K, p.Compat)
	}
	return out
}

// lowestMean returns −mean of the m smallest values of g (sorted in place), with m as MinK describes;
// NaN for an empty selection (Compat only).
func lowestMean(g []float64, k float64, c Compat) float64 {
	slices.Sort(g)
	var m int
	if c.mimir() {
		m = int(float64(len(g)) * k) // MIMIR: int(len(g) * k), the float64 product truncated
	} else {
		m = max(1, int(math.Floor(float64(len(g))*k+1e-9)))
		m = min(m, len(g))
	}
	if m == 0 {
		return math.NaN()
	}
	return -mean(g[:m])
}

// ReferenceLoss is the reference-model attack (Carlini et al. 2021, "reference model" calibration; MIMIR's
// "ref"): the target's loss against an off-the-shelf reference language model's loss on the same text,
// each under its own tokenizer,
//
//	score(x) = L_ref(x) − L(x)
//
// which removes how intrinsically easy the text is. The reference model is not trained with known
// memberships (for that, see the sequence-level RMIA and LiRA). With several reference models and no
// Params.Reference, pmeter uses their mean loss; Compat needs exactly one.
func ReferenceLoss(b *Bundle, p Params) ([]float64, error) {
	refs := b.Refs
	if p.Reference != "" {
		refs = nil
		for _, r := range b.Refs {
			if r.Name == p.Reference {
				refs = append(refs, r)
			}
		}
		if refs == nil {
			var names []string
			for _, r := range b.Refs {
				names = append(names, r.Name)
			}
			return nil, fmt.Errorf("no reference model %q (the bundle has %s)", p.Reference, strings.Join(names, ", "))
		}
	}
	if p.Compat.mimir() && len(refs) != 1 {
		return nil, fmt.Errorf("compat=%s runs one reference model at a time (MIMIR's ref-<name>); the bundle has %d: pick one with reference=NAME", p.Compat, len(refs))
	}
	l := nll(b.LogProbs)
	ref := make([]float64, len(l))
	for _, r := range refs {
		rl := nll(r.LogProbs)
		for s := range ref {
			ref[s] += rl[s]
		}
	}
	out := make([]float64, len(l))
	for s := range out {
		rl := ref[s] / float64(len(refs))
		if len(refs) == 1 {
			rl = ref[s]
		}
		d := l[s] - rl // MIMIR: loss - ref_loss, lower = member
		if p.Compat == MimirPy311 {
			d = min(0, d)
		}
		out[s] = -d
	}
	return out, nil
}

// Neighborhood is the neighbourhood attack (Mattern et al., "Membership Inference Attacks against
// Language Models via Neighbourhood Comparison", Findings of ACL 2023): the loss of a text against the
// mean loss of n neighbours, texts that differ from it by a few word substitutions,
//
//	score(x) = (1/n) Σ_j L(x̃_j) − L(x)
//
// A member's loss is lower than its neighbours'. MIMIR returns loss − neighbour_losses elementwise and
// run.py takes np.min over it, which compares with the MAXIMUM neighbour loss: one outlier neighbour
// decides the score. pmeter uses the paper's mean (Compat: the maximum).
func Neighborhood(b *Bundle, p Params) ([]float64, error) {
	l := nll(b.LogProbs)
	out := make([]float64, len(l))
	for s := range out {
		nb := b.Neighbors.Seq(s)
		if p.Neighbors > 0 {
			if len(nb) < p.Neighbors {
				return nil, b.errAt("neighbor_offsets", -1, s, "%d neighbour losses, want at least neighbors = %d", len(nb), p.Neighbors)
			}
			nb = nb[:p.Neighbors]
		}
		if p.Compat.mimir() {
			m := math.Inf(1)
			for _, v := range nb {
				m = min(m, l[s]-v) // np.min(loss - neighbour_losses)
			}
			out[s] = -m
			continue
		}
		out[s] = mean(nb) - l[s]
	}
	return out, nil
}
