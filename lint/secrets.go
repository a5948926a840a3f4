package lint

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"

	"go.starlark.net/syntax"
)

// secretFindings looks for credentials written into a plan: literals for secret-like
// parameters, random-looking strings, and GUIDs where a resource reference belongs.
func secretFindings(u *unit, sigs *signatures) []Finding {
	var out []Finding
	reported := map[*syntax.Literal]bool{}
	assigned := assignedValues(u.file)
	literal := func(e syntax.Expr) (*syntax.Literal, string, bool) {
		lit, ok := e.(*syntax.Literal)
		if !ok || lit.Token != syntax.STRING {
			return nil, "", false
		}
		s, _ := lit.Value.(string)
		return lit, s, s != ""
	}
	secretValue := func(name string, v syntax.Expr) {
		// A variable assigned once from a literal is that literal: pw = "..."; f(password = pw).
		// The finding goes where the secret is used, naming the variable.
		at, via := syntax.Node(v), ""
		if id, ok := v.(*syntax.Ident); ok && assigned[id.Binding] != nil {
			v, via = assigned[id.Binding], id.Name
		}
		lit, _, ok := literal(v)
		if !ok || reported[lit] {
			return
		}
		reported[lit] = true
		if via == "" {
			at = lit
			via = "as a literal"
		} else {
			start, _ := lit.Span()
			via = fmt.Sprintf("%s, a literal (line %d)", via, start.Line)
		}
		out = append(out, u.finding(at, CheckSecretLiteral,
			fmt.Sprintf("%s is given %s; store it in Key Vault and pass secret(\"<name>\") so it never sits in the plan", name, via)))
	}
	syntax.Walk(u.file, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CallExpr:
			name, isBuiltin := builtinName(n.Fn)
			if isBuiltin && name == "secret" {
				return false // its argument names a secret; it is not one
			}
			sp := sigs.byName[name]
			a := splitArgs(n)
			for _, k := range a.keywords {
				var p param
				var declared bool
				if isBuiltin && sp != nil {
					p, declared = sp.param(k.name.Name)
				}
				switch {
				case declared && (p.Secret || p.Type == "secret"), !declared && secretLikeName(k.name.Name):
					secretValue(k.name.Name, k.value)
				}
				switch {
				case declared && (handleKind(p.Type) || p.Type == "list[item]"):
					out = append(out, guidFindings(u, k.name.Name, strings.TrimSuffix(strings.TrimPrefix(p.Type, "list["), "]"), k.value, reported)...)
				case !declared && referenceName(k.name.Name) != "":
					out = append(out, guidFindings(u, k.name.Name, referenceName(k.name.Name), k.value, reported)...)
				}
			}
			if isBuiltin && sp != nil {
				for i, v := range a.positional {
					if i < len(sp.Params) && (sp.Params[i].Secret || sp.Params[i].Type == "secret") {
						secretValue(sp.Params[i].Name, v)
					}
				}
			}
		case *syntax.DictEntry:
			if k, ok := stringLit(n.Key); ok && secretLikeName(k) {
				secretValue(k, n.Value)
			}
		case *syntax.AssignStmt:
			if id, ok := n.LHS.(*syntax.Ident); ok && n.Op == syntax.EQ && secretLikeName(id.Name) {
				secretValue(id.Name, n.RHS)
			}
		case *syntax.Literal:
			if s, ok := n.Value.(string); ok && n.Token == syntax.STRING && !reported[n] && looksRandom(s) {
				reported[n] = true
				out = append(out, u.finding(n, CheckSecretEntropy,
					"this string looks like a credential (long and random); keep secrets in Key Vault and read them with secret(\"<name>\")"))
			}
		}
		return true
	})
	return out
}

// guidFindings reports GUID literals in v (or in the list v) passed for a reference of the
// given kind.
func guidFindings(u *unit, param, kind string, v syntax.Expr, reported map[*syntax.Literal]bool) []Finding {
	elems, ok := listElems(v)
	if !ok {
		elems = []syntax.Expr{v}
	}
	var out []Finding
	for _, e := range elems {
		lit, ok := e.(*syntax.Literal)
		if !ok || lit.Token != syntax.STRING {
			continue
		}
		if s, _ := lit.Value.(string); isGUID(s) {
			reported[lit] = true
			out = append(out, u.finding(lit, CheckGUIDLiteral,
				fmt.Sprintf("%s is a GUID literal; pass the %s, so the plan works in every tenant and survives the resource being recreated", param, describeType(kind))))
		}
	}
	return out
}

var guidRE = regexp.MustCompile(`^[{]?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}[}]?$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// secretLikeName says whether a parameter, key or variable name suggests a credential.
func secretLikeName(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "password", "passwd", "pwd", "secret", "client_secret", "pat", "token", "key", "api_key", "apikey",
		"access_key", "access_token", "refresh_token", "personal_access_token", "connection_string", "sas", "sas_token":
		return true
	}
	for _, suffix := range []string{"_password", "_secret", "_token", "_pat", "_api_key", "_access_key", "_account_key"} {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// referenceName returns the kind of resource a parameter of a plan's own function refers to,
// judged by its name ("workspace", "capacity_id"), or "".
func referenceName(name string) string {
	switch k := strings.TrimSuffix(strings.ToLower(name), "_id"); k {
	case "workspace", "item", "capacity", "folder":
		return k
	}
	return ""
}

// looksRandom flags strings that read like keys or tokens: no whitespace, letters and digits
// mixed, not built from words (sales_lakehouse_2024), and a high Shannon entropy: at least 4
// bits per character over 20 or more characters in mixed case (random base64 scores about 5),
// or 3.5 over 32 or more characters in one case (hex digests and tokens). GUIDs, URLs and paths
// are left to other checks.
func looksRandom(s string) bool {
	if len(s) < 20 || len(s) > 4096 || isGUID(s) || strings.Contains(s, "://") || strings.Count(s, "/") > 1 || strings.Contains(s, "{{") {
		return false
	}
	var upper, lower, digits bool
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			return false
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digits = true
		}
	}
	if !digits || !(upper || lower) || wordy(s) {
		return false
	}
	if upper && lower {
		return entropy(s) >= 4.0
	}
	return len(s) >= 32 && entropy(s) >= 3.5
}

// wordy reports whether s is mostly alphabetic words joined by separators, like an identifier.
func wordy(s string) bool {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	if len(parts) < 2 {
		return false
	}
	words := 0
	for _, p := range parts {
		if strings.IndexFunc(p, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
			words++
		}
	}
	return words*2 > len(parts)
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
