package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pmeter/pmeter/npy"
)

// harnessFlags are the flags that the statistical harnesses, 'pmeter validate' and 'pmeter dp
// soundness', share: the significance of their tests, the number of workers and the JSON output.
type harnessFlags struct {
	alpha   float64
	workers int
	json    string
	force   bool
}

// newHarnessFlags defines --alpha (default 0.05), --workers, --json and --force on fs.
func newHarnessFlags(fs *flag.FlagSet) *harnessFlags {
	h := &harnessFlags{}
	fs.Float64Var(&h.alpha, "alpha", 0.05, "")
	fs.IntVar(&h.workers, "workers", 0, "")
	fs.StringVar(&h.json, "json", "", "")
	fs.BoolVar(&h.force, "force", false, "")
	return h
}

// check reports a bad --alpha or --workers as a usage error, and refuses to overwrite an existing
// --json file without --force (before the harness runs for hours).
func (h *harnessFlags) check() error {
	switch {
	case !(h.alpha > 0 && h.alpha < 1):
		return usagef("--alpha %v: want a value in (0, 1)", h.alpha)
	case h.workers < 0:
		return usagef("--workers %d: want 0 (one per core) or more", h.workers)
	}
	if h.json != "" && !h.force {
		if _, err := os.Stat(h.json); err == nil {
			return fmt.Errorf("%s exists; use --force to overwrite it", h.json)
		}
	}
	return nil
}

// writeJSON writes v, indented, to the --json file (atomically) and says so on stdout; without --json
// it does nothing.
func (h *harnessFlags) writeJSON(v any, stdout io.Writer) error {
	if h.json == "" {
		return nil
	}
	if err := npy.WriteAtomic(h.json, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", h.json)
	return nil
}

// finish ends a harness run: it writes rep to the --json file, prints the elapsed time, and returns the
// failed cells, one per line, as an error.
func (h *harnessFlags) finish(rep any, failed []string, elapsed time.Duration, stdout io.Writer) error {
	if err := h.writeJSON(rep, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "elapsed %s\n", elapsed.Round(time.Second))
	if len(failed) > 0 {
		return fmt.Errorf("%d cells fail:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return nil
}

// harnessSides parses --harness: which of the null and leak harnesses to run.
func harnessSides(name string) (null, leak bool, err error) {
	switch name {
	case "null":
		return true, false, nil
	case "leak":
		return false, true, nil
	case "all":
		return true, true, nil
	}
	return false, false, usagef("--harness %q: want null, leak or all", name)
}

// flagMode is one mode of a command whose flags depend on the mode ('pmeter validate --users', 'pmeter
// validate --usage --llm', ...): the flags that select it and the flags it takes besides. A flag given
// to a mode that does not take it is refused rather than ignored.
type flagMode struct {
	name      string   // the mode, as refusals name it: "--users" (of pmeter validate)
	selectors []string // the flags that select the mode ("users")
	flags     []string // the flags the mode takes besides
	// switches are the boolean flags that select the command's modes, this one's and the others'. A
	// switch given false (--usage=false) selects no mode: it means what leaving it out means, so every
	// mode takes it.
	switches []string
}

// check returns the flags set on fs's command line, refusing, as a usage error that names the flag, the
// mode and the mode's flags, the first that the mode m does not take.
func (m flagMode) check(fs *flag.FlagSet) (set map[string]bool, err error) {
	set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if slices.Contains(m.switches, f.Name) && f.Value.String() == "false" {
			return
		}
		if err == nil && !slices.Contains(m.selectors, f.Name) && !slices.Contains(m.flags, f.Name) {
			err = usagef("--%s does not apply to %s, whose flags are --%s", f.Name, m.name, strings.Join(m.flags, ", --"))
		}
	})
	return set, err
}
