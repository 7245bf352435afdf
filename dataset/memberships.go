package dataset

import (
	"errors"
	"fmt"

	"github.com/pmeter/pmeter/npy"
)

// Memberships records which records each model trained on: N records × M models, row-major, so
// Members[i*M+m] is true when record i is in model m's training set (the layout of attack.Data's
// Members). Privacy Meter's memberships.npy and LiRA's keep.npy store the transpose (models × records);
// see FromModelMajor.
type Memberships struct {
	N, M    int
	Members []bool
}

// NewMemberships returns an all-OUT matrix of n records × m models.
func NewMemberships(n, m int) *Memberships {
	return &Memberships{N: n, M: m, Members: make([]bool, n*m)}
}

// FromModelMajor builds a records × models matrix from a models × records one (keep[m*n+i] is true
// when record i is in model m's training set), the layout of Privacy Meter's memberships.npy and
// LiRA's keep.npy.
func FromModelMajor(keep []bool, models, records int) (*Memberships, error) {
	if models < 0 || records < 0 || len(keep) != models*records {
		return nil, fmt.Errorf("memberships: %d values for %d models × %d records", len(keep), models, records)
	}
	ms := NewMemberships(records, models)
	for m := range models {
		for i := range records {
			ms.Members[i*models+m] = keep[m*records+i]
		}
	}
	return ms, nil
}

// In reports whether record i is in model m's training set.
func (ms *Memberships) In(i, m int) bool { return ms.Members[i*ms.M+m] }

// Train returns the records in model m's training set, in increasing order.
func (ms *Memberships) Train(m int) []int { return ms.column(m, true) }

// Out returns the records outside model m's training set, in increasing order.
func (ms *Memberships) Out(m int) []int { return ms.column(m, false) }

func (ms *Memberships) column(m int, in bool) []int {
	var idx []int
	for i := range ms.N {
		if ms.Members[i*ms.M+m] == in {
			idx = append(idx, i)
		}
	}
	return idx
}

// Model returns model m's column: the membership of every record (a new slice of length N).
func (ms *Memberships) Model(m int) []bool {
	col := make([]bool, ms.N)
	for i := range col {
		col[i] = ms.Members[i*ms.M+m]
	}
	return col
}

// CountIn returns the number of models record i is IN for.
func (ms *Memberships) CountIn(i int) int {
	c := 0
	for _, b := range ms.Members[i*ms.M : (i+1)*ms.M] {
		if b {
			c++
		}
	}
	return c
}

// Rows returns the memberships of the given records, in the given order (e.g. an auditing subset).
func (ms *Memberships) Rows(records []int) (*Memberships, error) {
	out := NewMemberships(len(records), ms.M)
	for k, i := range records {
		if i < 0 || i >= ms.N {
			return nil, fmt.Errorf("memberships: record %d (position %d) outside [0, %d)", i, k, ms.N)
		}
		copy(out.Members[k*ms.M:(k+1)*ms.M], ms.Members[i*ms.M:(i+1)*ms.M])
	}
	return out, nil
}

// Validate checks that the shape is non-negative and matches the data.
func (ms *Memberships) Validate() error {
	if ms.N < 0 || ms.M < 0 || len(ms.Members) != ms.N*ms.M {
		return fmt.Errorf("memberships: %d values for %d records × %d models", len(ms.Members), ms.N, ms.M)
	}
	return nil
}

// WriteMemberships writes ms to path as a 2-D bool .npy array of shape (records, models), atomically.
func WriteMemberships(path string, ms *Memberships) error {
	if err := ms.Validate(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return npy.WriteFile(path, npy.NewBool(ms.Members, ms.N, ms.M))
}

// ReadMemberships reads a (records, models) membership matrix written by WriteMemberships. Integer or
// float arrays holding only 0 and 1 are accepted as well as bool.
func ReadMemberships(path string) (*Memberships, error) {
	a, n, m, err := read2D(path)
	if err != nil {
		return nil, err
	}
	b, err := memberBools(path, a, "record", "model")
	if err != nil {
		return nil, err
	}
	return &Memberships{N: n, M: m, Members: b}, nil
}

// ReadModelMajorMemberships reads a (models, records) membership matrix, the layout of Privacy Meter
// v2's memberships.npy and LiRA's keep.npy, and returns it as records × models.
func ReadModelMajorMemberships(path string) (*Memberships, error) {
	a, m, n, err := read2D(path)
	if err != nil {
		return nil, err
	}
	b, err := memberBools(path, a, "model", "record")
	if err != nil {
		return nil, err
	}
	return FromModelMajor(b, m, n)
}

// memberBools converts the 2-D membership array a of the file path to bool, naming a value other than
// 0 and 1 by its position in the file (rowName r, colName c) rather than by its flat index.
func memberBools(path string, a *npy.Array, rowName, colName string) ([]bool, error) {
	b, err := a.Bools()
	if ee := (*npy.ElementError)(nil); errors.As(err, &ee) {
		cols := a.Shape[1]
		return nil, fmt.Errorf("%s: %s %d, %s %d is %s; %s", path, rowName, ee.Index/cols, colName, ee.Index%cols, ee.Value, ee.Want)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

func read2D(path string) (*npy.Array, int, int, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(a.Shape) != 2 {
		return nil, 0, 0, fmt.Errorf("%s: membership array has shape %s, want 2 dimensions", path, npy.ShapeString(a.Shape))
	}
	return a, a.Shape[0], a.Shape[1], nil
}
