package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A constant is one specialization constant a GLSL file declares: with
// layout(constant_id = ID) const TYPE NAME = DEFAULT, or a workgroup size
// with local_size_x_id / local_size_y_id (named LOCAL_X, LOCAL_Y).
type constant struct {
	id        int
	typ       string // GLSL: uint, int, float or bool
	name, def string // the GLSL name, its default as written
}

// A binding is one buffer a shader binds: a block or image at one binding,
// or an elementwise.glsl tensor (TENSOR_IN and the like), which takes two
// bindings, first and first+1, for the same buffer.
type binding struct {
	first, n int
	name     string
}

// An include is a file under include/ and the constants it declares.
type include struct {
	name   string // "gemm" for include/gemm.glsl
	consts []constant
}

// A shader is one .comp: the includes that declare constants, in the order
// it includes them, its own constants and its bindings by binding.
type shader struct {
	name     string // "conv_fwd"
	includes []*include
	consts   []constant
	bindings []binding
}

var (
	includeRe  = regexp.MustCompile(`^\s*#include\s+"([^"]+)"`)
	constRe    = regexp.MustCompile(`layout\s*\(\s*constant_id\s*=\s*(\d+)\s*\)\s*const\s+(uint|int|float|bool)\s+(\w+)\s*=\s*([^;]+);`)
	localRe    = regexp.MustCompile(`local_size_([xy])_id\s*=\s*(\d+)`)
	localDefRe = regexp.MustCompile(`local_size_([xy])\s*=\s*(\d+)`)
	layoutInRe = regexp.MustCompile(`layout\s*\(([^)]*)\)\s*in\s*;`)
	bufferRe   = regexp.MustCompile(`layout\s*\(([^)]*\bbinding\s*=\s*(\d+)[^)]*)\)\s*((?:readonly|writeonly|coherent|restrict|volatile)\s+)*(?:buffer\s+(\w+)|uniform\s+\w+\s+(\w+))`)
	tensorRe   = regexp.MustCompile(`^\s*TENSOR_(?:IN|OUT|INOUT)\s*\(\s*(\w+)\s*,\s*(\d+)\s*\)`)
	commentRe  = regexp.MustCompile(`//.*`)
)

// parser reads shaders and the includes they name, each include once.
type parser struct {
	includes map[string]*include
}

func (p *parser) shader(file string) (*shader, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	s := &shader{name: strings.TrimSuffix(filepath.Base(file), ".comp")}
	seen := map[string]bool{}
	for i, line := range strings.Split(string(src), "\n") {
		if m := includeRe.FindStringSubmatch(line); m != nil {
			if err := p.addInclude(s, m[1], seen); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, i+1, err)
			}
		}
	}
	code := commentRe.ReplaceAllString(string(src), "")
	s.consts = declared(code)
	for _, line := range strings.Split(code, "\n") {
		if m := tensorRe.FindStringSubmatch(line); m != nil {
			b, _ := strconv.Atoi(m[2])
			s.bindings = append(s.bindings, binding{b, 2, m[1]})
			continue
		}
		for _, m := range bufferRe.FindAllStringSubmatch(line, -1) {
			b, _ := strconv.Atoi(m[2])
			name := m[4]
			if name == "" {
				name = m[5]
			}
			s.bindings = append(s.bindings, binding{b, 1, name})
		}
	}
	return s, s.check(file)
}

// addInclude adds include/name and, first, what it includes.
func (p *parser) addInclude(s *shader, name string, seen map[string]bool) error {
	if seen[name] {
		return nil
	}
	seen[name] = true
	inc, ok := p.includes[name]
	if !ok {
		path := filepath.Join("include", name)
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(src), "\n") {
			if m := includeRe.FindStringSubmatch(line); m != nil {
				return fmt.Errorf("%s includes %s: includes do not nest here", path, m[1])
			}
		}
		code := commentRe.ReplaceAllString(string(src), "")
		if strings.Contains(code, "binding") && !strings.Contains(code, "#define TENSOR_") {
			return fmt.Errorf("%s declares a binding: declare bindings in the shader", path)
		}
		inc = &include{name: strings.TrimSuffix(name, ".glsl"), consts: declared(code)}
		p.includes[name] = inc
	}
	if len(inc.consts) > 0 {
		s.includes = append(s.includes, inc)
	}
	return nil
}

// declared lists the constants code (comments removed) declares, in order.
func declared(code string) []constant {
	var out []constant
	for _, m := range layoutInRe.FindAllStringSubmatch(code, -1) {
		defs := map[string]string{}
		for _, d := range localDefRe.FindAllStringSubmatch(code, -1) {
			defs[d[1]] = d[2]
		}
		for _, l := range localRe.FindAllStringSubmatch(m[1], -1) {
			id, _ := strconv.Atoi(l[2])
			def := defs[l[1]]
			if def == "" {
				def = "1"
			}
			out = append(out, constant{id, "uint", "LOCAL_" + strings.ToUpper(l[1]), def})
		}
	}
	for _, m := range constRe.FindAllStringSubmatch(code, -1) {
		id, _ := strconv.Atoi(m[1])
		out = append(out, constant{id, m[2], m[3], strings.TrimSpace(m[4])})
	}
	return out
}

// check refuses what the generated Go could not state: two constants with
// one id or one name, and bindings that overlap or leave a gap.
func (s *shader) check(file string) error {
	ids, names := map[int]string{}, map[string]bool{}
	for _, c := range s.all() {
		if other, dup := ids[c.id]; dup {
			return fmt.Errorf("%s: constant_id %d is both %s and %s", file, c.id, other, c.name)
		}
		if names[field(c.name)] {
			return fmt.Errorf("%s: two constants are named %s", file, c.name)
		}
		ids[c.id], names[field(c.name)] = c.name, true
	}
	bs := append([]binding(nil), s.bindings...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].first < bs[j].first })
	next := 0
	for _, b := range bs {
		if b.first != next {
			return fmt.Errorf("%s: binding %s is at %d, want %d: bindings start at 0 and leave no gap", file, b.name, b.first, next)
		}
		next += b.n
	}
	s.bindings = bs
	return nil
}

// all lists the shader's constants, its includes' first.
func (s *shader) all() []constant {
	var out []constant
	for _, inc := range s.includes {
		out = append(out, inc.consts...)
	}
	return append(out, s.consts...)
}

// field is the Go name of a GLSL constant: LOG_BETA1 is LogBeta1, a part
// of one or two letters stays upper case (LR, TM, OH, D0).
func field(glsl string) string {
	var b strings.Builder
	for _, part := range strings.Split(glsl, "_") {
		if len(part) <= 2 {
			b.WriteString(strings.ToUpper(part))
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + strings.ToLower(part[1:]))
	}
	return b.String()
}
