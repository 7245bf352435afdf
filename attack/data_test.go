package attack

import (
	"math"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/signal"
)

// TestValidatePositions: a bad value is named by its (record, model[, query or class]) position.
func TestValidatePositions(t *testing.T) {
	base := func() *Data {
		d := &Data{N: 3, M: 2, Q: 2, Kind: signal.Loss, Signals: make([]float64, 12), Members: make([]bool, 6),
			Z: 2, Population: make([]float64, 8), C: 3, Probs: make([]float64, 18)}
		for i := range d.Probs {
			d.Probs[i] = 1.0 / 3
		}
		return d
	}
	for _, tc := range []struct {
		name string
		edit func(d *Data)
		want string
	}{
		{"signal", func(d *Data) { d.Signals[(1*2+1)*2+0] = math.NaN() }, "signals: record 1, model 1, query 0 is NaN"},
		{"population", func(d *Data) { d.Population[(1*2+0)*2+1] = -2 }, "population signals: record 1, model 0, query 1 is -2, but a loss is never negative"},
		{"probability", func(d *Data) { d.Probs[(2*2+0)*3+2] = 1.5 }, "probabilities: record 2, model 0, class 2 is 1.5"},
		{"one query", func(d *Data) {
			d.Q, d.Signals, d.Population = 1, make([]float64, 6), make([]float64, 4)
			d.Signals[5] = math.Inf(-1)
		},
			"signals: record 2, model 1 is -Inf"},
	} {
		d := base()
		tc.edit(d)
		if err := d.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := base().Validate(); err != nil {
		t.Errorf("valid data: %v", err)
	}
}
