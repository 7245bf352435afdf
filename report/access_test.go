package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAccessSection gives the fake audit's attacks two levels of access (lira not run at label) and
// checks the grid, summary.json's access fields, the section, the plot and that a saved input keeps them.
func TestAccessSection(t *testing.T) {
	in := fakeInput(7, 400, fakeNone)
	base := in.Attacks
	in.Attacks = nil
	for _, lv := range []string{"logits", "label"} {
		for _, a := range base {
			if lv == "label" && a.Name != "loss" {
				continue
			}
			a.Name += " @ " + lv
			a.Access = lv
			in.Attacks = append(in.Attacks, a)
		}
	}
	dir := t.TempDir()
	s, err := Build(context.Background(), in, dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	names, levels, cell := accessGrid(s)
	if len(levels) != 2 || len(names) != len(base) || names[0] != base[0].Name {
		t.Fatalf("grid: attacks %v, levels %v", names, levels)
	}
	for i := range names {
		if cell[i][0] < 0 || (cell[i][1] >= 0) != (names[i] == "loss") {
			t.Errorf("attack %s: cells %v", names[i], cell[i])
		}
	}
	for _, a := range s.Attacks {
		if !strings.HasSuffix(a.Name, " @ "+a.Access) {
			t.Errorf("summary attack %q has access %q", a.Name, a.Access)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<section id="access">`, "Levels of model access", `<th class="num">label</th>`, `id="fig-access"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "plots", "access.svg")); err != nil {
		t.Error(err)
	}
	rdir := t.TempDir()
	if err := WriteInput(rdir, in); err != nil {
		t.Fatal(err)
	}
	back, err := ReadInput(rdir)
	if err != nil {
		t.Fatal(err)
	}
	for k := range in.Attacks {
		if back.Attacks[k].Access != in.Attacks[k].Access {
			t.Errorf("attack %d: saved access %q, read %q", k, in.Attacks[k].Access, back.Attacks[k].Access)
		}
	}
	// Without levels, no section.
	page2 := string(buildFiles(t, fakeInput(7, 400, fakeNone), testOptions)[HTMLFile])
	if strings.Contains(page2, `<section id="access">`) {
		t.Error("a report without access levels has the access section")
	}
}
