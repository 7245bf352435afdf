package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/npy"
)

// Format is the value of meta.json's "format" field that this package reads.
const Format = "mia-llm-logprobs/1"

// Ragged holds one per-sequence list of values for each of N sequences: sequence s's values are
// Values[Offsets[s]:Offsets[s+1]]. Offsets has N+1 entries, starts at 0, never decreases and ends at
// len(Values) (Validate checks it). A Ragged with nil Offsets is absent.
type Ragged[T float64 | int64] struct {
	Values  []T
	Offsets []int64
}

// Seq returns sequence s's values.
func (r Ragged[T]) Seq(s int) []T { return r.Values[r.Offsets[s]:r.Offsets[s+1]] }

// Count returns the number of values of sequence s.
func (r Ragged[T]) Count(s int) int { return int(r.Offsets[s+1] - r.Offsets[s]) }

// Present reports whether the array was given.
func (r Ragged[T]) Present() bool { return r.Offsets != nil }

// NewRagged returns the Ragged of the given per-sequence lists.
func NewRagged[T float64 | int64](parts [][]T) Ragged[T] {
	r := Ragged[T]{Offsets: make([]int64, len(parts)+1)}
	for s, p := range parts {
		r.Values = append(r.Values, p...)
		r.Offsets[s+1] = int64(len(r.Values))
	}
	if r.Values == nil {
		r.Values = []T{}
	}
	return r
}

// Reference is one reference language model's log-probabilities of each text under its own tokenizer:
// R_s - 1 values for a text of R_s reference tokens.
type Reference struct {
	Name     string
	LogProbs Ragged[float64]

	flat bool // read from ref_token_logprobs.npy rather than ref/<name>/
}

// Shadow is a reference language model trained (fine-tuned) with known memberships, as Privacy Meter v2
// trains them: its log-probabilities of every sequence, under the target's tokenizer, and which sequences
// it was trained on. Not to be confused with Reference, an off-the-shelf model without known memberships.
type Shadow struct {
	Name     string
	LogProbs Ragged[float64]
	Members  []bool
}

// Meta is meta.json: a description of the export. Only the blocks that apply need be present.
type Meta struct {
	Format          string        `json:"format"`
	NSequences      int           `json:"n_sequences"`
	TargetModel     string        `json:"target_model,omitempty"`
	LogitsDtype     string        `json:"logits_dtype,omitempty"`
	BOSAdded        bool          `json:"bos_added"`
	ReferenceModels []string      `json:"reference_models,omitempty"`
	Recall          *RecallMeta   `json:"recall,omitempty"`
	Neighbors       *NeighborMeta `json:"neighbors,omitempty"`
	DCPDD           *DCPDDMeta    `json:"dc_pdd,omitempty"`
	// Extra fields that tools may add; kept so that a bundle can be written back unchanged.
	Source string `json:"source,omitempty"`
}

// RecallMeta describes how cond_token_logprobs were computed (ReCaLL).
type RecallMeta struct {
	NumShots  int `json:"num_shots"`
	PrefixLen int `json:"prefix_len"`
	MaxLength int `json:"max_length"`
	// PrefixSequences are the indexes of the (non-member) sequences whose texts form the prefix. MIMIR
	// still scores them; pmeter's default leaves them out of the evaluation (see ReCaLL).
	PrefixSequences []int `json:"prefix_sequences,omitempty"`
}

// NeighborMeta describes neighbor_losses.
type NeighborMeta struct {
	NPerturbationList []int `json:"n_perturbation_list,omitempty"`
}

// DCPDDMeta describes DC-PDD's inputs.
type DCPDDMeta struct {
	EOSTokenID int `json:"eos_token_id"`
	// Counting says what freq_counts count: "occurrence" (every occurrence, as the DC-PDD reference code
	// does) or "document" (documents containing the token, as MIMIR's _fre_dis does).
	Counting string `json:"counting,omitempty"`
	// VocabSize is len(tokenizer), the size of the frequency table (and so of the Laplace smoothing's |V|)
	// when the counts are made from corpus_token_ids; 0 = the largest token id + 1.
	VocabSize int `json:"vocab_size,omitempty"`
}

// Bundle is one export of per-token quantities for N sequences. Only LogProbs is required; every other
// field is nil when absent. Read fills it and validates it.
type Bundle struct {
	Source string // the path it was read from, for messages
	Meta   Meta

	Labels      []bool          // labels.npy: N, true = member; nil to only score
	LogProbs    Ragged[float64] // token_logprobs.npy / lp_offsets.npy: T_s - 1 values, log p(x_t | x_<t), t ≥ 1
	Mu, Sigma2  []float64       // mu.npy, sigma2.npy: aligned with LogProbs (Min-K%++)
	Tokens      Ragged[int64]   // token_ids.npy / token_offsets.npy: T_s ids
	LogProbsBOS []float64       // token_logprobs_bos.npy: aligned with Tokens, log p(x_t | EOS, x_<t), t ≥ 0 (DC-PDD)
	FreqCounts  []int64         // freq_counts.npy: token counts of a reference corpus (DC-PDD)
	Corpus      Ragged[int64]   // corpus_token_ids.npy / corpus_offsets.npy: a reference corpus, to count tokens in Go
	ZlibLen     []int64         // zlib_len.npy: N, len(zlib.compress(text.encode("utf-8")))
	Vocab       Ragged[int64]   // vocab_bytes.npy / vocab_offsets.npy: the UTF-8 bytes of each token string
	Refs        []Reference     // ref_token_logprobs.npy / ref_lp_offsets.npy, or ref/<name>/{token_logprobs,lp_offsets}.npy
	Cond        Ragged[float64] // cond_token_logprobs.npy / cond_lp_offsets.npy: T_s values, log p(x_t | prefix, x_<t), t ≥ 0; NaN where unscored
	Neighbors   Ragged[float64] // neighbor_losses.npy / neighbor_offsets.npy: each text's neighbour losses, best first
	Texts       []string        // texts.json (a JSON array of N strings) or JSONL "text": for reports and zlib
	Shadows     []Shadow        // shadow/<name>/{token_logprobs,lp_offsets,members}.npy: reference LMs trained with known memberships
	Population  []bool          // population.npy: N, true for sequences in no model's training set, RMIA's population z

	lines []int // the JSONL line of each sequence, for messages
}

// N returns the number of sequences.
func (b *Bundle) N() int { return len(b.LogProbs.Offsets) - 1 }

// A FormatError reports an input that does not follow the layout: the file, the array and, where it
// applies, the flat index and the sequence.
type FormatError struct {
	File     string // the file (or archive member, or JSONL line) at fault
	Index    int    // flat index in the array, or -1
	Sequence int    // the sequence, or -1
	Msg      string
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("llm: ")
	b.WriteString(e.File)
	if e.Index >= 0 {
		fmt.Fprintf(&b, "[%d]", e.Index)
	}
	if e.Sequence >= 0 {
		fmt.Fprintf(&b, " (sequence %d)", e.Sequence)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func ferr(file string, index, seq int, format string, a ...any) error {
	return &FormatError{File: file, Index: index, Sequence: seq, Msg: fmt.Sprintf(format, a...)}
}

// Read reads a bundle from path: a directory of .npy files (with optional meta.json, texts.json and
// ref/<name>/ subdirectories), a .npz archive holding the same arrays (reference models as members
// "ref/<name>/token_logprobs" and "ref/<name>/lp_offsets"; meta.json may sit beside it as
// <archive>.meta.json), or a .jsonl file (see ReadJSONL). The bundle is validated before it is returned.
func Read(path string) (*Bundle, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	var b *Bundle
	switch {
	case st.IsDir():
		b, err = readDir(path)
	case strings.HasSuffix(path, ".npz"):
		b, err = readNPZ(path)
	case strings.HasSuffix(path, ".jsonl"):
		b, err = ReadJSONL(path)
		if err != nil {
			return nil, err
		}
		return b, nil // ReadJSONL validates
	default:
		return nil, fmt.Errorf("llm: %s: want a directory of .npy files, a .npz archive or a .jsonl file", path)
	}
	if err != nil {
		return nil, err
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// IsBundle reports whether path looks like an LLM bundle: a directory holding lp_offsets.npy, a .npz with
// an lp_offsets member, or a .jsonl file.
func IsBundle(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if st.IsDir() {
		_, err := os.Stat(filepath.Join(path, "lp_offsets.npy"))
		return err == nil
	}
	if strings.HasSuffix(path, ".jsonl") {
		return true
	}
	if strings.HasSuffix(path, ".npz") {
		z, err := npy.OpenNPZ(path)
		if err != nil {
			return false
		}
		defer z.Close()
		return z.Header("lp_offsets") != nil
	}
	return false
}

// arrays abstracts a directory and a .npz archive: get returns the named array (nil when absent) and the
// name to use in messages.
type arrays interface {
	get(name string) (*npy.Array, string, error)
	subdirs(prefix string) ([]string, error)
}

type dirArrays string

func (d dirArrays) get(name string) (*npy.Array, string, error) {
	p := filepath.Join(string(d), filepath.FromSlash(name)+".npy")
	a, err := npy.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, p, nil
	}
	if err != nil {
		return nil, p, fmt.Errorf("llm: %w", err)
	}
	return a, p, nil
}

func (d dirArrays) subdirs(prefix string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(string(d), prefix))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

type npzArrays struct {
	path string
	z    *npy.NPZ
}

func (n npzArrays) get(name string) (*npy.Array, string, error) {
	where := n.path + ":" + name + ".npy"
	if n.z.Header(name) == nil {
		return nil, where, nil
	}
	a, err := n.z.Read(name)
	if err != nil {
		return nil, where, fmt.Errorf("llm: %w", err)
	}
	return a, where, nil
}

func (n npzArrays) subdirs(prefix string) ([]string, error) {
	var out []string
	for _, k := range n.z.Names() {
		if rest, ok := strings.CutPrefix(k, prefix+"/"); ok {
			if name, ok := strings.CutSuffix(rest, "/lp_offsets"); ok && !strings.Contains(name, "/") {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

func readDir(dir string) (*Bundle, error) {
	b := &Bundle{Source: dir}
	if err := readMeta(filepath.Join(dir, "meta.json"), &b.Meta); err != nil {
		return nil, err
	}
	if err := readArrays(dirArrays(dir), b); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "texts.json")
	if data, err := os.ReadFile(p); err == nil {
		if err := json.Unmarshal(data, &b.Texts); err != nil {
			return nil, ferr(p, -1, -1, "want a JSON array of strings: %v", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("llm: %w", err)
	}
	return b, nil
}

func readNPZ(path string) (*Bundle, error) {
	z, err := npy.OpenNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	defer z.Close()
	b := &Bundle{Source: path}
	if err := readMeta(strings.TrimSuffix(path, ".npz")+".meta.json", &b.Meta); err != nil {
		return nil, err
	}
	if err := readArrays(npzArrays{path, z}, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readMeta reads meta.json at p into m; a missing file leaves m zero.
func readMeta(p string, m *Meta) error {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("llm: %w", err)
	}
	return parseMeta(p, data, m)
}

func parseMeta(where string, data []byte, m *Meta) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return ferr(where, -1, -1, "%v", err)
	}
	if m.Format != Format {
		return ferr(where, -1, -1, "format is %q, want %q", m.Format, Format)
	}
	if m.DCPDD != nil && m.DCPDD.Counting != "" && m.DCPDD.Counting != "document" && m.DCPDD.Counting != "occurrence" {
		return ferr(where, -1, -1, "dc_pdd.counting is %q, want \"document\" or \"occurrence\"", m.DCPDD.Counting)
	}
	return nil
}

func readArrays(src arrays, b *Bundle) error {
	var err error
	f64 := func(name string, dst *[]float64) {
		if err != nil {
			return
		}
		var a *npy.Array
		var where string
		if a, where, err = src.get(name); err != nil || a == nil {
			return
		}
		if a.Kind != npy.Float64 && a.Kind != npy.Float32 {
			err = ferr(where, -1, -1, "dtype %s, want float64 (or float32)", a.Kind)
			return
		}
		if len(a.Shape) != 1 {
			err = ferr(where, -1, -1, "shape %s, want one dimension", npy.ShapeString(a.Shape))
			return
		}
		*dst = a.Float64s()
	}
	i64 := func(name string, dst *[]int64) {
		if err != nil {
			return
		}
		var a *npy.Array
		var where string
		if a, where, err = src.get(name); err != nil || a == nil {
			return
		}
		if len(a.Shape) != 1 {
			err = ferr(where, -1, -1, "shape %s, want one dimension", npy.ShapeString(a.Shape))
			return
		}
		if a.Kind == npy.Float64 || a.Kind == npy.Float32 || a.Kind == npy.Bool {
			err = ferr(where, -1, -1, "dtype %s, want an integer type (int64)", a.Kind)
			return
		}
		v, e := a.Int64s()
		if e != nil {
			err = ferr(where, -1, -1, "%v", e)
			return
		}
		*dst = v
	}
	f64("token_logprobs", &b.LogProbs.Values)
	i64("lp_offsets", &b.LogProbs.Offsets)
	f64("mu", &b.Mu)
	f64("sigma2", &b.Sigma2)
	i64("token_ids", &b.Tokens.Values)
	i64("token_offsets", &b.Tokens.Offsets)
	f64("token_logprobs_bos", &b.LogProbsBOS)
	i64("freq_counts", &b.FreqCounts)
	i64("corpus_token_ids", &b.Corpus.Values)
	i64("corpus_offsets", &b.Corpus.Offsets)
	i64("zlib_len", &b.ZlibLen)
	i64("vocab_bytes", &b.Vocab.Values)
	i64("vocab_offsets", &b.Vocab.Offsets)
	f64("cond_token_logprobs", &b.Cond.Values)
	i64("cond_lp_offsets", &b.Cond.Offsets)
	f64("neighbor_losses", &b.Neighbors.Values)
	i64("neighbor_offsets", &b.Neighbors.Offsets)
	var ref Reference
	f64("ref_token_logprobs", &ref.LogProbs.Values)
	i64("ref_lp_offsets", &ref.LogProbs.Offsets)
	if err != nil {
		return err
	}
	if ref.LogProbs.Present() || ref.LogProbs.Values != nil {
		ref.Name, ref.flat = "reference", true
		if len(b.Meta.ReferenceModels) == 1 {
			ref.Name = b.Meta.ReferenceModels[0]
		}
		b.Refs = append(b.Refs, ref)
	}
	names, err := src.subdirs("ref")
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		r := Reference{Name: name}
		f64("ref/"+name+"/token_logprobs", &r.LogProbs.Values)
		i64("ref/"+name+"/lp_offsets", &r.LogProbs.Offsets)
		if err != nil {
			return err
		}
		b.Refs = append(b.Refs, r)
	}
	bools := func(name string) ([]bool, error) {
		a, where, err := src.get(name)
		if err != nil || a == nil {
			return nil, err
		}
		v, err := a.Bools()
		if err != nil {
			return nil, ferr(where, -1, -1, "%v", err)
		}
		return v, nil
	}
	if b.Labels, err = bools("labels"); err != nil {
		return err
	}
	if b.Population, err = bools("population"); err != nil {
		return err
	}
	if names, err = src.subdirs("shadow"); err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		sh := Shadow{Name: name}
		f64("shadow/"+name+"/token_logprobs", &sh.LogProbs.Values)
		i64("shadow/"+name+"/lp_offsets", &sh.LogProbs.Offsets)
		if err != nil {
			return err
		}
		if sh.Members, err = bools("shadow/" + name + "/members"); err != nil {
			return err
		}
		b.Shadows = append(b.Shadows, sh)
	}
	return nil
}
