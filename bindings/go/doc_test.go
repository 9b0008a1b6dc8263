package tokenomy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// undocumented lists the exported identifiers of the Go files in dir that
// have no doc comment: functions, methods of exported types, types, and
// constants and variables (a documented group covers its members).
func undocumented(t *testing.T, dir string) []string {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		where := func(p token.Pos) string {
			pos := fset.Position(p)
			return filepath.ToSlash(filepath.Join(dir, filepath.Base(pos.Filename))) + ":" +
				strconv.Itoa(pos.Line)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || d.Doc != nil {
					continue
				}
				recv := ""
				if d.Recv != nil {
					typ := d.Recv.List[0].Type
					if s, isPtr := typ.(*ast.StarExpr); isPtr {
						typ = s.X
					}
					id, isIdent := typ.(*ast.Ident)
					if !isIdent || !id.IsExported() {
						continue // a method of an unexported type is not in the docs
					}
					recv = id.Name + "."
				}
				missing = append(missing, where(d.Pos())+": func "+recv+d.Name.Name)
			case *ast.GenDecl:
				if d.Tok == token.IMPORT {
					continue
				}
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() && s.Doc == nil && d.Doc == nil {
							missing = append(missing, where(s.Pos())+": type "+s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() && s.Doc == nil && s.Comment == nil && d.Doc == nil {
								missing = append(missing, where(n.Pos())+": "+d.Tok.String()+" "+n.Name)
							}
						}
					}
				}
			}
		}
	}
	return missing
}

// Every exported identifier of every package of the module has a doc
// comment (what `go doc` shows a user), and every package a package comment.
func TestEveryExportedIdentifierIsDocumented(t *testing.T) {
	var dirs []string
	err := filepath.Walk(".", func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			if m, _ := filepath.Glob(filepath.Join(path, "*.go")); len(m) > 0 {
				dirs = append(dirs, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 3 {
		t.Fatalf("found the packages %v only", dirs)
	}
	for _, dir := range dirs {
		for _, m := range undocumented(t, dir) {
			t.Errorf("no doc comment: %s", m)
		}
		pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi os.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range pkgs {
			documented := false
			for _, f := range p.Files {
				documented = documented || f.Doc != nil
			}
			if !documented {
				t.Errorf("package %s (%s) has no package comment", name, dir)
			}
		}
	}
}
