package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/metric"
)

// crossPython is the interpreter of the cross-check scripts: Debian's, with NumPy.
const crossPython = "/usr/bin/python3"

// TestSlicesTFPrivacy compares pmeter's slice metrics (runSlices) with TF Privacy's slicing semantics
// as scripts/slices-crosscheck/tfp_slices.py implements them from TF Privacy's description: slices by
// custom group values, a slice for each value present among both members and non-members, each slice's
// AUC over its own members and non-members. On 600 records with two categorical columns (one value
// held by members only), every TF Privacy slice is a pmeter slice with the same members, non-members
// and AUC (to 1e-12), and the one pmeter slice TF Privacy drops has no non-member and no statistics.
// Without python3 or NumPy it skips, and fails under CI=true.
func TestSlicesTFPrivacy(t *testing.T) {
	if out, err := exec.Command(crossPython, "-c", "import numpy").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("the slices cross-check needs %s with NumPy (Debian: apt-get install python3-numpy): %v %s", crossPython, err, strings.TrimSpace(string(out)))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	const n = 600
	r := rand.New(rand.NewPCG(17, 1))
	sexes, races := []string{"F", "M"}, []string{"A", "B", "C", "D"}
	names := []string{"sex=F", "sex=M", "race=A", "race=B", "race=C", "race=D", "age"}
	pool := &dataset.Dataset{X: make([]float32, n*len(names)), Y: make([]int, n), Shape: []int{len(names)}, Classes: 2, FeatureNames: names}
	res := &Result{Members: [][]bool{make([]bool, n)}, Attacks: []AttackResult{{Label: "loss", Scores: [][]float64{make([]float64, n)}}}}
	p := &Plan{Audit: seq(n)}
	var csvText strings.Builder
	csvText.WriteString("score,member,sex,race\n")
	for i := 0; i < n; i++ {
		sex, race := r.IntN(2), r.IntN(3)
		if i%40 == 0 {
			race = 3 // race D: 15 records, all members
		}
		member := race == 3 || r.IntN(2) == 0
		x := pool.X[i*len(names):]
		x[sex], x[2+race], x[6] = 1, 1, float32(r.NormFloat64())
		s := r.NormFloat64()
		if member {
			s += 0.3 + 0.4*float64(sex) // the M slice leaks more
		}
		s = math.Round(s*8) / 8 // ties, which both sides must count alike
		res.Members[0][i], res.Attacks[0].Scores[0][i] = member, s
		fmt.Fprintf(&csvText, "%v,%d,%s,%s\n", s, map[bool]int{false: 0, true: 1}[member], sexes[sex], races[race])
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.csv"), filepath.Join(dir, "out.json")
	if err := os.WriteFile(in, []byte(csvText.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(crossPython, filepath.Join("..", "scripts", "slices-crosscheck", "tfp_slices.py"), in, out).CombinedOutput(); err != nil {
		t.Fatalf("tfp_slices.py: %v\n%s", err, b)
	}
	var tfp map[string]struct {
		AUC float64
		M   int `json:"members"`
		NM  int `json:"non_members"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tfp); err != nil {
		t.Fatal(err)
	}
	c := &Config{}
	c.Data.Dataset = "csv"
	c.Audit.Slices, c.Audit.SliceMinSize = []string{"sex", "race"}, 5
	slices, err := runSlices(context.Background(), c, &Data{Pool: pool}, p, res)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := metric.Evaluate(res.Attacks[0].Scores[0], res.Members[0])
	if err != nil || math.Abs(whole.AUC-tfp["entire dataset"].AUC) > 1e-12 {
		t.Errorf("entire data set: AUC %v, TF Privacy %v (%v)", whole.AUC, tfp["entire dataset"].AUC, err)
	}
	matched := 1
	for _, s := range slices {
		key := s.Column + " = " + s.Value
		want, ok := tfp[key]
		if !ok {
			if s.Members > 0 && s.NonMembers > 0 || s.AUC != nil {
				t.Errorf("%s: pmeter's slice (%d members, %d non-members, AUC %v) is not one of TF Privacy's", key, s.Members, s.NonMembers, s.AUC)
			}
			continue
		}
		matched++
		if s.Members != want.M || s.NonMembers != want.NM || s.AUC == nil || math.Abs(*s.AUC.Value-want.AUC) > 1e-12 {
			t.Errorf("%s: pmeter %d members, %d non-members, AUC %v; TF Privacy %d, %d, %v", key, s.Members, s.NonMembers, s.AUC, want.M, want.NM, want.AUC)
		}
	}
	if matched != len(tfp) || len(tfp) != 1+2+3 {
		t.Errorf("%d of TF Privacy's %d slices matched, want the entire data set, 2 sexes and 3 races", matched, len(tfp))
	}
}
