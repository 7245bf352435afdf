package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pmeter/pmeter/npy"
)

// source gives access to a bundle's arrays by name ("signals", "keep", …), whatever their container.
// Shapes come from the .npy headers (and the .npz members' headers), so that they can be compared
// before any data are read; a CSV file has no header and is read whole when its shape is first asked.
type source struct {
	npz      *npy.NPZ               // the archive of a .npz bundle
	path     string                 // the bundle's path
	files    map[string]string      // name → file name (directory) or member name (.npz)
	paths    map[string]string      // name → path to read (directory)
	headers  map[string]*npy.Header // headers read so far, or every member's header of a .npz
	arrays   map[string]*npy.Array  // CSV arrays read so far
	manifest Manifest
}

// open indexes the directory or .npz archive at path. Close it when done.
func open(path string) (*source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	src := &source{path: path, files: map[string]string{}, paths: map[string]string{}, headers: map[string]*npy.Header{}, arrays: map[string]*npy.Array{}}
	if !st.IsDir() {
		if !strings.EqualFold(filepath.Ext(path), ".npz") {
			return nil, fmt.Errorf("not a bundle: want a directory of .npy/.csv files or a .npz archive")
		}
		z, err := npy.OpenNPZ(path)
		if err != nil {
			return nil, unwrapPath(err, path) // Load names the bundle
		}
		src.npz = z
		for _, name := range z.Names() {
			src.files[name] = name + ".npy"
			src.headers[name] = z.Header(name)
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

// Close releases the archive of a .npz bundle.
func (s *source) Close() error {
	if s.npz != nil {
		return s.npz.Close()
	}
	return nil
}

func (s *source) has(name string) bool {
	_, ok := s.files[name]
	return ok
}

func (s *source) isCSV(name string) bool {
	return strings.EqualFold(filepath.Ext(s.files[name]), ".csv")
}

// shape returns the shape of the array called name, from its header (a CSV file is read whole), or
// nil when the bundle has none.
func (s *source) shape(name string) ([]int, error) {
	if !s.has(name) {
		return nil, nil
	}
	if s.isCSV(name) {
		a, err := s.csv(name)
		if err != nil {
			return nil, err
		}
		return a.Shape, nil
	}
	if h, ok := s.headers[name]; ok {
		return h.Shape, nil
	}
	h, err := npy.ReadFileHeader(s.paths[name])
	if err != nil {
		return nil, s.fileError(name, err)
	}
	s.headers[name] = h
	return h.Shape, nil
}

// csv reads (once) the CSV file of the array called name.
func (s *source) csv(name string) (*npy.Array, error) {
	if a, ok := s.arrays[name]; ok {
		return a, nil
	}
	a, err := readCSV(s.paths[name])
	if err != nil {
		return nil, s.fileError(name, err)
	}
	s.arrays[name] = a
	return a, nil
}

// get reads the array called name, whose shape has been checked, in its stored kind, into buffers of
// exactly its size. It returns nil when the bundle has none.
func (s *source) get(name string) (*npy.Array, string, error) { return s.read(name, npy.ReadOptions{}) }

// getFloat64 is get for arrays wanted as float64: the elements are converted as they are read.
func (s *source) getFloat64(name string) (*npy.Array, string, error) {
	return s.read(name, npy.ReadOptions{Float64: true})
}

// read reads the array called name with options (a CSV array, float64 already, only takes Axes, and
// that by a copy).
func (s *source) read(name string, opt npy.ReadOptions) (*npy.Array, string, error) {
	file, ok := s.files[name]
	if !ok {
		return nil, "", nil
	}
	if s.isCSV(name) {
		a, err := s.csv(name)
		if err != nil || opt.Axes == nil {
			return a, file, err
		}
		return transpose2(a), file, nil
	}
	shape, err := s.shape(name)
	if err != nil {
		return nil, file, err
	}
	var a *npy.Array
	if s.npz != nil {
		a, err = s.npz.ReadWith(name, opt)
	} else {
		a, err = npy.ReadFileWith(s.paths[name], opt)
	}
	if err != nil {
		return nil, file, s.fileError(name, err)
	}
	want := shape
	if opt.Axes != nil {
		want = make([]int, len(shape))
		for i, ax := range opt.Axes {
			want[i] = shape[ax]
		}
	}
	if !slices.Equal(a.Shape, want) {
		return nil, file, fmt.Errorf("%s: read an array of shape %s, but its header said %s when the bundle was opened; was it changed meanwhile?", file, npy.ShapeString(a.Shape), npy.ShapeString(shape))
	}
	return a, file, nil
}

// transpose2 returns the transpose of a 2-D float64 array (a CSV file's).
func transpose2(a *npy.Array) *npy.Array {
	r, c := a.Shape[0], a.Shape[1]
	out := make([]float64, r*c)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = a.F64[i*c+j]
		}
	}
	return npy.NewFloat64(out, c, r)
}

// fileError names the file of the array called name in err, instead of the full path or the archive's
// member that package npy names.
func (s *source) fileError(name string, err error) error {
	if s.npz != nil {
		// "archive: member name.npy: …" becomes "name.npy: …"; Load names the bundle.
		msg := strings.TrimPrefix(err.Error(), s.path+": member ")
		return fmt.Errorf("%s", msg)
	}
	return fmt.Errorf("%s: %w", s.files[name], unwrapPath(err, s.paths[name]))
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

// want describes an expected file for messages, listing what the bundle does hold.
func (s *source) want(name, shape string) string {
	w := name + ".npy"
	if s.npz == nil {
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

// unwrapPath strips a leading "path: " that package npy adds.
func unwrapPath(err error, path string) error {
	if msg := err.Error(); strings.HasPrefix(msg, path+": ") {
		return fmt.Errorf("%s", strings.TrimPrefix(msg, path+": "))
	}
	return err
}

// Files returns the paths of the files that make up the bundle at path: the .npz archive itself, or
// the .npy and .csv files of the directory and its bundle.json. Commands use it to keep their outputs
// off a bundle's files.
func Files(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".npy" || ext == ".csv" || e.Name() == ManifestFile) {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	return files, nil
}
