package goldenpath_test

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/goldenpath-dev/goldenpath"

// imports maps every package of the module (by its path inside the module:
// "." for the root, "internal/suite", ...) to the module's packages its
// non-test files import, by the same names.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		var deps []string
		for _, imp := range pkg.Imports {
			if imp == module {
				deps = append(deps, ".")
			} else if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				deps = append(deps, rel)
			}
		}
		slices.Sort(deps)
		out[filepath.ToSlash(path)] = deps
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// docName is how docs/architecture.md names a package: its path without
// "internal/", and "goldenpath" for the root.
func docName(p string) string {
	if p == "." {
		return "goldenpath"
	}
	return strings.TrimPrefix(p, "internal/")
}

// TestArchitectureDocIsTrue: the "Who imports whom" block of
// docs/architecture.md lists every package of the module and exactly the
// module packages it imports.
func TestArchitectureDocIsTrue(t *testing.T) {
	doc, err := os.ReadFile("docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := parseImportBlock(t, string(doc))
	actual := moduleImports(t)
	for p, deps := range actual {
		name := docName(p)
		var want []string
		for _, d := range deps {
			want = append(want, docName(d))
		}
		slices.Sort(want)
		got, ok := documented[name]
		if !ok {
			t.Errorf("docs/architecture.md does not list package %s; it imports: %s", name, orNone(want))
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("docs/architecture.md says %s -> %s; its files import %s", name, orNone(got), orNone(want))
		}
	}
	for name := range documented {
		found := false
		for p := range actual {
			found = found || docName(p) == name
		}
		if !found {
			t.Errorf("docs/architecture.md lists package %s, which does not exist", name)
		}
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(nothing of the module)"
	}
	return strings.Join(s, ", ")
}

var braces = regexp.MustCompile(`([\w/]*)\{([^}]*)\}`)

// parseImportBlock reads the fenced block after "## Who imports whom":
// lines "name -> a, b, backend/{x,y} (externals)".
func parseImportBlock(t *testing.T, doc string) map[string][]string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "## Who imports whom")
	if !ok {
		t.Fatal(`docs/architecture.md has no "## Who imports whom" section`)
	}
	_, rest, _ = strings.Cut(rest, "```\n")
	block, _, _ := strings.Cut(rest, "```")
	out := map[string][]string{}
	for _, line := range strings.Split(block, "\n") {
		name, deps, ok := strings.Cut(line, "->")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		// Externals are in parentheses.
		for strings.Contains(deps, "(") {
			i := strings.Index(deps, "(")
			j := strings.Index(deps[i:], ")")
			if j < 0 {
				break
			}
			deps = deps[:i] + deps[i+j+1:]
		}
		deps = braces.ReplaceAllStringFunc(deps, func(m string) string {
			sm := braces.FindStringSubmatch(m)
			var parts []string
			for _, p := range strings.Split(sm[2], ",") {
				parts = append(parts, sm[1]+strings.TrimSpace(p))
			}
			return strings.Join(parts, ", ")
		})
		list := []string{}
		for _, d := range strings.Split(deps, ",") {
			if d = strings.TrimSpace(d); d != "" {
				list = append(list, d)
			}
		}
		slices.Sort(list)
		if _, dup := out[name]; dup {
			t.Errorf("docs/architecture.md lists %s twice", name)
		}
		out[name] = list
	}
	return out
}

// loadSide are the packages that drive and judge a target.
var loadSide = []string{"journey", "load", "metrics", "monitor", "trend", "results", "report", "baseline",
	"suite", "testbed", "embedded", "abtest", "live"}

// TestArchitectureRules: the rules docs/architecture.md states.
func TestArchitectureRules(t *testing.T) {
	actual := moduleImports(t)
	for p, deps := range actual {
		name := docName(p)
		for _, d := range deps {
			dn := docName(d)
			switch {
			// The two wings never import each other: the load side reaches
			// the reference backend only over the wire.
			case isLoadSide(name) && strings.HasPrefix(dn, "backend"):
				t.Errorf("%s (load side) imports %s (reference backend); the wings meet only in protocol", name, dn)
			case strings.HasPrefix(name, "backend") && isLoadSide(dn):
				t.Errorf("%s (reference backend) imports %s (load side); the wings meet only in protocol", name, dn)
			// Only the composition roots reach the backend from outside it:
			// cli (for serve), and the library face (to validate fault names).
			case strings.HasPrefix(dn, "backend") && !strings.HasPrefix(name, "backend") && name != "cli" && !(name == "goldenpath" && dn == "backend/fault"):
				t.Errorf("%s imports %s; only cli (and the library face, for backend/fault) may", name, dn)
			// Nothing but main and test helpers imports the composition root.
			case dn == "cli" && name != "cmd/goldenpath" && name != "goldenpathtest":
				t.Errorf("%s imports cli, the composition root", name)
			}
		}
	}
	// The leaves import nothing of the module but these.
	leaves := map[string][]string{
		"protocol": nil, "metrics": nil, "load": nil, "trend": nil, "results": {"metrics"}, "backend": nil,
	}
	for leaf, allowed := range leaves {
		deps, ok := actual["internal/"+leaf]
		if !ok {
			t.Errorf("leaf package internal/%s does not exist", leaf)
			continue
		}
		for _, d := range deps {
			if !slices.Contains(allowed, docName(d)) {
				t.Errorf("leaf package %s imports %s; a leaf imports %s", leaf, docName(d), orNone(allowed))
			}
		}
	}
	// The example's tests import only the public packages.
	ex, err := build.ImportDir("examples/gotest", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.XTestImports) == 0 {
		t.Error("examples/gotest has no external test files")
	}
	for _, d := range append(ex.TestImports, ex.XTestImports...) {
		if strings.HasPrefix(d, module+"/internal/") {
			t.Errorf("examples/gotest's tests import %s; they are to show the public packages only", d)
		}
	}
}

func isLoadSide(name string) bool {
	for _, p := range loadSide {
		if name == p || strings.HasPrefix(name, p+"/") {
			return true
		}
	}
	return false
}
