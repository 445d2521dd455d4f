package bkash

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The packages whose go doc users read.
var documentedPackages = []string{".", "bkashtest"}

// internalPackages are this module's internal packages: go doc shows an
// exported declaration's source, and a name from these means nothing to a
// reader who cannot import them.
var internalPackages = map[string]bool{"sns": true, "transport": true, "redact": true, "explain": true}

// TestDocsReadOnTheirOwn fails when the go doc of an exported declaration
// shows an internal package's identifier or an unexported name (for example
// "var PayingWallets = slices.Clone(payingWallets)" or
// "ErrWebhookBadJSON = sns.ErrBadJSON").
func TestDocsReadOnTheirOwn(t *testing.T) {
	for _, dir := range documentedPackages {
		fset := token.NewFileSet()
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		var files []*ast.File
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		{
			// AllDecls: the default mode drops unexported keys from
			// composite literals, which go doc prints; unexported
			// declarations are skipped below instead.
			d, err := doc.NewFromFiles(fset, files, "example.com/"+dir, doc.AllDecls)
			if err != nil {
				t.Fatal(err)
			}
			check := func(decl ast.Node, exprs ...ast.Node) {
				var b strings.Builder
				_ = printer.Fprint(&b, fset, decl)
				text := b.String()
				for _, e := range exprs {
					for _, name := range unexportedNames(e) {
						t.Errorf("%s: go doc shows %s (internal or unexported):\n%s", fset.Position(decl.Pos()), name, text)
					}
				}
			}
			values := func(vs []*doc.Value) {
				for _, v := range vs {
					var exprs []ast.Node
					for _, s := range v.Decl.Specs {
						vs := s.(*ast.ValueSpec)
						if !anyExported(vs.Names) {
							continue
						}
						if vs.Type != nil {
							exprs = append(exprs, vs.Type)
						}
						for _, x := range vs.Values {
							exprs = append(exprs, x)
						}
					}
					check(v.Decl, exprs...)
				}
			}
			funcs := func(fs []*doc.Func) {
				for _, f := range fs {
					if !f.Decl.Name.IsExported() {
						continue
					}
					check(&ast.FuncDecl{Recv: f.Decl.Recv, Name: f.Decl.Name, Type: f.Decl.Type}, fieldTypes(f.Decl.Type.Params), fieldTypes(f.Decl.Type.Results))
				}
			}
			values(d.Consts)
			values(d.Vars)
			funcs(d.Funcs)
			for _, ty := range d.Types {
				if !ast.IsExported(ty.Name) {
					// Its exported constants and constructors are
					// still what go doc shows.
					values(ty.Consts)
					values(ty.Vars)
					funcs(ty.Funcs)
					continue
				}
				values(ty.Consts)
				values(ty.Vars)
				funcs(ty.Funcs)
				funcs(ty.Methods)
				for _, s := range ty.Decl.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && !opaqueOptions[ts.Name.Name] {
						check(ty.Decl, exportedPart(ts.Type))
					}
				}
			}
		}
	}
}

// opaqueOptions are functional-option types, "type Option func(*config)
// error": their unexported parameter is the point (options are made only by
// the With... functions), as in grpc's DialOption.
var opaqueOptions = map[string]bool{"Option": true, "WebhookOption": true}

// exportedPart is a type without the unexported fields and methods go doc
// hides.
func exportedPart(t ast.Expr) ast.Node {
	var list *ast.FieldList
	switch t := t.(type) {
	case *ast.StructType:
		list = t.Fields
	case *ast.InterfaceType:
		list = t.Methods
	default:
		return t
	}
	var kept []ast.Expr
	for _, f := range list.List {
		if len(f.Names) == 0 || anyExported(f.Names) {
			kept = append(kept, f.Type)
		}
	}
	return &ast.CompositeLit{Elts: kept}
}

func anyExported(ids []*ast.Ident) bool {
	for _, id := range ids {
		if id.IsExported() {
			return true
		}
	}
	return false
}

// fieldTypes is the types (not the names) of a parameter list.
func fieldTypes(fl *ast.FieldList) ast.Node {
	var types []ast.Expr
	if fl != nil {
		for _, f := range fl.List {
			types = append(types, f.Type)
		}
	}
	return &ast.CompositeLit{Elts: types}
}

// unexportedNames lists the unexported identifiers an expression refers to,
// other than Go's predeclared ones, imported package names and the names
// of struct fields and parameters (go doc hides unexported fields).
func unexportedNames(n ast.Node) []string {
	var out []string
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			// pkg.Name: the package's name is lower case by convention,
			// but an internal package's name means nothing to a reader.
			if x, ok := n.X.(*ast.Ident); ok {
				if internalPackages[x.Name] {
					out = append(out, x.Name+"."+n.Sel.Name)
				}
				return false
			}
		case *ast.Field:
			// A struct field's or parameter's name is not a reference.
			out = append(out, unexportedNames(n.Type)...)
			return false
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && !id.IsExported() {
				out = append(out, id.Name)
			}
			ast.Inspect(n.Value, func(m ast.Node) bool { out = append(out, unexportedNames(m)...); return false })
			return false
		case *ast.Ident:
			if !n.IsExported() && !predeclared[n.Name] && n.Name != "_" {
				out = append(out, n.Name)
			}
		}
		return true
	})
	return out
}

var predeclared = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`any bool byte comparable complex64 complex128 error float32 float64
		int int8 int16 int32 int64 rune string uint uint8 uint16 uint32 uint64 uintptr
		true false iota nil append cap clear close complex copy delete imag len make max min new panic print println real recover`) {
		predeclared[n] = true
	}
}
