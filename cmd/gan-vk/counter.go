package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// counter shows the progress of a long job of many like pieces (frames,
// iterations): redrawn in place on a terminal, a line every 10 s
// otherwise, and always the last.
type counter struct {
	w     io.Writer
	what  string
	total int
	tty   bool
	start time.Time
	last  time.Time
}

func newCounter(w io.Writer, what string, total int) *counter {
	c := &counter{w: w, what: what, total: total, start: time.Now(), last: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			c.tty = true
		}
	}
	return c
}

// done reports that i of the pieces are done, with an optional note.
func (c *counter) done(i int, note string) {
	now := time.Now()
	if i < c.total && !c.tty && now.Sub(c.last) < 10*time.Second {
		return
	}
	c.last = now
	line := fmt.Sprintf("%s %d/%d%s  %s", c.what, i, c.total, note, now.Sub(c.start).Round(100*time.Millisecond))
	switch {
	case c.tty && i < c.total:
		fmt.Fprintf(c.w, "\r\033[K%s", line)
	case c.tty:
		fmt.Fprintf(c.w, "\r\033[K%s\n", line)
	default:
		fmt.Fprintln(c.w, line)
	}
}
