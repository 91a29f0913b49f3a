// Package latent is arithmetic on a generator's z, on the host: walks
// between latent points (spherical or linear) and the DCGAN paper's
// vector arithmetic on seeds (a-b+c, or on the mean z of several seeds).
package latent

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Slerp interpolates each row of dim floats of a and b along the great
// circle between them (Shoemake), which keeps a Gaussian z's norm where a
// straight line would shrink it halfway. t 0 and 1 give a and b exactly.
func Slerp(a, b []float32, t float64, dim int) []float32 {
	if t == 0 || t == 1 {
		return endpoint(a, b, t)
	}
	out := make([]float32, len(a))
	for r := 0; r+dim <= len(a); r += dim {
		var ab, aa, bb float64
		for i := r; i < r+dim; i++ {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		cos := ab / math.Sqrt(aa*bb)
		omega := math.Acos(max(-1, min(1, cos)))
		wa, wb := 1-t, t
		if s := math.Sin(omega); s > 1e-6 {
			wa, wb = math.Sin((1-t)*omega)/s, math.Sin(t*omega)/s
		}
		for i := r; i < r+dim; i++ {
			out[i] = float32(wa*float64(a[i]) + wb*float64(b[i]))
		}
	}
	return out
}

// Lerp interpolates a and b along the straight line between them.
func Lerp(a, b []float32, t float64) []float32 {
	if t == 0 || t == 1 {
		return endpoint(a, b, t)
	}
	out := make([]float32, len(a))
	for i := range a {
		out[i] = float32((1-t)*float64(a[i]) + t*float64(b[i]))
	}
	return out
}

func endpoint(a, b []float32, t float64) []float32 {
	if t == 0 {
		return append([]float32(nil), a...)
	}
	return append([]float32(nil), b...)
}

// Walk is the loop through points in order and back to the first: frames
// z's per leg, the first of each leg its point itself. Each point is rows
// of dim floats; slerp picks Slerp over Lerp.
func Walk(points [][]float32, frames, dim int, slerp bool) [][]float32 {
	var out [][]float32
	for i, a := range points {
		b := points[(i+1)%len(points)]
		for k := 0; k < frames; k++ {
			t := float64(k) / float64(frames)
			if slerp {
				out = append(out, Slerp(a, b, t, dim))
			} else {
				out = append(out, Lerp(a, b, t))
			}
		}
	}
	return out
}

// Term is one term of an arithmetic expression: the mean z of its seeds,
// added or subtracted.
type Term struct {
	Sign  float64 // +1 or -1
	Seeds []uint64
}

// Expr is a sum of terms, as ParseExpr reads "a-b+c" or "(1,2,3)-(4,5,6)+(7,8,9)".
type Expr []Term

// ParseExpr reads an arithmetic expression on seeds: terms joined by + and
// -, each a seed or a parenthesised, comma-separated list of seeds whose
// z's are averaged. The first term may carry a sign.
func ParseExpr(s string) (Expr, error) {
	p := &parser{s: strings.ReplaceAll(s, " ", "")}
	if p.s == "" {
		return nil, fmt.Errorf("empty expression: write seeds joined by + and -, as 1-2+3 or (1,2,3)-(4,5,6)+(7,8,9)")
	}
	var e Expr
	for p.i < len(p.s) || len(e) == 0 {
		sign := 1.0
		switch {
		case p.eat('+'):
		case p.eat('-'):
			sign = -1
		case len(e) > 0:
			return nil, p.fail("want + or -")
		}
		seeds, err := p.term()
		if err != nil {
			return nil, err
		}
		e = append(e, Term{sign, seeds})
	}
	return e, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) fail(what string) error {
	at := "at the end"
	if p.i < len(p.s) {
		at = fmt.Sprintf("at %q", p.s[p.i:])
	}
	return fmt.Errorf("%q does not parse: %s %s (write seeds joined by + and -, as 1-2+3 or (1,2,3)-(4,5,6)+(7,8,9))", p.s, what, at)
}

func (p *parser) term() ([]uint64, error) {
	if !p.eat('(') {
		s, err := p.seed()
		return []uint64{s}, err
	}
	var seeds []uint64
	for {
		s, err := p.seed()
		if err != nil {
			return nil, err
		}
		seeds = append(seeds, s)
		if p.eat(')') {
			return seeds, nil
		}
		if !p.eat(',') {
			return nil, p.fail("want , or )")
		}
	}
}

func (p *parser) seed() (uint64, error) {
	j := p.i
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == p.i {
		return 0, p.fail("want a seed")
	}
	v, err := strconv.ParseUint(p.s[p.i:j], 10, 64)
	if err != nil {
		return 0, p.fail("a seed is a whole number below 2^64")
	}
	p.i = j
	return v, nil
}

// Mean is the mean z of a term's seeds, given each seed's z.
func (t Term) Mean(z func(seed uint64) ([]float32, error)) ([]float32, error) {
	var sum []float64
	for _, s := range t.Seeds {
		v, err := z(s)
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = make([]float64, len(v))
		}
		for i, x := range v {
			sum[i] += float64(x)
		}
	}
	out := make([]float32, len(sum))
	for i, x := range sum {
		out[i] = float32(x / float64(len(t.Seeds)))
	}
	return out, nil
}

// Eval is the expression's z: the signed sum of its terms' means, and
// each term's mean z.
func (e Expr) Eval(z func(seed uint64) ([]float32, error)) (result []float32, terms [][]float32, err error) {
	var sum []float64
	for _, t := range e {
		m, err := t.Mean(z)
		if err != nil {
			return nil, nil, err
		}
		terms = append(terms, m)
		if sum == nil {
			sum = make([]float64, len(m))
		}
		for i, x := range m {
			sum[i] += t.Sign * float64(x)
		}
	}
	result = make([]float32, len(sum))
	for i, x := range sum {
		result[i] = float32(x)
	}
	return result, terms, nil
}

// String writes the expression back in ParseExpr's form.
func (e Expr) String() string {
	var b strings.Builder
	for i, t := range e {
		if t.Sign < 0 {
			b.WriteByte('-')
		} else if i > 0 {
			b.WriteByte('+')
		}
		if len(t.Seeds) == 1 {
			b.WriteString(strconv.FormatUint(t.Seeds[0], 10))
			continue
		}
		b.WriteByte('(')
		for j, s := range t.Seeds {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatUint(s, 10))
		}
		b.WriteByte(')')
	}
	return b.String()
}
