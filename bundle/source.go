package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pmeter/pmeter/npy"
)

// source gives access to a bundle's arrays by name ("signals", "keep", …), whatever their container.
type source struct {
	npz      bool
	files    map[string]string     // name → file name (directory) or member name (.npz)
	paths    map[string]string     // name → path to read (directory)
	arrays   map[string]*npy.Array // arrays read so far, or every member of a .npz
	manifest Manifest
}

// open indexes the directory or .npz archive at path.
func open(path string) (*source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	src := &source{files: map[string]string{}, paths: map[string]string{}, arrays: map[string]*npy.Array{}}
	if !st.IsDir() {
		if !strings.EqualFold(filepath.Ext(path), ".npz") {
			return nil, fmt.Errorf("not a bundle: want a directory of .npy/.csv files or a .npz archive")
		}
		arrs, err := npy.ReadNPZ(path)
		if err != nil {
			return nil, err
		}
		src.npz = true
		for name, a := range arrs {
			src.files[name] = name + ".npy"
			src.arrays[name] = a
		}
		return src, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".npy" && ext != ".csv") {
			continue
		}
		name := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		if prev, ok := src.files[name]; ok {
			return nil, fmt.Errorf("both %s and %s are present; keep one", prev, e.Name())
		}
		src.files[name] = e.Name()
		src.paths[name] = filepath.Join(path, e.Name())
	}
	if src.manifest, err = readManifest(filepath.Join(path, ManifestFile)); err != nil {
		return nil, err
	}
	return src, nil
}

func (s *source) has(name string) bool {
	_, ok := s.files[name]
	return ok
}

// get returns the array called name and its file name, or nil when the bundle has none.
func (s *source) get(name string) (*npy.Array, string, error) {
	file, ok := s.files[name]
	if !ok {
		return nil, "", nil
	}
	if a, ok := s.arrays[name]; ok {
		return a, file, nil
	}
	var a *npy.Array
	var err error
	if strings.EqualFold(filepath.Ext(file), ".csv") {
		a, err = readCSV(s.paths[name])
	} else {
		a, err = npy.ReadFile(s.paths[name])
	}
	if err != nil {
		// npy.ReadFile names the full path; name the file alone, as every other message does.
		return nil, file, fmt.Errorf("%s: %w", file, unwrapPath(err, s.paths[name]))
	}
	s.arrays[name] = a
	return a, file, nil
}

// name returns the file name of the array called name, or its .npy name when absent.
func (s *source) name(name string) string {
	if f, ok := s.files[name]; ok {
		return f
	}
	return name + ".npy"
}

// predName returns the file holding prefix+probs or prefix+logits.
func (s *source) predName(prefix string) string {
	if s.has(prefix + "logits") {
		return s.name(prefix + "logits")
	}
	return s.name(prefix + "probs")
}

// predShape returns the shape of prefix+probs or prefix+logits, which have been read.
func (s *source) predShape(prefix string) []int {
	name := prefix + "probs"
	if s.has(prefix + "logits") {
		name = prefix + "logits"
	}
	return s.arrays[name].Shape
}

// want describes an expected file for messages, listing what the bundle does hold.
func (s *source) want(name, shape string) string {
	w := name + ".npy"
	if !s.npz {
		w += " or " + name + ".csv"
	}
	if shape != "" {
		w += " (" + shape + ")"
	}
	have := make([]string, 0, len(s.files))
	for _, f := range s.files {
		have = append(have, f)
	}
	sort.Strings(have)
	if len(have) == 0 {
		return w + "; the bundle holds no arrays"
	}
	return w + "; the bundle holds " + strings.Join(have, ", ")
}

// unwrapPath strips a leading "path: " that npy.ReadFile adds.
func unwrapPath(err error, path string) error {
	if msg := err.Error(); strings.HasPrefix(msg, path+": ") {
		return fmt.Errorf("%s", strings.TrimPrefix(msg, path+": "))
	}
	return err
}
