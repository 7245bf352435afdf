package report

import (
	"context"
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
