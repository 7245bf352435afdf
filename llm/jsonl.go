package llm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

// floats is a JSON array of numbers in which null stands for NaN (JSON has no NaN).
type floats []float64

func (f *floats) UnmarshalJSON(data []byte) error {
	var raw []*float64
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*f = make([]float64, len(raw))
	for i, p := range raw {
		if p == nil {
			(*f)[i] = math.NaN()
		} else {
			(*f)[i] = *p
		}
	}
	return nil
}

// jsonlRecord is one line of the JSONL form.
type jsonlRecord struct {
	Label            *bool           `json:"label"`
	TokenLogProbs    floats          `json:"token_logprobs"`
	Mu               floats          `json:"mu"`
	Sigma2           floats          `json:"sigma2"`
	TokenIDs         []int64         `json:"token_ids"`
	TokenLogProbsBOS floats          `json:"token_logprobs_bos"`
	ZlibLen          *int64          `json:"zlib_len"`
	RefTokenLogProbs json.RawMessage `json:"ref_token_logprobs"`
	CondTokenLogProb floats          `json:"cond_token_logprobs"`
	NeighborLosses   floats          `json:"neighbor_losses"`
	Text             *string         `json:"text"`
	// Shadows maps each shadow LM's name to its log-probabilities of this sequence and whether it was
	// fine-tuned on it (shadow/<name>/ of the directory form); Population marks a sequence of
	// population.npy.
	Shadows    map[string]*jsonlShadow `json:"shadows"`
	Population *bool                   `json:"population"`
}

// jsonlShadow is one shadow LM's part of a JSONL line.
type jsonlShadow struct {
	TokenLogProbs floats `json:"token_logprobs"`
	Member        *bool  `json:"member"`
}

// jsonlHeader is the optional first line.
type jsonlHeader struct {
	Meta           json.RawMessage `json:"meta"`
	FreqCounts     []int64         `json:"freq_counts"`
	CorpusTokenIDs [][]int64       `json:"corpus_token_ids"`
	Vocab          []string        `json:"vocab"`
}

// jsonlField names the JSONL field that holds a layout file's values.
func jsonlField(name string) string {
	switch name {
	case "lp_offsets":
		return "token_logprobs"
	case "token_offsets":
		return "token_ids"
	case "cond_lp_offsets":
		return "cond_token_logprobs"
	case "neighbor_offsets":
		return "neighbor_losses"
	case "labels":
		return "label"
	case "ref_lp_offsets":
		return "ref_token_logprobs"
	case "corpus_offsets":
		return "corpus_token_ids"
	case "vocab_bytes", "vocab_offsets":
		return "vocab"
	}
	if rest, ok := strings.CutPrefix(name, "ref/"); ok {
		return "ref_token_logprobs." + strings.Split(rest, "/")[0]
	}
	if rest, ok := strings.CutPrefix(name, "shadow/"); ok {
		sh, file, _ := strings.Cut(rest, "/")
		if file == "members" {
			return "shadows." + sh + ".member"
		}
		return "shadows." + sh + ".token_logprobs"
	}
	return name
}

// ReadJSONL reads the JSONL form: one JSON object per sequence, per line, with the fields
//
//	"token_logprobs" (required), "label", "mu", "sigma2", "token_ids", "token_logprobs_bos", "zlib_len",
//	"ref_token_logprobs" (an array, or an object from reference-model name to array),
//	"cond_token_logprobs" (null where a value is NaN), "neighbor_losses", "text",
//	"shadows" (an object from shadow-LM name to {"token_logprobs": [...], "member": true|false}: reference
//	LMs fine-tuned with known memberships, the same names on every line), "population" (true for a
//	sequence in no model's training set)
//
// named as the layout's arrays, each holding one sequence's values. An optional first line
// {"meta": {...meta.json...}, "freq_counts": [...], "corpus_token_ids": [[...], ...], "vocab": ["token", ...]}
// carries what is not per sequence. A field must be on every line or on none. Errors name the line. The
// bundle is validated before it is returned.
func ReadJSONL(path string) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	defer f.Close()
	b := &Bundle{Source: path}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var (
		lp, mu, s2, bos, cond, nl [][]float64
		ids                       [][]int64
		refs                      = map[string][][]float64{}
		refOrder                  []string
		labels                    []bool
		zl                        []int64
		texts                     []string
		shadows                   = map[string]*Shadow{}
		shadowOrder               []string
		shadowLP                  = map[string][][]float64{}
		population                []bool
		has                       = map[string]int{}
		line                      int
	)
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if len(lp) == 0 && bytes.Contains(text, []byte(`"meta"`)) {
			var h jsonlHeader
			dec := json.NewDecoder(bytes.NewReader(text))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&h); err == nil && h.Meta != nil {
				if err := parseMeta(fmt.Sprintf("%s:%d: meta", path, line), h.Meta, &b.Meta); err != nil {
					return nil, err
				}
				b.FreqCounts = h.FreqCounts
				if h.CorpusTokenIDs != nil {
					b.Corpus = NewRagged(h.CorpusTokenIDs)
				}
				if h.Vocab != nil {
					parts := make([][]int64, len(h.Vocab))
					for i, v := range h.Vocab {
						for _, c := range []byte(v) {
							parts[i] = append(parts[i], int64(c))
						}
					}
					b.Vocab = NewRagged(parts)
				}
				continue
			} else if err != nil {
				return nil, fmt.Errorf("llm: %s:%d: header line: %v", path, line, err)
			}
		}
		var r jsonlRecord
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("llm: %s:%d: %v", path, line, err)
		}
		s := len(lp)
		b.lines = append(b.lines, line)
		mark := func(field string, present bool) error {
			if present {
				has[field]++
			}
			if (has[field] > 0) != present || (present && has[field] != s+1) {
				return fmt.Errorf("llm: %s:%d: field %s is on some lines and not on others: give it on every line or none", path, line, field)
			}
			return nil
		}
		if r.TokenLogProbs == nil {
			return nil, fmt.Errorf("llm: %s:%d: field token_logprobs is missing (every sequence needs its token log-probabilities)", path, line)
		}
		lp = append(lp, r.TokenLogProbs)
		for _, c := range []struct {
			name string
			ok   bool
		}{{"label", r.Label != nil}, {"mu", r.Mu != nil}, {"sigma2", r.Sigma2 != nil}, {"token_ids", r.TokenIDs != nil},
			{"token_logprobs_bos", r.TokenLogProbsBOS != nil}, {"zlib_len", r.ZlibLen != nil},
			{"ref_token_logprobs", r.RefTokenLogProbs != nil}, {"cond_token_logprobs", r.CondTokenLogProb != nil},
			{"neighbor_losses", r.NeighborLosses != nil}, {"text", r.Text != nil},
			{"shadows", r.Shadows != nil}, {"population", r.Population != nil}} {
			if err := mark(c.name, c.ok); err != nil {
				return nil, err
			}
		}
		if r.Label != nil {
			labels = append(labels, *r.Label)
		}
		if r.Mu != nil {
			if len(r.Mu) != len(r.TokenLogProbs) || len(r.Sigma2) != len(r.TokenLogProbs) {
				return nil, fmt.Errorf("llm: %s:%d: mu and sigma2 have %d and %d values, want %d (one per token_logprobs value)", path, line, len(r.Mu), len(r.Sigma2), len(r.TokenLogProbs))
			}
			mu, s2 = append(mu, r.Mu), append(s2, r.Sigma2)
		}
		if r.TokenIDs != nil {
			ids = append(ids, r.TokenIDs)
		}
		if r.TokenLogProbsBOS != nil {
			if len(r.TokenLogProbsBOS) != len(r.TokenIDs) {
				return nil, fmt.Errorf("llm: %s:%d: token_logprobs_bos has %d values, want %d (one per token id)", path, line, len(r.TokenLogProbsBOS), len(r.TokenIDs))
			}
			bos = append(bos, r.TokenLogProbsBOS)
		}
		if r.ZlibLen != nil {
			zl = append(zl, *r.ZlibLen)
		}
		if r.CondTokenLogProb != nil {
			cond = append(cond, r.CondTokenLogProb)
		}
		if r.NeighborLosses != nil {
			nl = append(nl, r.NeighborLosses)
		}
		if r.Text != nil {
			texts = append(texts, *r.Text)
		}
		if r.Population != nil {
			population = append(population, *r.Population)
		}
		if r.Shadows != nil {
			if s == 0 {
				for name := range r.Shadows {
					if name == "" || strings.ContainsAny(name, "/\\") {
						return nil, fmt.Errorf("llm: %s:%d: field shadows: shadow LM name %q; want a non-empty name without / or \\", path, line, name)
					}
					shadowOrder = append(shadowOrder, name)
					shadows[name] = &Shadow{Name: name}
				}
				slices.Sort(shadowOrder)
			}
			if len(r.Shadows) != len(shadowOrder) {
				return nil, fmt.Errorf("llm: %s:%d: field shadows names %d shadow LMs, the first line %d: give every shadow LM on every line", path, line, len(r.Shadows), len(shadowOrder))
			}
			for _, name := range shadowOrder {
				sh, ok := r.Shadows[name]
				switch {
				case !ok:
					return nil, fmt.Errorf("llm: %s:%d: field shadows lacks shadow LM %q (the first line has it)", path, line, name)
				case sh == nil || sh.TokenLogProbs == nil:
					return nil, fmt.Errorf("llm: %s:%d: field shadows.%s.token_logprobs is missing (the shadow LM's log-probabilities of this sequence)", path, line, name)
				case sh.Member == nil:
					return nil, fmt.Errorf("llm: %s:%d: field shadows.%s.member is missing (true if the shadow LM was fine-tuned on this sequence)", path, line, name)
				}
				shadowLP[name] = append(shadowLP[name], sh.TokenLogProbs)
				shadows[name].Members = append(shadows[name].Members, *sh.Member)
			}
		}
		if r.RefTokenLogProbs != nil {
			var one floats
			byName := map[string]floats{}
			if err := json.Unmarshal(r.RefTokenLogProbs, &one); err == nil {
				byName["reference"] = one
			} else if err := json.Unmarshal(r.RefTokenLogProbs, &byName); err != nil {
				return nil, fmt.Errorf("llm: %s:%d: field ref_token_logprobs: want an array of numbers or an object from reference-model name to array", path, line)
			}
			if s == 0 {
				for name := range byName {
					refOrder = append(refOrder, name)
				}
				slices.Sort(refOrder)
			}
			if len(byName) != len(refOrder) {
				return nil, fmt.Errorf("llm: %s:%d: field ref_token_logprobs names %d reference models, the first line %d", path, line, len(byName), len(refOrder))
			}
			for _, name := range refOrder {
				v, ok := byName[name]
				if !ok {
					return nil, fmt.Errorf("llm: %s:%d: field ref_token_logprobs lacks reference model %q", path, line, name)
				}
				refs[name] = append(refs[name], v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("llm: %s: %w", path, err)
	}
	if len(lp) == 0 {
		return nil, fmt.Errorf("llm: %s: no sequence (want one JSON object per line)", path)
	}
	b.LogProbs = NewRagged(lp)
	b.Labels = labels
	if mu != nil {
		b.Mu, b.Sigma2 = NewRagged(mu).Values, NewRagged(s2).Values
	}
	if ids != nil {
		b.Tokens = NewRagged(ids)
	}
	if bos != nil {
		b.LogProbsBOS = NewRagged(bos).Values
	}
	b.ZlibLen = zl
	if cond != nil {
		b.Cond = NewRagged(cond)
	}
	if nl != nil {
		b.Neighbors = NewRagged(nl)
	}
	b.Texts = texts
	for _, name := range refOrder {
		b.Refs = append(b.Refs, Reference{Name: name, LogProbs: NewRagged(refs[name])})
	}
	for _, name := range shadowOrder {
		sh := shadows[name]
		sh.LogProbs = NewRagged(shadowLP[name])
		b.Shadows = append(b.Shadows, *sh)
	}
	b.Population = population
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}
