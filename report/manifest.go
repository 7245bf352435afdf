package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/pmeter/pmeter/npy"
)

// Manifests of the files that Build and WriteInput write into their directories. A later build or
// save overwrites and removes only files listed there, never a file that someone else put in the
// directory.
const (
	reportManifest = ".pmeter-report-manifest.json"
	inputManifest  = ".pmeter-results-manifest.json"
)

// ManifestFile is the file where Build lists the files it wrote into a report's directory.
const ManifestFile = reportManifest

const manifestFormat = "pmeter.manifest"

// manifest is the content of a manifest file: the files written, as slash-separated paths relative to
// the directory.
type manifest struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Files   []string `json:"files"`
}

// claim prepares writing files (slash-separated paths relative to dir) into dir, recorded in the
// manifest called name. It refuses, naming the file, when one of them exists but was not written by an
// earlier build: that is, it is listed neither in the manifest nor, for a directory written before
// manifests existed (legacy reports true), in legacyFiles. It then records the files about to be
// written, together with those of the earlier build, so that an interrupted build leaves none unlisted.
//
// Once every file is written, call the returned commit: it removes the files of the earlier build that
// this one did not write, and records exactly this build's files.
func claim(dir, name string, files []string, legacy func() bool, legacyFiles []string) (commit func() error, err error) {
	mpath := filepath.Join(dir, name)
	prev, err := readManifest(mpath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if legacy() {
			prev = legacyFiles
		}
	case err != nil:
		return nil, err
	}
	for _, f := range files {
		if slices.Contains(prev, f) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(f))); err == nil {
			return nil, fmt.Errorf("%s exists and was not written by pmeter (it is not listed in %s); choose another directory, or move the file away",
				filepath.Join(dir, filepath.FromSlash(f)), mpath)
		}
	}
	all := slices.Clone(prev)
	for _, f := range files {
		if !slices.Contains(all, f) {
			all = append(all, f)
		}
	}
	if err := writeManifest(mpath, all); err != nil {
		return nil, err
	}
	return func() error {
		for _, f := range prev {
			if slices.Contains(files, f) || !filepath.IsLocal(filepath.FromSlash(f)) || f == name {
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(f))
			if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
				continue // gone already, or not a file this build could have written
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove stale %s: %w", p, err)
			}
		}
		return writeManifest(mpath, files)
	}, nil
}

func readManifest(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m manifest
	if err := dec.Decode(&m); err != nil || m.Format != manifestFormat || m.Version != 1 {
		if err == nil {
			err = fmt.Errorf("format %q version %d, want %q version 1", m.Format, m.Version, manifestFormat)
		}
		return nil, fmt.Errorf("%s, the list of files pmeter wrote there, is unreadable (%v); remove it and the files it listed to rebuild", path, err)
	}
	return m.Files, nil
}

func writeManifest(path string, files []string) error {
	b, err := json.MarshalIndent(manifest{Format: manifestFormat, Version: 1, Files: files}, "", "  ")
	if err != nil {
		return err
	}
	return npy.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}
