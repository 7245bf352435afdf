package llm

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadJSONL checks that no input makes the reader or, on what it accepts, any attack panic: a bundle
// that passes validation must be safe for every attack it has inputs for.
func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(`{"token_logprobs":[-1,-2],"label":true,"token_ids":[1,2,3],"token_logprobs_bos":[-1,-1,-1],"mu":[-1,-1],"sigma2":[1,0]}
{"token_logprobs":[-0.5],"label":false,"token_ids":[2,2],"token_logprobs_bos":[-1,-2],"mu":[-1],"sigma2":[0.5]}`))
	f.Add([]byte(`{"meta":{"format":"mia-llm-logprobs/1","recall":{"prefix_len":3,"max_length":2}},"freq_counts":[1,2,3]}
{"token_logprobs":[-1],"cond_token_logprobs":[null,-2],"neighbor_losses":[1,2],"zlib_len":5,"text":"ab","ref_token_logprobs":[-1]}
{"token_logprobs":[-1,-3],"cond_token_logprobs":[-1,null,-2],"neighbor_losses":[3],"zlib_len":9,"text":"abc","ref_token_logprobs":[-2,-1]}`))
	f.Add([]byte(`{"token_logprobs":[-1,-2],"label":true,"population":false,"shadows":{"a":{"token_logprobs":[-1,-1],"member":true},"b":{"token_logprobs":[-2,-1],"member":false}}}
{"token_logprobs":[-3],"label":false,"population":false,"shadows":{"a":{"token_logprobs":[-2],"member":false},"b":{"token_logprobs":[-0.5],"member":true}}}
{"token_logprobs":[-2],"label":false,"population":true,"shadows":{"a":{"token_logprobs":[-2],"member":false},"b":{"token_logprobs":[-1.5],"member":false}}}`))
	f.Add([]byte(`{"token_logprobs":[]}`))
	f.Add([]byte(`{"token_logprobs":[-1],"ref_token_logprobs":{"a":[-1],"b":[-2]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "b.jsonl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := ReadJSONL(p)
		if err != nil {
			return
		}
		for _, compat := range []Compat{Default, Mimir} {
			params := DefaultParams()
			params.Compat = compat
			for _, name := range Available(b) {
				Score(b, name, params)
			}
		}
		if b.Labels != nil {
			Blind(t.Context(), b, EvalOptions{})
		}
	})
}
