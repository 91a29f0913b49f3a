package layers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Every specialization constant a shader declares is passed to its
// pipeline, so a constant layers leaves out is 0, not the GLSL default.
// The generated Specs structs make the names and types right at compile
// time; this holds each literal of them in layers to naming every field,
// so that none is left out by accident.
func TestSpecsLiteralsComplete(t *testing.T) {
	fset := token.NewFileSet()
	gen, err := parser.ParseFile(fset, filepath.Join("..", "shaders", "shaders_gen.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string][]string{} // generated struct -> its field names
	ast.Inspect(gen, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok || ts.TypeParams != nil { // the Bindings structs are generic
			return false
		}
		names := []string{}
		for _, f := range st.Fields.List {
			if len(f.Names) == 0 { // an embedded include's struct
				names = append(names, f.Type.(*ast.Ident).Name)
			}
			for _, n := range f.Names {
				names = append(names, n.Name)
			}
		}
		fields[ts.Name.Name] = names
		return false
	})
	if len(fields) < 20 {
		t.Fatalf("found %d Specs structs in shaders_gen.go", len(fields))
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	literals := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || sel.X.(*ast.Ident).Name != "shaders" {
				return true
			}
			want, ok := fields[sel.Sel.Name]
			if !ok {
				return true
			}
			literals++
			set := map[string]bool{}
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					set[kv.Key.(*ast.Ident).Name] = true
				}
			}
			var missing []string
			for _, name := range want {
				if !set[name] {
					missing = append(missing, name)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("%s: shaders.%s{…} leaves out %s: set every field (the GLSL default is in the field's comment)",
					fset.Position(lit.Pos()), sel.Sel.Name, strings.Join(missing, ", "))
			}
			return true
		})
	}
	if literals < 20 {
		t.Errorf("found %d Specs literals in layers; the test no longer sees them", literals)
	}
}
