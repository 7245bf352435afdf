package llm

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// synthBundle returns a small bundle with every optional array.
func synthBundle(n int, seed uint64) *Bundle {
	r := rand.New(rand.NewPCG(seed, 1))
	var lp, cond, nb, ref [][]float64
	var ids [][]int64
	var mu, s2, bos []float64
	b := &Bundle{}
	for s := range n {
		t := 3 + r.IntN(12)
		var seq, c []float64
		var id []int64
		c = append(c, -r.Float64()*3)
		for j := 0; j < t; j++ {
			id = append(id, int64(r.IntN(20)))
			bos = append(bos, -r.Float64()*4)
			if j > 0 {
				v := -r.Float64() * 4
				seq = append(seq, v)
				c = append(c, v-r.Float64())
				mu = append(mu, -2-r.Float64())
				s2 = append(s2, 0.5+r.Float64())
			}
		}
		lp, cond, ids = append(lp, seq), append(cond, c), append(ids, id)
		nb = append(nb, []float64{1 + r.Float64(), 2 + r.Float64(), 1.5})
		ref = append(ref, []float64{-1, -r.Float64() * 3})
		b.Labels = append(b.Labels, s%2 == 0)
		b.ZlibLen = append(b.ZlibLen, int64(10+r.IntN(30)))
		b.Texts = append(b.Texts, strings.Repeat("w", t))
	}
	b.LogProbs, b.Cond, b.Neighbors, b.Tokens = NewRagged(lp), NewRagged(cond), NewRagged(nb), NewRagged(ids)
	b.Mu, b.Sigma2, b.LogProbsBOS = mu, s2, bos
	b.Refs = []Reference{{Name: "small", LogProbs: NewRagged(ref)}}
	// Two shadow LMs and a population (in no model's training set: s%4 == 3, odd, so no target member).
	for k, name := range []string{"a", "b"} {
		sh := Shadow{Name: name}
		var v [][]float64
		for s := range n {
			var x []float64
			for _, l := range b.LogProbs.Seq(s) {
				x = append(x, l*(0.5+0.5*float64(k)))
			}
			v = append(v, x)
			sh.Members = append(sh.Members, s%4 != 3 && (s+k)%3 == 0)
		}
		sh.LogProbs = NewRagged(v)
		b.Shadows = append(b.Shadows, sh)
	}
	for s := range n {
		b.Population = append(b.Population, s%4 == 3)
	}
	b.FreqCounts = make([]int64, 20)
	for i := range b.FreqCounts {
		b.FreqCounts[i] = int64(r.IntN(100))
	}
	b.Meta = Meta{Format: Format, NSequences: n, Recall: &RecallMeta{NumShots: 1, PrefixLen: 5, MaxLength: 2048}}
	return b
}

// sameBundle compares what the layout carries.
func sameBundle(t *testing.T, what string, got, want *Bundle) {
	t.Helper()
	g, w := *got, *want
	g.Source, w.Source, g.lines, w.lines = "", "", nil, nil
	g.Meta.ReferenceModels, w.Meta.ReferenceModels = nil, nil
	for i := range g.Refs {
		g.Refs[i].flat = false
	}
	for i := range w.Refs {
		w.Refs[i].flat = false
	}
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		t.Errorf("%s: bundles differ:\n got %.400s\nwant %.400s", what, gj, wj)
	}
}

func TestReadForms(t *testing.T) {
	b := synthBundle(7, 1)
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteDir(dir); err == nil {
		t.Error("WriteDir over an existing export: no error")
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, "directory", got, b)
	if !IsBundle(dir) {
		t.Error("IsBundle(dir) = false")
	}

	// The same arrays in one .npz, meta.json beside it.
	npz := filepath.Join(t.TempDir(), "b.npz")
	f, err := os.Create(npz)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".npy") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Store})
		data, _ := os.ReadFile(p)
		w.Write(data)
		return nil
	})
	zw.Close()
	f.Close()
	meta, _ := os.ReadFile(filepath.Join(dir, "meta.json"))
	os.WriteFile(strings.TrimSuffix(npz, ".npz")+".meta.json", meta, 0o644)
	got, err = Read(npz)
	if err != nil {
		t.Fatal(err)
	}
	got.Texts = b.Texts // a .npz carries no texts
	sameBundle(t, "npz", got, b)

	// JSONL: a header line, then one object per sequence.
	jl := filepath.Join(t.TempDir(), "b.jsonl")
	var sb strings.Builder
	hdr, _ := json.Marshal(map[string]any{"meta": b.Meta, "freq_counts": b.FreqCounts})
	sb.Write(hdr)
	sb.WriteByte('\n')
	for s := range b.N() {
		lo, hi := b.LogProbs.Offsets[s], b.LogProbs.Offsets[s+1]
		to, th := b.Tokens.Offsets[s], b.Tokens.Offsets[s+1]
		rec := map[string]any{
			"label": b.Labels[s], "token_logprobs": b.LogProbs.Seq(s), "mu": b.Mu[lo:hi], "sigma2": b.Sigma2[lo:hi],
			"token_ids": b.Tokens.Seq(s), "token_logprobs_bos": b.LogProbsBOS[to:th], "zlib_len": b.ZlibLen[s],
			"ref_token_logprobs":  map[string]any{"small": b.Refs[0].LogProbs.Seq(s)},
			"cond_token_logprobs": b.Cond.Seq(s), "neighbor_losses": b.Neighbors.Seq(s), "text": b.Texts[s],
			"population": b.Population[s],
			"shadows": map[string]any{
				"a": map[string]any{"token_logprobs": b.Shadows[0].LogProbs.Seq(s), "member": b.Shadows[0].Members[s]},
				"b": map[string]any{"token_logprobs": b.Shadows[1].LogProbs.Seq(s), "member": b.Shadows[1].Members[s]},
			},
		}
		line, _ := json.Marshal(rec)
		sb.Write(line)
		sb.WriteByte('\n')
	}
	os.WriteFile(jl, []byte(sb.String()), 0o644)
	got, err = Read(jl)
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, "jsonl", got, b)
}

func TestJSONLNull(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.jsonl")
	os.WriteFile(p, []byte(`{"token_logprobs":[-1,-2],"cond_token_logprobs":[-1,null,-3],"label":true}
{"token_logprobs":[-1],"cond_token_logprobs":[-1,-2],"label":false}
`), 0o644)
	b, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(b.Cond.Values[1]) {
		t.Errorf("null read as %v, want NaN", b.Cond.Values[1])
	}
	os.WriteFile(p, []byte(`{"token_logprobs":[-1,-2],"label":true}
{"token_logprobs":[-1]}
`), 0o644)
	if _, err := Read(p); err == nil || !strings.Contains(err.Error(), "x.jsonl:2: field label") {
		t.Errorf("label on one line only: error %v, want it to name line 2 and field label", err)
	}
	os.WriteFile(p, []byte(`{"token_logprobs":[-1,-2]}
{"token_logprobs":[-1, 0.5]}
`), 0o644)
	if _, err := Read(p); err == nil || !strings.Contains(err.Error(), "x.jsonl:2: field token_logprobs") {
		t.Errorf("positive log-prob: error %v, want it to name line 2", err)
	}
}

// TestJSONLShadowErrors checks that the JSONL form's shadow LMs and population are validated with
// errors that name the line and the field.
func TestJSONLShadowErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.jsonl")
	for _, c := range []struct{ data, want string }{
		{`{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[-1],"member":true}}}
{"token_logprobs":[-1],"shadows":{"b":{"token_logprobs":[-1],"member":true}}}`, `s.jsonl:2: field shadows lacks shadow LM "a"`},
		{`{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[-1],"member":true}}}
{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[-1]}}}`, "s.jsonl:2: field shadows.a.member is missing"},
		{`{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[-1],"member":true}}}
{"token_logprobs":[-1],"shadows":{"a":{"member":false}}}`, "s.jsonl:2: field shadows.a.token_logprobs is missing"},
		{`{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[-1],"member":true}}}
{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[-1, 0.5],"member":false}}}`, "s.jsonl:2: field shadows.a.token_logprobs"},
		{`{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[-1],"member":true}}}
{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[],"member":false}}}`, "s.jsonl:2: field shadows.a.token_logprobs (sequence 1): no scored token"},
		{`{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[-1],"member":true}}}
{"token_logprobs":[-1]}`, "s.jsonl:2: field shadows is on some lines"},
		{`{"token_logprobs":[-1],"shadows":{"a":{"token_logprobs":[-1],"member":true,"x":1}}}`, "s.jsonl:1: json: unknown field \"x\""},
		{`{"token_logprobs":[-1],"population":false,"shadows":{"a":{"token_logprobs":[-1],"member":true}}}
{"token_logprobs":[-1],"population":true,"shadows":{"a":{"token_logprobs":[-1],"member":true}}}`, "s.jsonl:2: field population (sequence 1): marks a member of shadow model a"},
		{`{"token_logprobs":[-1],"shadows":{"a/b":{"token_logprobs":[-1],"member":true}}}`, "s.jsonl:1: field shadows: shadow LM name"},
	} {
		os.WriteFile(p, []byte(c.data), 0o644)
		if _, err := Read(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\nerror %v, want it to contain %q", c.data, err, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(b *Bundle)
		want   []string // substrings of the error
	}{
		{"positive log-prob", func(b *Bundle) { b.LogProbs.Values[4] = 0.1 }, []string{"token_logprobs.npy[4]", "sequence", "≤ 0"}},
		{"NaN log-prob", func(b *Bundle) { b.LogProbs.Values[2] = math.NaN() }, []string{"token_logprobs.npy[2]"}},
		{"negative sigma2", func(b *Bundle) { b.Sigma2[7] = -1e-7 }, []string{"sigma2.npy[7]", "sequence", "float32"}},
		{"offsets end", func(b *Bundle) { b.LogProbs.Offsets[len(b.LogProbs.Offsets)-1]-- }, []string{"lp_offsets.npy[7]", "length"}},
		{"offsets decrease", func(b *Bundle) { b.Neighbors.Offsets[2] = b.Neighbors.Offsets[1] - 1 }, []string{"neighbor_offsets.npy[2]", "never decrease"}},
		{"offsets start", func(b *Bundle) { b.Cond.Offsets[0] = 1 }, []string{"cond_lp_offsets.npy[0]", "want 0"}},
		{"no scored token", func(b *Bundle) {
			b.LogProbs = NewRagged([][]float64{{}, {-1}, {-1}, {-1}, {-1}, {-1}, {-1}})
			b.Mu, b.Sigma2, b.Cond, b.Tokens, b.LogProbsBOS = nil, nil, Ragged[float64]{}, Ragged[int64]{}, nil
		}, []string{"lp_offsets.npy (sequence 0)", "at least"}},
		{"cond count", func(b *Bundle) { b.Cond = NewRagged(append([][]float64{{-1}}, splitRagged(b.Cond)[1:]...)) }, []string{"cond_lp_offsets.npy (sequence 0)", "T_s"}},
		{"all cond NaN", func(b *Bundle) {
			for i := b.Cond.Offsets[3]; i < b.Cond.Offsets[4]; i++ {
				b.Cond.Values[i] = math.NaN()
			}
		}, []string{"cond_token_logprobs.npy (sequence 3)", "no scored token"}},
		{"labels length", func(b *Bundle) { b.Labels = b.Labels[:3] }, []string{"labels.npy", "N = 7"}},
		{"token id beyond table", func(b *Bundle) { b.Tokens.Values[5] = 99 }, []string{"token_ids.npy[5]", "freq_counts"}},
		{"flat without offsets", func(b *Bundle) { b.Neighbors.Offsets = nil }, []string{"neighbor_offsets.npy", "missing"}},
		{"negative zlib", func(b *Bundle) { b.ZlibLen[2] = 0 }, []string{"zlib_len.npy[2]"}},
		{"ref", func(b *Bundle) { b.Refs[0].LogProbs.Values[1] = 2 }, []string{"ref/small/token_logprobs.npy[1]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := synthBundle(7, 2)
			if err := b.Validate(); err != nil {
				t.Fatal(err)
			}
			c.mutate(b)
			err := b.Validate()
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a *FormatError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func splitRagged(r Ragged[float64]) [][]float64 {
	var out [][]float64
	for s := range len(r.Offsets) - 1 {
		out = append(out, r.Seq(s))
	}
	return out
}
