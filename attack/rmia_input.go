package attack

import (
	"errors"
	"fmt"

	"github.com/pmeter/pmeter/signal"
)

// checkRMIAData validates the input common to RMIA and TuneOfflineA: the shapes of what RMIA reads (the
// values are checked as the rows are read, see probRow), the target and the signal kind.
func checkRMIAData(d *Data, target int) error {
	if d == nil {
		return errors.New("rmia: no data")
	}
	switch {
	case d.N <= 0 || d.M <= 0 || d.Q <= 0:
		return fmt.Errorf("rmia: signals have shape %d records × %d models × %d queries; every dimension must be positive", d.N, d.M, d.Q)
	case len(d.Signals) != d.N*d.M*d.Q:
		return fmt.Errorf("rmia: signals: %d values, want %d (%d records × %d models × %d queries)", len(d.Signals), d.N*d.M*d.Q, d.N, d.M, d.Q)
	case len(d.Members) != d.N*d.M:
		return fmt.Errorf("rmia: memberships: %d values, want %d (%d records × %d models)", len(d.Members), d.N*d.M, d.N, d.M)
	case d.Z <= 0:
		return errors.New("rmia: no population records; RMIA compares every record with records that no model trained on")
	case len(d.Population) != d.Z*d.M*d.Q:
		return fmt.Errorf("rmia: population signals: %d values, want %d (%d records × %d models × %d queries)", len(d.Population), d.Z*d.M*d.Q, d.Z, d.M, d.Q)
	case target < 0 || target >= d.M:
		return fmt.Errorf("rmia: target model %d does not exist (there are %d models, 0 to %d)", target, d.M, d.M-1)
	case !signal.Convertible(d.Kind, signal.ProbTrue):
		return fmt.Errorf("rmia: signals of kind %q cannot be turned into p(true label), which RMIA needs", d.Kind)
	}
	return nil
}

// probRow checks the values of one row (the M signals of record or population record i of all; name says
// which array) as Data.Validate does and returns them as p(true label), converted into conv when the kind
// is not ProbTrue.
func probRow(conv []float64, kind signal.Kind, name string, all []float64, i, m int) ([]float64, error) {
	row := all[i*m : (i+1)*m]
	if kind == signal.ProbTrue {
		// The fast path of checkValues: NaN, ±Inf and values outside [0, 1] all fail.
		for _, v := range row {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("rmia: %w", checkValues(name, all, kind, m))
			}
		}
		return row, nil
	}
	if err := checkValues(name, row, kind, m); err != nil {
		// Report the first bad value of the whole array, with its record index.
		return nil, fmt.Errorf("rmia: %w", checkValues(name, all, kind, m))
	}
	copy(conv, row)
	if err := signal.Convert(conv, kind, signal.ProbTrue); err != nil {
		return nil, fmt.Errorf("rmia: %s of record %d: %w", name, i, err)
	}
	return conv, nil
}

// query returns a copy of d with the signals of query q alone.
func (d *Data) query(q int) *Data {
	r := *d
	r.Q = 1
	pick := func(v []float64, rows int) []float64 {
		out := make([]float64, rows*d.M)
		for k := range out {
			out[k] = v[k*d.Q+q]
		}
		return out
	}
	r.Signals = pick(d.Signals, d.N)
	if d.Population != nil {
		r.Population = pick(d.Population, d.Z)
	}
	return &r
}
