package telemetry

import (
	"strings"
)

// RouteTemplate turns a request path into its route template (semconv url.template): ids and
// names become "{id}", so that metrics stay low-cardinality and no object name (a Key Vault
// secret's name, a user's UPN) reaches a metric. A segment is an id when it holds anything but
// ASCII letters (GUIDs, UPNs, versions), or when it follows a collection whose members are named
// by letters alone (Key Vault secrets, Graph users and groups).
func RouteTemplate(path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		switch {
		case isVersion(s):
		case !lettersOnly(s):
			segs[i] = "{id}"
		case i > 0 && namedMembers(segs[i-1]):
			segs[i] = "{id}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

// isVersion is an API version prefix: v1, v1.0, beta.
func isVersion(s string) bool {
	if s == "beta" {
		return true
	}
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	for _, c := range s[1:] {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

func lettersOnly(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

func namedMembers(collection string) bool {
	switch collection {
	case "secrets", "users", "groups", "servicePrincipals", "applications", "deletedsecrets":
		return true
	}
	return false
}
