package lmscore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/pmeter/pmeter/npy"
)

// ReadTokens reads the sequences to score from a .jsonl or .npy file.
//
// JSONL: one sequence per line, either a JSON array of token ids or an object
// {"token_ids": [...], "label": true, "text": "..."} where label (true = member) and text are optional but,
// when given, must be on every line. Blank lines are skipped; errors name the line.
//
// .npy: a 2-D integer array, sequences × tokens (all of one length); labels may come from a separate
// boolean .npy (labelsPath, "" for none), which a JSONL file must not be combined with.
func ReadTokens(path, labelsPath string) (Input, error) {
	var in Input
	var err error
	switch {
	case strings.HasSuffix(path, ".jsonl"):
		if labelsPath != "" {
			return Input{}, fmt.Errorf("lmscore: %s: labels come from the JSONL lines' \"label\" field, not from %s", path, labelsPath)
		}
		return readJSONL(path)
	case strings.HasSuffix(path, ".npy"):
		if in, err = readNPY(path); err != nil {
			return Input{}, err
		}
	default:
		return Input{}, fmt.Errorf("lmscore: %s: want a .jsonl or .npy file of token ids", path)
	}
	if labelsPath != "" {
		a, err := npy.ReadFile(labelsPath)
		if err != nil {
			return Input{}, fmt.Errorf("lmscore: %w", err)
		}
		if len(a.Shape) != 1 {
			return Input{}, fmt.Errorf("lmscore: %s: shape %s; want a 1-D boolean array", labelsPath, npy.ShapeString(a.Shape))
		}
		if in.Labels, err = a.Bools(); err != nil {
			return Input{}, fmt.Errorf("lmscore: %s: %w", labelsPath, err)
		}
		if len(in.Labels) != len(in.Tokens) {
			return Input{}, fmt.Errorf("lmscore: %s has %d labels for the %d sequences of %s", labelsPath, len(in.Labels), len(in.Tokens), path)
		}
	}
	return in, nil
}

func readNPY(path string) (Input, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return Input{}, fmt.Errorf("lmscore: %w", err)
	}
	if len(a.Shape) != 2 {
		return Input{}, fmt.Errorf("lmscore: %s: shape %s; want sequences × tokens", path, npy.ShapeString(a.Shape))
	}
	if a.Kind == npy.Float32 || a.Kind == npy.Float64 || a.Kind == npy.Bool {
		return Input{}, fmt.Errorf("lmscore: %s: dtype %s; want integer token ids", path, a.Kind)
	}
	v, err := a.Int64s()
	if err != nil {
		return Input{}, fmt.Errorf("lmscore: %s: %w", path, err)
	}
	n, t := a.Shape[0], a.Shape[1]
	in := Input{Tokens: make([][]int64, n)}
	for s := range in.Tokens {
		in.Tokens[s] = v[s*t : (s+1)*t : (s+1)*t]
	}
	return in, nil
}

type tokenLine struct {
	TokenIDs *[]int64 `json:"token_ids"`
	Label    *bool    `json:"label"`
	Text     *string  `json:"text"`
}

func readJSONL(path string) (Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return Input{}, fmt.Errorf("lmscore: %w", err)
	}
	defer f.Close()
	var in Input
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line, hasLabel, hasText := 0, -1, -1
	at := func(format string, a ...any) error {
		return fmt.Errorf("lmscore: %s:%d: %s", path, line, fmt.Sprintf(format, a...))
	}
	// same checks that an optional field is on every line or on none.
	same := func(has *int, now bool, field string) error {
		switch {
		case *has < 0:
			*has = map[bool]int{false: 0, true: 1}[now]
		case (*has == 1) != now:
			return at("%q is on some lines and not on others", field)
		}
		return nil
	}
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var ids []int64
		if text[0] == '[' {
			if err := json.Unmarshal(text, &ids); err != nil {
				return Input{}, at("want a JSON array of integer token ids: %v", err)
			}
			if err := same(&hasLabel, false, "label"); err != nil {
				return Input{}, err
			}
			if err := same(&hasText, false, "text"); err != nil {
				return Input{}, err
			}
		} else {
			var r tokenLine
			dec := json.NewDecoder(bytes.NewReader(text))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				return Input{}, at("want {\"token_ids\": [...], \"label\": bool, \"text\": string}: %v", err)
			}
			if r.TokenIDs == nil {
				return Input{}, at("no \"token_ids\"")
			}
			ids = *r.TokenIDs
			if err := same(&hasLabel, r.Label != nil, "label"); err != nil {
				return Input{}, err
			}
			if err := same(&hasText, r.Text != nil, "text"); err != nil {
				return Input{}, err
			}
			if r.Label != nil {
				in.Labels = append(in.Labels, *r.Label)
			}
			if r.Text != nil {
				in.Texts = append(in.Texts, *r.Text)
			}
		}
		if len(ids) < 2 {
			return Input{}, at("%d token id(s); at least 2 are needed to score one", len(ids))
		}
		in.Tokens = append(in.Tokens, ids)
	}
	if err := sc.Err(); err != nil {
		return Input{}, fmt.Errorf("lmscore: %s: %w", path, err)
	}
	if len(in.Tokens) == 0 {
		return Input{}, fmt.Errorf("lmscore: %s holds no sequence", path)
	}
	return in, nil
}

// Truncate cuts every sequence of in to its first n tokens (as a tokenizer's truncation to a model's
// context would) and returns how many it cut. With an EOS pass (Options.EOS), n must leave room for the
// EOS token: at most the model's context − 1.
func Truncate(in *Input, n int) int {
	cut := 0
	for s, ids := range in.Tokens {
		if len(ids) > n {
			in.Tokens[s] = ids[:n:n]
			cut++
		}
	}
	return cut
}
