package builtins

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteReference writes the reference of every builtin, from the signature table: the source of
// docs/builtins.md (a test keeps that file equal to this output).
func WriteReference(w io.Writer) {
	fmt.Fprintln(w, "# Builtins reference")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated from the builtins' signatures (`go test ./builtins -run TestReference -update` rewrites it).")
	fmt.Fprintln(w, "Parameters marked *required* must be given; the others are optional. A parameter whose type is")
	fmt.Fprintln(w, "another builtin's result (workspace, folder, item, capacity, principal, definition) takes the value that")
	fmt.Fprintln(w, "builtin returned, which also makes the deployment order follow.")
	for _, s := range Catalog() {
		fmt.Fprintf(w, "\n## %s\n\n%s\n\n", s.Name, s.Doc)
		fmt.Fprintln(w, "| parameter | type | | description |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, p := range s.Params {
			req := ""
			if p.Required {
				req = "*required*"
			}
			doc := p.Doc
			if len(p.Enum) > 0 {
				doc += " One of: " + strings.Join(p.Enum, ", ") + "."
			}
			if p.Secret {
				doc += " Takes `secret(...)`."
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", p.Name, p.Type, req, doc)
		}
		for _, g := range s.OneOf {
			fmt.Fprintf(w, "\nGive exactly one of %s.\n", "`"+strings.Join(g, "`, `")+"`")
		}
		writeAttributes(w, s)
	}
}

// writeAttributes lists the attributes known after apply a builtin's handles have.
func writeAttributes(w io.Writer, s Spec) {
	if len(s.Attributes) == 0 {
		return
	}
	keys := make([]string, 0, len(s.Attributes))
	for k := range s.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "\nAttributes known after apply, besides `id` (read them from the handle, e.g. in a definition's `replace`;")
	fmt.Fprintln(w, "plans show them as (known after apply) until the object exists):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| attribute | of | description |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, k := range keys {
		of := "every " + strings.TrimPrefix(s.Name, "fabric.")
		if k != "" {
			of = k
		}
		for _, a := range s.Attributes[k] {
			fmt.Fprintf(w, "| `%s` | %s | %s |\n", a.Name, of, a.Doc)
		}
	}
}
