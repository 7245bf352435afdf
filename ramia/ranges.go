package ramia

import (
	"errors"
	"fmt"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/signal"
)

// Ranges holds the signals of N ranges of Size sampled points each, as attack data whose records are the
// points: record r·Size + s is sample s of range r (range-major, the layout Privacy Meter's
// get_model_signals gives a RangeDataset), with one query. A point's membership in a model is its
// range's: a range is a member of a model when it contains at least one of the model's training records
// (the samplers' Check verifies that the ranges of non-members contain none). The population records
// are not range-expanded: RMIA compares every point with them as they are.
type Ranges struct {
	Size    int
	Samples *attack.Data
}

// NewRanges checks that d holds ranges of size points each (one query per point, the memberships of the
// points of a range equal) and returns them.
func NewRanges(d *attack.Data, size int) (*Ranges, error) {
	if d == nil {
		return nil, errors.New("ranges: no data")
	}
	if size < 1 {
		return nil, fmt.Errorf("ranges: %d samples per range; want at least 1", size)
	}
	if d.N < 1 || d.N%size != 0 {
		return nil, fmt.Errorf("ranges: %d sampled points do not form ranges of %d samples", d.N, size)
	}
	if d.Q != 1 {
		return nil, fmt.Errorf("ranges: %d queries per point; a range's samples are its queries, so each point has one", d.Q)
	}
	if len(d.Members) != d.N*d.M {
		return nil, fmt.Errorf("ranges: %d memberships, want %d (%d points × %d models)", len(d.Members), d.N*d.M, d.N, d.M)
	}
	m := d.M
	for i := range d.N {
		first := (i - i%size) * m
		for k := range m {
			if d.Members[i*m+k] != d.Members[first+k] {
				return nil, fmt.Errorf("ranges: sample %d of range %d is %s model %d but sample 0 is not; every point of a range has the range's membership",
					i%size, i/size, inOut(d.Members[i*m+k]), k)
			}
		}
	}
	return &Ranges{Size: size, Samples: d}, nil
}

func inOut(in bool) string {
	if in {
		return "IN"
	}
	return "OUT"
}

// FromSignals builds ranges from a points × models signal matrix of kind k (row r·size + s is sample s of
// range r), a population × models matrix and the range memberships, ranges × models (all row-major). It
// is the entry for signals computed elsewhere: the neighbours of the word-replacement range (see
// TextRanges) or Privacy Meter's signal files. design is the memberships' design (attack.DesignAuto
// infers it).
func FromSignals(signals, population []float64, members []bool, size, models int, k signal.Kind, design attack.Design) (*Ranges, error) {
	if size < 1 || models < 1 {
		return nil, fmt.Errorf("ranges: %d samples per range and %d models; want at least 1 of each", size, models)
	}
	if len(members)%models != 0 || len(members) == 0 {
		return nil, fmt.Errorf("ranges: %d range memberships do not form rows of %d models", len(members), models)
	}
	n := len(members) / models
	if len(signals) != n*size*models {
		return nil, fmt.Errorf("ranges: %d signals, want %d (%d ranges × %d samples × %d models)", len(signals), n*size*models, n, size, models)
	}
	if len(population)%models != 0 {
		return nil, fmt.Errorf("ranges: %d population signals do not form rows of %d models", len(population), models)
	}
	d := &attack.Data{N: n * size, M: models, Q: 1, Kind: k, Signals: signals, Members: repeatRows(members, models, size),
		Design: design, Z: len(population) / models, Population: population}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("ranges: %w", err)
	}
	return &Ranges{Size: size, Samples: d}, nil
}

// FromQueries returns ranges whose samples are the queries of d's records: record i with Q queries is
// range i of Q points. The population keeps its first query. (The validity harness models a range as a
// record whose sampled points are its queries.)
func FromQueries(d *attack.Data) (*Ranges, error) {
	if d == nil || d.N < 1 || d.M < 1 || d.Q < 1 {
		return nil, errors.New("ranges from queries: no records")
	}
	n, m, q := d.N, d.M, d.Q
	if len(d.Signals) != n*m*q || len(d.Members) != n*m || len(d.Population) != d.Z*m*q {
		return nil, fmt.Errorf("ranges from queries: signals, memberships or population do not have the shape %d records × %d models × %d queries", n, m, q)
	}
	s := &attack.Data{N: n * q, M: m, Q: 1, Kind: d.Kind, Design: d.Design, Members: repeatRows(d.Members, m, q),
		Signals: make([]float64, n*q*m), Z: d.Z, Population: make([]float64, d.Z*m)}
	for i := range n {
		for k := range m {
			for j := range q {
				s.Signals[(i*q+j)*m+k] = d.Signals[(i*m+k)*q+j]
			}
		}
	}
	for z := range d.Z {
		for k := range m {
			s.Population[z*m+k] = d.Population[(z*m+k)*q]
		}
	}
	return &Ranges{Size: q, Samples: s}, nil
}

// repeatRows repeats every row of v (rows of width w) times times.
func repeatRows(v []bool, w, times int) []bool {
	out := make([]bool, 0, len(v)*times)
	for r := 0; r < len(v)/w; r++ {
		for range times {
			out = append(out, v[r*w:(r+1)*w]...)
		}
	}
	return out
}

// N returns the number of ranges.
func (r *Ranges) N() int { return r.Samples.N / r.Size }

// Members returns the range memberships of model t: one per range.
func (r *Ranges) Members(t int) []bool {
	d := r.Samples
	out := make([]bool, r.N())
	for i := range out {
		out[i] = d.Members[i*r.Size*d.M+t]
	}
	return out
}
