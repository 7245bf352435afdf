package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

// TestUsersSection: the page's user section lists the most exposed users with their raw score, their
// size-calibrated p and whom it compares them with, and the count of exposed users beside its null
// expectation.
func TestUsersSection(t *testing.T) {
	in := fakeInput(5, 200, fakeNone)
	in.Users = []UserLevel{{
		Attack: "loss", Aggregate: "mean",
		Result: metric.Result{AUC: 0.7, Members: 40, NonMembers: 60},
		Top: []UserScore{
			{User: "u7", Records: 1, Score: -0.25, Member: true, PValue: 0.0123, PValueMax: 1.0 / 31, Reference: 30, ReferenceSizes: [2]int{1, 1}},
			{User: "u3", Records: 9, Score: -0.5, Member: false, PValue: 0.04, PValueMax: 1.0 / 21, Reference: 20, ReferenceSizes: [2]int{8, 12}},
		},
		TargetUsers: 100, Exposed: 12, ExposedNull: 5, ExposedAlpha: 0.05,
	}}
	dir := t.TempDir()
	if _, err := Build(context.Background(), in, dir, testOptions); err != nil {
		t.Fatal(err)
	}
	_, c := checkPage(t, dir)
	text := c.text.String()
	for _, want := range []string{"Which users are exposed", "0.0123", "0.0323", "30 users of 1 record", "20 users of 8–12 records", "-0.25",
		"12 of the 100 users have p ≤ 0.05", "would give 5.0 on average", "1 of the 2 are members"} {
		if !strings.Contains(text, want) {
			t.Errorf("the user section lacks %q", want)
		}
	}
}

// fakeUsers returns a user-level entry per attack and aggregate, with AUCs that make (loss, mean) the
// highest.
func fakeUsers(attacks ...string) []UserLevel {
	var out []UserLevel
	for k, a := range attacks {
		for j, how := range []string{"max", "mean", "logsumexp"} {
			auc := 0.55 + 0.01*float64(k+j)
			if a == "loss" && how == "mean" {
				auc = 0.9
			}
			out = append(out, UserLevel{Attack: a, Aggregate: how, Result: metric.Result{AUC: auc, Members: 40, NonMembers: 60},
				Top:         []UserScore{{User: a + "-" + how, Records: 2, Score: 1, PValue: 0.01, PValueMax: 0.02, Reference: 30, ReferenceSizes: [2]int{2, 2}}},
				TargetUsers: 100, Exposed: 5 + j, ExposedNull: 5, ExposedAlpha: 0.05})
		}
	}
	return out
}

// TestListedUsers: the users listed are the ranking attack's, under the aggregate asked for or the first
// one, never the entry of highest AUC; an attack without user-level results falls back on the first
// that has them; an aggregate the attack lacks is an error.
func TestListedUsers(t *testing.T) {
	users := fakeUsers("lira", "loss")
	for _, c := range []struct {
		name               string
		users              []UserLevel
		rankedBy, agg      string
		wantAttack, wantAg string
		wantErr            string
	}{
		{name: "ranking attack, first aggregate", users: users, rankedBy: "lira", wantAttack: "lira", wantAg: "max"},
		{name: "not the highest AUC", users: users, rankedBy: "loss", wantAttack: "loss", wantAg: "max"},
		{name: "aggregate asked for", users: users, rankedBy: "lira", agg: "logsumexp", wantAttack: "lira", wantAg: "logsumexp"},
		{name: "ranking attack without users", users: users, rankedBy: "entropy", wantAttack: "lira", wantAg: "max"},
		{name: "first aggregate in input order", users: users[4:], rankedBy: "loss", wantAttack: "loss", wantAg: "mean"},
		{name: "unknown aggregate", users: users, rankedBy: "loss", agg: "median", wantErr: `users aggregate "median": attack loss has the user aggregates max, mean, logsumexp`},
		{name: "no users", rankedBy: "loss"},
		{name: "no users, an aggregate asked for", rankedBy: "loss", agg: "max", wantErr: "no user-level attacks"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := listedUsers(c.users, c.rankedBy, c.agg)
			switch {
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("error %v, want one with %q", err, c.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case c.wantAttack == "":
				if k != -1 {
					t.Errorf("got entry %d of no users, want -1", k)
				}
			case c.users[k].Attack != c.wantAttack || c.users[k].Aggregate != c.wantAg:
				t.Errorf("listed %s (%s), want %s (%s)", c.users[k].Attack, c.users[k].Aggregate, c.wantAttack, c.wantAg)
			}
		})
	}
}

// TestUsersListedSummary: summary.json names the listed entry (settings.users_listed), the page lists
// its users and says why, and a rebuild with OptionsOf keeps an aggregate asked for; summary.json is
// schema version 3, and version 2 is still read back.
func TestUsersListedSummary(t *testing.T) {
	in := fakeInput(5, 200, fakeNone)
	in.Users = fakeUsers("loss", "lira", "rmia", "entropy")
	for _, c := range []struct {
		opts               Options
		wantAttack, wantAg string
		wantWhy            string
	}{
		{Options{RankBy: "lira"}, "lira", "max", "the attack that ranks the most vulnerable records, under the run's first aggregate"},
		{Options{RankBy: "rmia", UsersAggregate: "mean"}, "rmia", "mean", "under the aggregate asked for"},
	} {
		opts := testOptions
		opts.RankBy, opts.UsersAggregate = c.opts.RankBy, c.opts.UsersAggregate
		dir := t.TempDir()
		s, err := Build(context.Background(), in, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if l := s.Settings.UsersListed; l == nil || l.Attack != c.wantAttack || l.Aggregate != c.wantAg {
			t.Errorf("%+v: users_listed %+v, want %s (%s)", c.opts, l, c.wantAttack, c.wantAg)
		}
		_, page := checkPage(t, dir)
		if text := page.text.String(); !strings.Contains(text, "most exposed to "+c.wantAttack+" ("+c.wantAg+") against target 0 (") || !strings.Contains(text, c.wantWhy) {
			t.Errorf("%+v: the page does not list %s (%s) users with the reason %q", c.opts, c.wantAttack, c.wantAg, c.wantWhy)
		}
		prev, err := ReadSummary(filepath.Join(dir, SummaryFile))
		if err != nil {
			t.Fatal(err)
		}
		if got := OptionsOf(prev); got.UsersAggregate != c.opts.UsersAggregate {
			t.Errorf("%+v: OptionsOf gives users aggregate %q", c.opts, got.UsersAggregate)
		}
		if prev.SchemaVersion != 3 {
			t.Errorf("schema_version %d, want 3", prev.SchemaVersion)
		}
	}
	for _, c := range []struct {
		version int
		ok      bool
	}{{1, false}, {2, true}, {3, true}, {4, false}} {
		path := filepath.Join(t.TempDir(), SummaryFile)
		os.WriteFile(path, fmt.Appendf(nil, `{"schema": %q, "schema_version": %d}`, SchemaName, c.version), 0o644)
		if _, err := ReadSummary(path); (err == nil) != c.ok {
			t.Errorf("ReadSummary of version %d: error %v", c.version, err)
		}
	}
}
