package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/report"
)

// TestRunUsers audits an MLP on the user example's records (synthetic users of 1 to 8 Adult records):
// every model trains on whole users, the user-level results are the record scores aggregated per user,
// and summary.json and the report carry them.
func TestRunUsers(t *testing.T) {
	c, err := ParseConfig([]byte(`
run: {random_seed: 2}
audit:
  num_ref_models: 1
  attacks: [{name: lira}, {name: loss}]
train: {model_name: mlp, optimizer: Adam, learning_rate: 0.005, epochs: 6, batch_size: 64, schedule: constant}
data: {dataset: csv, file: ../examples/users/adult-users.csv.gz, label_column: income, user_column: user, train_size: 600}
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = t.TempDir()
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(d.Pool.FeatureNames, "user") {
		t.Fatal("the user column is a feature")
	}
	for _, u := range d.Population.Groups {
		if slices.Contains(d.Pool.Groups, u) {
			t.Fatalf("user %s has records in the pool and in the population", u)
		}
	}
	p, err := MakePlan(c, d)
	if err != nil {
		t.Fatal(err)
	}
	first := map[int]int{} // user → its first record
	for r, u := range p.Users {
		if d.Pool.Groups[r] != p.UserNames[u] {
			t.Fatalf("record %d: user %d is %q, the file says %q", r, u, p.UserNames[u], d.Pool.Groups[r])
		}
		f, ok := first[u]
		if !ok {
			first[u] = r
			continue
		}
		for m := 0; m < p.Models; m++ {
			if p.Memberships.In(r, m) != p.Memberships.In(f, m) {
				t.Fatalf("user %s: records %d and %d differ in model %d", p.UserNames[u], f, r, m)
			}
		}
	}
	if len(first) < 100 {
		t.Fatalf("%d users in 600 records", len(first))
	}
	if len(res.Users) != 2*3 {
		t.Fatalf("%d user-level results, want 6 (2 attacks × 3 aggregates)", len(res.Users))
	}
	for k, u := range res.Users {
		a := res.Attacks[k/3]
		us, um, err := metric.AggregateUsers(a.Scores[0], res.Members[0], p.Users, metric.UserAggregate(u.Aggregate))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := metric.Evaluate(us, um)
		if u.Attack != a.Label || r.AUC != u.Result.AUC || u.Result.Members+u.Result.NonMembers != len(first) {
			t.Errorf("%s (%s): AUC %v over %d users, the aggregated scores give %v over %d", u.Attack, u.Aggregate,
				u.Result.AUC, u.Result.Members+u.Result.NonMembers, r.AUC, len(us))
		}
		// The top users are ranked by their p-value against the non-member users of their size, and
		// carry their raw aggregate beside it.
		counts := make([]int, len(us))
		for _, x := range p.Users {
			counts[x]++
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "users|%d|%s|%s", c.Run.RandomSeed, u.Attack, u.Aggregate)
		ps, err := metric.UserPValues(us, um, counts, metric.MinUserReference, h.Sum64())
		if err != nil {
			t.Fatal(err)
		}
		exposed, null := 0, userAlpha*float64(len(us))
		for _, q := range ps {
			if q.P <= userAlpha {
				exposed++
			}
		}
		if u.Exposed != exposed || math.Abs(u.ExposedNull-null) > 1e-9 || u.TargetUsers != len(us) {
			t.Errorf("%s (%s): %d of %d users exposed, %.2f expected; want %d, %.2f (≤ α·U)", u.Attack, u.Aggregate, u.Exposed, u.TargetUsers, u.ExposedNull, exposed, null)
		}
		byName := map[string]int{}
		for x, name := range p.UserNames {
			byName[name] = x
		}
		if len(u.Top) != userTop {
			t.Errorf("%s (%s): %d top users", u.Attack, u.Aggregate, len(u.Top))
		}
		for k, top := range u.Top {
			x := byName[top.User]
			if top.PValue != ps[x].P || top.PValueMax != ps[x].Hi || top.Score != us[x] || top.Records != counts[x] || top.Reference != ps[x].Reference {
				t.Errorf("%s (%s): top user %+v, want p %v, score %v, %d records", u.Attack, u.Aggregate, top, ps[x].P, us[x], counts[x])
			}
			if k > 0 && top.PValue < u.Top[k-1].PValue {
				t.Errorf("%s (%s): top users not in p-value order: %+v", u.Attack, u.Aggregate, u.Top)
			}
		}
		for x := range ps {
			if ps[x].P < u.Top[len(u.Top)-1].PValue && !slices.ContainsFunc(u.Top, func(s report.UserScore) bool { return s.User == p.UserNames[x] }) {
				t.Errorf("%s (%s): user %s (p %v) is left out of the top users", u.Attack, u.Aggregate, p.UserNames[x], ps[x].P)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(c.Run.LogDir, "report", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Users []struct {
			Aggregate string            `json:"aggregate"`
			Top       []json.RawMessage `json:"top_users"`
		} `json:"users"`
	}
	if err := json.Unmarshal(b, &sum); err != nil || len(sum.Users) != 6 || sum.Users[2].Aggregate != "logsumexp" || len(sum.Users[0].Top) != userTop {
		t.Errorf("summary.json: users %+v, %v", sum.Users, err)
	} else if !strings.Contains(string(sum.Users[0].Top[0]), `"p_value":`) || !strings.Contains(string(sum.Users[0].Top[0]), `"reference_sizes":`) {
		t.Errorf("summary.json: top user %s has no p_value or reference_sizes", sum.Users[0].Top[0])
	}
	page, _ := os.ReadFile(filepath.Join(c.Run.LogDir, "report", "index.html"))
	if !strings.Contains(string(page), "Which users are exposed") {
		t.Error("the report has no user section")
	}
	// The listed users are those of the attack that ranks the records, under the first aggregate, in
	// summary.json, run.json and the printed summary alike.
	s, err := report.ReadSummary(filepath.Join(c.Run.LogDir, "report", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := report.UsersListed{Attack: s.Settings.RankedBy, Aggregate: string(c.userAggregates()[0])}
	if l := s.Settings.UsersListed; l == nil || *l != want || res.UsersListed == nil || *res.UsersListed != want {
		t.Errorf("users listed: summary %+v, run %+v; want %+v", l, res.UsersListed, want)
	}
	var out strings.Builder
	res.WriteSummary(&out)
	if !strings.Contains(out.String(), fmt.Sprintf("most exposed users (%s, %s, target 0", want.Attack, want.Aggregate)) {
		t.Errorf("the summary does not name the exposed users of %+v:\n%s", want, out.String())
	}
}

// TestUserConfigErrors: data.user_column and audit.user_aggregates are checked where the config is
// parsed, and the errors name the field.
func TestUserConfigErrors(t *testing.T) {
	const table = "data: {dataset: csv, file: x.csv, label_column: y, user_column: u"
	for _, tc := range []struct{ yaml, want string }{
		{"data: {dataset: adult, user_column: u}\n", "data.user_column: applies to dataset csv or parquet only"},
		{"data: {dataset: adult}\naudit: {user_aggregates: [max]}\n", "audit.user_aggregates: needs data.user_column"},
		{table + "}\naudit: {user_aggregates: [median]}\n", `audit.user_aggregates: entry 1 is "median"`},
		{table + "}\naudit: {user_aggregates: [max, max]}\n", `audit.user_aggregates: lists "max" twice`},
		{table + "}\naudit: {data_size: 100}\n", "audit.data_size: must be left out with data.user_column"},
		{"data: {dataset: csv, file: x.csv, label_column: y, user_column: y}\n", `data.user_column: is the label column "y"`},
		{table + ", drop_columns: [u]}\n", "data.user_column: column \"u\" is also listed in data.drop_columns"},
		{table + "}\naudit: {privacy_game: privacy_loss_sample}\n", "data.user_column: applies to privacy_game privacy_loss_model"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
	c, err := ParseConfig([]byte("run: {random_seed: 1}\ndata: {dataset: csv, file: ../examples/users/adult-users.csv.gz, label_column: income, user_column: nobody}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadData(c); err == nil || !strings.Contains(err.Error(), `no group column "nobody", which data.user_column names`) {
		t.Errorf("unknown user column: %v", err)
	}
}
