package attack

import (
	"strings"
	"testing"
)

func TestNotDPReason(t *testing.T) {
	for _, tc := range []struct {
		design Design
		want   string // "" = a DP bound is allowed
	}{
		{DesignBernoulli, ""},
		{DesignLiRA, ""},
		{DesignPairs, "in the pairs design every model trains on exactly half of the records"},
		{DesignOther, "not declared as drawn independently per record"},
	} {
		gen := tc.design
		if gen == DesignOther {
			gen = DesignBernoulli
		}
		d := designData(t, gen, 100, 8, 1)
		d.Design = tc.design
		got := NotDPReason(d, 0)
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s: reason %q, want none", tc.design, got)
		case tc.want != "" && (!strings.Contains(got, tc.want) || strings.HasPrefix(got, ErrNotDPDesign.Error())):
			t.Errorf("%s: reason %q, want one containing %q without the %q prefix", tc.design, got, tc.want, ErrNotDPDesign)
		}
	}
}
