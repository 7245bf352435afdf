package bundle

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/npy"
)

// readCSV reads a comma-separated 2-D array of numbers (rows × columns) as float64. Booleans may be
// written true/false (any case) and read as 1/0. A first row that does not parse as numbers is taken as a
// header and skipped. Every row must have the same number of fields.
func readCSV(path string) (*npy.Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	var data []float64
	rows, cols := 0, 0
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		vals, err := parseRow(rec)
		if err != nil {
			if line == 1 {
				continue // header
			}
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if rows == 0 {
			cols = len(vals)
		}
		data = append(data, vals...)
		rows++
	}
	if rows == 0 {
		return nil, errors.New("no rows of numbers")
	}
	return npy.NewFloat64(data, rows, cols), nil
}

func parseRow(rec []string) ([]float64, error) {
	out := make([]float64, len(rec))
	for j, s := range rec {
		s = strings.TrimSpace(s)
		switch strings.ToLower(s) {
		case "true":
			out[j] = 1
			continue
		case "false":
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("field %d: %q is not a number", j+1, s)
		}
		out[j] = v
	}
	return out, nil
}
