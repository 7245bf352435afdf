package metric

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestBootstrapDeterministic(t *testing.T) {
	scores, members := benchData(3000)
	opt := BootstrapOptions{Resamples: 200, Seed: 42}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	one, err := Bootstrap(context.Background(), scores, members, opt)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(4)
	four, err := Bootstrap(context.Background(), scores, members, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, four) {
		t.Errorf("GOMAXPROCS 1 gives %+v, 4 gives %+v", one, four)
	}
	opt.Seed++
	other, err := Bootstrap(context.Background(), scores, members, opt)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(one, other) {
		t.Error("another seed gives the same intervals")
	}
}

// TestBootstrapNaive recomputes the intervals by resampling the records themselves (the same draws: member
// ranks, then non-member ranks, from PCG(seed, b)) and calling Evaluate on each resample.
func TestBootstrapNaive(t *testing.T) {
	scores, members := benchData(500)
	for i := range scores {
		scores[i] = float64(int(scores[i]*8)) / 8 // ties
	}
	opt := BootstrapOptions{Resamples: 101, Level: 0.9, Seed: 7}
	got, err := Bootstrap(context.Background(), scores, members, opt)
	if err != nil {
		t.Fatal(err)
	}

	var pos, neg []float64
	for i, s := range scores {
		if members[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	slices.Sort(pos)
	slices.Sort(neg)
	var auc, ba []float64
	tprs := make([][]float64, len(StandardFPRs()))
	for b := range opt.Resamples {
		r := rand.New(rand.NewPCG(opt.Seed, uint64(b)))
		var s []float64
		var m []bool
		for range pos {
			s, m = append(s, pos[r.IntN(len(pos))]), append(m, true)
		}
		for range neg {
			s, m = append(s, neg[r.IntN(len(neg))]), append(m, false)
		}
		res, err := Evaluate(s, m)
		if err != nil {
			t.Fatal(err)
		}
		auc, ba = append(auc, res.AUC), append(ba, res.BalancedAccuracy)
		for i, x := range res.TPRAtFPR {
			tprs[i] = append(tprs[i], x.TPR)
		}
	}
	// 101 resamples at level 0.9: the 5% and 95% quantiles are the order statistics 5 and 95.
	check := func(name string, v []float64, iv Interval) {
		slices.Sort(v)
		if iv.Lo != v[5] || iv.Hi != v[95] {
			t.Errorf("%s interval %+v, naive [%v, %v]", name, iv, v[5], v[95])
		}
	}
	check("AUC", auc, got.AUC)
	check("balanced accuracy", ba, got.BalancedAccuracy)
	for i, x := range got.TPRAtFPR {
		check("TPR", tprs[i], x.Interval)
	}
}

func TestBootstrapCoverage(t *testing.T) {
	scores, members := benchData(2000)
	point, err := Evaluate(scores, members)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := Bootstrap(context.Background(), scores, members, BootstrapOptions{Resamples: 300, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ci.Resamples != 300 || ci.Level != 0.95 {
		t.Errorf("options %d, %v", ci.Resamples, ci.Level)
	}
	in := func(name string, x float64, iv Interval) {
		if !(iv.Lo <= x && x <= iv.Hi && iv.Lo < iv.Hi) {
			t.Errorf("%s: point estimate %v outside %+v", name, x, iv)
		}
	}
	in("AUC", point.AUC, ci.AUC)
	in("balanced accuracy", point.BalancedAccuracy, ci.BalancedAccuracy)
	in("TPR at 10% FPR", point.TPRAtFPR[0].TPR, ci.TPRAtFPR[0].Interval)
	for i, x := range ci.TPRAtFPR {
		if x.FPR != StandardFPRs()[i] || x.Lo > x.Hi {
			t.Errorf("TPR interval %d: %+v", i, x)
		}
	}
}

func TestBootstrapErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	scores, members := benchData(100)
	if _, err := Bootstrap(ctx, scores, members, BootstrapOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
	for _, tt := range []struct {
		opt  BootstrapOptions
		want string
	}{
		{BootstrapOptions{Resamples: -1}, "negative"},
		{BootstrapOptions{Level: 1}, "level"},
	} {
		if _, err := Bootstrap(context.Background(), scores, members, tt.opt); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v", tt.opt, err)
		}
	}
	if _, err := Bootstrap(context.Background(), scores, members[:5], BootstrapOptions{}); err == nil {
		t.Error("length mismatch accepted")
	}
}

// TestPercentile compares with numpy 1.24 np.quantile([1, 2, 4, 8], q), whose lerp rounds 0.9 to
// 6.800000000000001.
func TestPercentile(t *testing.T) {
	v := []float64{1, 2, 4, 8}
	for _, tt := range []struct{ q, want float64 }{{0, 1}, {1, 8}, {0.5, 3}, {0.25, 1.75}, {0.9, 6.800000000000001}} {
		if got := percentile(v, tt.q); got != tt.want {
			t.Errorf("percentile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}
