package emulator

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

func (e *Emulator) writeGraphError(w http.ResponseWriter, requestID string, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code":    code,
		"message": msg,
		"innerError": map[string]any{
			"date":              e.now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        requestID,
			"client-request-id": requestID,
		},
	}})
}

// graphCollection describes one Graph collection the emulator serves.
type graphCollection struct {
	typ     string   // principal type it holds
	entity  string   // OData entity name for errors
	filters []string // properties $filter may test with eq
}

// graphCollectionOf is the collection served under name; a function rather than a package map so that
// the table cannot be changed at run time.
func graphCollectionOf(name string) (graphCollection, bool) {
	switch name {
	case "users":
		return graphCollection{PrincipalUser, "User", []string{"userPrincipalName", "mail", "id", "displayName"}}, true
	case "groups":
		return graphCollection{PrincipalGroup, "Group", []string{"displayName", "id"}}, true
	case "servicePrincipals":
		return graphCollection{PrincipalServicePrincipal, "ServicePrincipal", []string{"appId", "displayName", "id"}}, true
	}
	return graphCollection{}, false
}

var (
	graphFilter = regexp.MustCompile(`^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$`)
	spByAppID   = regexp.MustCompile(`^servicePrincipals\(appId='([^']*)'\)$`)
)

// graph serves GET /graph/v1.0/{collection}[/{id}] for users, groups and service principals.
func (e *Emulator) graph(w http.ResponseWriter, r *http.Request) {
	rec := recordOf(r)
	_, who, aerr := e.authenticate(r, audienceGraph)
	if aerr != nil {
		msg := "Access token validation failure. Invalid audience."
		switch aerr.Code {
		case "TokenIsMissing":
			msg = "Access token is empty."
		case "TokenExpired":
			msg = "Lifetime validation failed, the token is expired."
		}
		e.writeGraphError(w, rec.RequestID, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
		return
	}
	rec.Principal = who.label()
	if ae := e.limits.admit(who.ID, e.faults.config(), e.now()); ae != nil {
		w.Header().Set("Retry-After", fmt.Sprint(ae.RetryAfter))
		e.writeGraphError(w, rec.RequestID, http.StatusTooManyRequests, "TooManyRequests", ae.Message)
		return
	}
	if !who.GraphRead {
		e.writeGraphError(w, rec.RequestID, http.StatusForbidden, "Authorization_RequestDenied",
			"Insufficient privileges to complete the operation.")
		return
	}
	coll, key := r.PathValue("collection"), r.PathValue("id")
	if m := spByAppID.FindStringSubmatch(coll); m != nil && key == "" {
		coll, key = "servicePrincipals", ""
		if p := e.fix.principalByAppID(m[1]); p != nil {
			key = p.ID
		} else {
			e.graphNotFound(w, rec.RequestID, m[1])
			return
		}
	}
	gc, okColl := graphCollectionOf(coll)
	if !okColl {
		e.writeGraphError(w, rec.RequestID, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Resource not found for the segment '%s'.", truncate(coll, 64)))
		return
	}
	sel := selectFields(r.URL.Query().Get("$select"))
	ctx := e.GraphURL() + "/$metadata#" + coll
	if key != "" {
		p := e.graphLookup(gc, key)
		if p == nil {
			e.graphNotFound(w, rec.RequestID, key)
			return
		}
		obj := graphObject(p, sel)
		obj["@odata.context"] = ctx + "/$entity"
		writeJSON(w, http.StatusOK, obj)
		return
	}
	prop, val := "", ""
	if f := r.URL.Query().Get("$filter"); f != "" {
		m := graphFilter.FindStringSubmatch(f)
		if m == nil || !slices.Contains(gc.filters, m[1]) {
			name := f
			if m != nil {
				name = m[1]
			}
			e.writeGraphError(w, rec.RequestID, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", truncate(name, 64), gc.entity))
			return
		}
		prop, val = m[1], strings.ReplaceAll(m[2], "''", "'")
	}
	value := []map[string]any{}
	for i := range e.fix.Principals {
		p := &e.fix.Principals[i]
		if p.Type != gc.typ || (prop != "" && !strings.EqualFold(graphProp(p, prop), val)) {
			continue
		}
		value = append(value, graphObject(p, sel))
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctx, "value": value})
}

func (e *Emulator) graphNotFound(w http.ResponseWriter, requestID, key string) {
	e.writeGraphError(w, requestID, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", truncate(key, 128)))
}

// graphLookup finds an object by id, or a user by user principal name.
func (e *Emulator) graphLookup(gc graphCollection, key string) *Principal {
	for i := range e.fix.Principals {
		p := &e.fix.Principals[i]
		if p.Type != gc.typ {
			continue
		}
		if strings.EqualFold(p.ID, key) || (gc.typ == PrincipalUser && strings.EqualFold(p.UserPrincipalName, key)) {
			return p
		}
	}
	return nil
}

func graphProp(p *Principal, name string) string {
	switch name {
	case "id":
		return p.ID
	case "displayName":
		return p.DisplayName
	case "userPrincipalName":
		return p.UserPrincipalName
	case "mail":
		return p.Mail
	case "appId":
		return p.AppID
	}
	return ""
}

func graphObject(p *Principal, sel []string) map[string]any {
	obj := map[string]any{"id": p.ID, "displayName": p.DisplayName}
	switch p.Type {
	case PrincipalUser:
		obj["userPrincipalName"] = p.UserPrincipalName
		obj["mail"] = nullable(p.Mail)
	case PrincipalGroup:
		obj["securityEnabled"] = p.GroupType != "DistributionList"
		obj["mailEnabled"] = p.GroupType == "DistributionList"
		obj["groupTypes"] = []string{}
	case PrincipalServicePrincipal:
		obj["appId"] = p.AppID
		obj["servicePrincipalType"] = "Application"
	}
	if len(sel) == 0 {
		return obj
	}
	out := map[string]any{}
	for _, f := range sel {
		if v, ok := obj[f]; ok {
			out[f] = v
		}
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func selectFields(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
