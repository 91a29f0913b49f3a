// Command fdplot turns bench/small-data.sh's scores.tsv into the README's
// plot (an SVG of FD against steps, one panel per data set, one line per
// run; the EMA generator solid, the raw one dashed) and a Markdown table.
//
//	go run ./bench/fdplot -scores DIR/scores.tsv -svg docs/small-data.svg > table.md
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// point is one score: a run's generator at a step.
type point struct {
	set, variant, weights string // "fashion", "augment", "ema"
	step                  int
	fd                    float64
}

func main() {
	scores := flag.String("scores", "", "bench/small-data.sh's scores.tsv")
	svg := flag.String("svg", "", "where to write the plot")
	flag.Parse()
	if err := run(*scores, *svg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fdplot:", err)
		os.Exit(1)
	}
}

func run(scores, svg string, out io.Writer) error {
	pts, err := read(scores)
	if err != nil {
		return err
	}
	table(pts, out)
	if svg == "" {
		return nil
	}
	f, err := os.Create(svg)
	if err != nil {
		return err
	}
	plot(pts, f)
	return f.Close()
}

func read(path string) ([]point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pts []point
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		c := strings.Split(sc.Text(), "\t")
		if line == 0 {
			continue // the header
		}
		if len(c) < 4 {
			return nil, fmt.Errorf("%s:%d: %d columns, want run, step, weights, fd, …", path, line+1, len(c))
		}
		set, variant, ok := strings.Cut(c[0], "-")
		step, err1 := strconv.Atoi(c[1])
		fd, err2 := strconv.ParseFloat(c[3], 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: cannot read %q", path, line+1, sc.Text())
		}
		pts = append(pts, point{set, variant, c[2], step, fd})
	}
	return pts, sc.Err()
}

var variants = []string{"plain", "augment", "auto"}

var variantNames = map[string]string{"plain": "no augmentation", "augment": "--augment color,translation,cutout",
	"auto": "--augment-p auto"}

// table prints, per data set and generator, FD by step for each run.
func table(pts []point, out io.Writer) {
	for _, set := range sets(pts) {
		for _, w := range []string{"ema", "raw"} {
			steps := map[int]bool{}
			fd := map[string]map[int]float64{}
			for _, p := range pts {
				if p.set == set && p.weights == w {
					steps[p.step] = true
					if fd[p.variant] == nil {
						fd[p.variant] = map[int]float64{}
					}
					fd[p.variant][p.step] = p.fd
				}
			}
			ss := keys(steps)
			if len(ss) == 0 {
				continue
			}
			fmt.Fprintf(out, "\n%s, %s generator: FD by step\n\n| run |", set, w)
			for _, s := range ss {
				fmt.Fprintf(out, " %d |", s)
			}
			fmt.Fprintf(out, "\n|---|%s\n", strings.Repeat("---:|", len(ss)))
			for _, v := range variants {
				if fd[v] == nil {
					continue
				}
				fmt.Fprintf(out, "| %s |", variantNames[v])
				for _, s := range ss {
					fmt.Fprintf(out, " %.2f |", fd[v][s])
				}
				fmt.Fprintln(out)
			}
		}
	}
}

func sets(pts []point) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range pts {
		if !seen[p.set] {
			seen[p.set] = true
			out = append(out, p.set)
		}
	}
	return out
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

var colours = map[string]string{"plain": "#d62728", "augment": "#1f77b4", "auto": "#2ca02c"}

// plot writes the panels side by side.
func plot(pts []point, w io.Writer) {
	const pw, ph, left, top, bottom, right = 420, 300, 60, 40, 50, 20
	ss := sets(pts)
	width := len(ss) * (pw + left + right)
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, ph+top+bottom+40)
	fmt.Fprintf(w, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, ph+top+bottom+40)
	for i, set := range ss {
		x0 := float64(i*(pw+left+right) + left)
		var maxStep int
		maxFD := 0.0
		for _, p := range pts {
			if p.set == set {
				maxStep = max(maxStep, p.step)
				maxFD = math.Max(maxFD, p.fd)
			}
		}
		maxFD = niceCeil(maxFD)
		sx := func(s int) float64 { return x0 + float64(s)/float64(maxStep)*pw }
		sy := func(fd float64) float64 { return top + ph - fd/maxFD*ph }
		fmt.Fprintf(w, `<text x="%.0f" y="%d" text-anchor="middle" font-size="14">%s</text>`+"\n", x0+pw/2, top-15, set)
		fmt.Fprintf(w, `<rect x="%.0f" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", x0, top, pw, ph)
		for k := 0; k <= 4; k++ {
			fd := maxFD * float64(k) / 4
			fmt.Fprintf(w, `<text x="%.0f" y="%.0f" text-anchor="end">%g</text>`+"\n", x0-5, sy(fd)+4, fd)
			s := maxStep * k / 4
			fmt.Fprintf(w, `<text x="%.0f" y="%d" text-anchor="middle">%d</text>`+"\n", sx(s), top+ph+16, s)
		}
		fmt.Fprintf(w, `<text x="%.0f" y="%d" text-anchor="middle">step</text>`+"\n", x0+pw/2, top+ph+34)
		fmt.Fprintf(w, `<text x="%.0f" y="%.0f" text-anchor="middle" transform="rotate(-90 %.0f %.0f)">FD</text>`+"\n",
			x0-42, top+ph/2.0, x0-42, top+ph/2.0)
		for _, v := range variants {
			for _, wt := range []string{"ema", "raw"} {
				var line []point
				for _, p := range pts {
					if p.set == set && p.variant == v && p.weights == wt {
						line = append(line, p)
					}
				}
				if len(line) == 0 {
					continue
				}
				sort.Slice(line, func(a, b int) bool { return line[a].step < line[b].step })
				var d []string
				for _, p := range line {
					d = append(d, fmt.Sprintf("%.1f,%.1f", sx(p.step), sy(p.fd)))
				}
				dash := ""
				if wt == "raw" {
					dash = ` stroke-dasharray="5,4"`
				}
				fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(d, " "), colours[v], dash)
			}
		}
	}
	y := ph + top + bottom + 20
	x := left
	for _, v := range variants {
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s</text>`+"\n",
			x, y-4, x+24, y-4, colours[v], x+30, y, variantNames[v])
		x += 60 + 7*len(variantNames[v])
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#555">solid: EMA generator; dashed: raw</text>`+"\n", x, y)
	fmt.Fprintln(w, "</svg>")
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
