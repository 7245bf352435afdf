// Package progress reports the progress of long work: a redrawn bar on a terminal, and plain log lines
// (at most one every few seconds, plus the end) when the output is not a terminal, so CI logs stay
// readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar tracks one stage of work of a known size. It is safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	label    string
	total    int
	done     int
	start    time.Time
	last     time.Time
	interval time.Duration
	finished bool
}

// New starts a bar for total units of work labelled label, drawn on w. It draws a bar when w is a
// terminal and writes plain lines otherwise.
func New(w io.Writer, label string, total int) *Bar {
	b := &Bar{w: w, label: label, total: total, start: time.Now(), interval: 5 * time.Second}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.tty = true
		b.interval = 100 * time.Millisecond
	}
	if !b.tty {
		fmt.Fprintf(w, "%s: started (%d)\n", label, total)
	}
	b.draw(true)
	return b
}

// Add records n more units done.
func (b *Bar) Add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.draw(false)
}

// Set records that done units are finished in total.
func (b *Bar) Set(done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	b.draw(false)
}

// Finish ends the bar with a final line that states the elapsed time.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	el := time.Since(b.start).Round(time.Millisecond)
	if b.tty {
		b.render()
		fmt.Fprintf(b.w, " %s\n", el)
		return
	}
	fmt.Fprintf(b.w, "%s: done %d/%d in %s\n", b.label, b.done, b.total, el)
}

func (b *Bar) draw(force bool) {
	if b.finished {
		return
	}
	now := time.Now()
	if !force && now.Sub(b.last) < b.interval && b.done < b.total {
		return
	}
	b.last = now
	if b.tty {
		b.render()
		return
	}
	if !force {
		fmt.Fprintf(b.w, "%s: %d/%d (%s)\n", b.label, b.done, b.total, now.Sub(b.start).Round(time.Second))
	}
}

func (b *Bar) render() {
	const width = 30
	frac := 1.0
	if b.total > 0 {
		frac = float64(b.done) / float64(b.total)
	}
	frac = min(max(frac, 0), 1)
	fill := int(frac * width)
	fmt.Fprintf(b.w, "\r%-24s [%s%s] %3.0f%% %d/%d", b.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), 100*frac, b.done, b.total)
}
