package fabric

import (
	"encoding/json"
	"regexp"
	"strings"
)

// aadDescription finds Entra's error_description in azidentity's error text, which embeds the
// whole token response.
var aadDescription = regexp.MustCompile(`"error_description":\s*("(?:[^"\\]|\\.)*")`)

// authMessage condenses an azidentity failure to one line: which credential failed and Entra's
// own explanation (AADSTS code and text), without the response dump, trace ids or timestamps.
func authMessage(err error) string {
	msg := err.Error()
	first, _, _ := strings.Cut(msg, "\n")
	first = strings.TrimSpace(first)
	m := aadDescription.FindStringSubmatch(msg)
	if m == nil {
		return first
	}
	var desc string
	if json.Unmarshal([]byte(m[1]), &desc) != nil {
		return first
	}
	if i := strings.Index(desc, " Trace ID:"); i >= 0 {
		desc = desc[:i]
	}
	return first + " " + strings.TrimSpace(desc)
}
