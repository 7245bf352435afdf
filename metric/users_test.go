package metric

import (
	"math"
	"testing"
)

func TestAggregateUsers(t *testing.T) {
	scores := []float64{1, 3, 2, 0.5, math.Log(2)}
	members := []bool{true, true, false, false, true}
	users := []int{0, 0, 1, 1, 2}
	for _, tc := range []struct {
		how  UserAggregate
		want []float64
	}{
		{UserMax, []float64{3, 2, math.Log(2)}},
		{UserMean, []float64{2, 1.25, math.Log(2)}},
		{UserLogSumExp, []float64{math.Log(math.E + math.Exp(3)), math.Log(math.Exp(2) + math.Exp(0.5)), math.Log(2)}},
	} {
		got, mem, err := AggregateUsers(scores, members, users, tc.how)
		if err != nil {
			t.Fatal(err)
		}
		for k := range tc.want {
			if math.Abs(got[k]-tc.want[k]) > 1e-12 {
				t.Errorf("%s: %v, want %v", tc.how, got, tc.want)
				break
			}
		}
		if !mem[0] || mem[1] || !mem[2] {
			t.Errorf("%s: memberships %v", tc.how, mem)
		}
	}
	if _, _, err := AggregateUsers(scores, []bool{true, false, false, false, true}, users, UserMax); err == nil {
		t.Error("a user with members and non-members accepted")
	}
	if _, _, err := AggregateUsers(scores, members, []int{0, 0, 2, 2, 2}, UserMax); err == nil {
		t.Error("a user without records accepted")
	}
}
