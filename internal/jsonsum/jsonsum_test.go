package jsonsum

import (
	"encoding/json"
	"testing"
)

// TestSHA256 pins the checksum of a value (sha256sum of its compact JSON) and checks that it does not
// depend on how the file was indented, only on the value.
func TestSHA256(t *testing.T) {
	type file struct {
		Name   string  `json:"name"`
		Loss   float64 `json:"loss"`
		SHA256 string  `json:"sha256,omitempty"`
	}
	v := file{Name: "m", Loss: 0.25}
	got, err := SHA256(v)
	if err != nil {
		t.Fatal(err)
	}
	// printf '{"name":"m","loss":0.25}' | sha256sum
	const want = "862d3176398c7d0b3f142c2495c2c4d85d3157b33ff736b56057268e9d18170b"
	if got != want {
		t.Errorf("SHA256 %s, want %s", got, want)
	}
	var back file
	if err := json.Unmarshal([]byte("{\n  \"name\": \"m\",\n  \"loss\": 0.250\n}\n"), &back); err != nil {
		t.Fatal(err)
	}
	if again, _ := SHA256(back); again != got {
		t.Errorf("an indented copy hashes to %s, want %s", again, got)
	}
	if _, err := SHA256(func() {}); err == nil {
		t.Error("a value JSON cannot encode gave no error")
	}
}
