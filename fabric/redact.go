package fabric

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
)

// redactingHandler removes credentials from every record before it reaches the wrapped handler:
// attributes named like a credential, bearer tokens and JWTs inside any string, and the secret values
// it was given (a client secret, values read from Key Vault).
type redactingHandler struct {
	next    slog.Handler
	secrets []string
}

const redacted = "REDACTED"

var (
	bearerRE = regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*`)
	jwtRE    = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`)
)

// NewRedactingLogger wraps l so that no line it writes carries an Authorization header, a token or
// one of secrets. A nil l gives a logger that discards everything.
func NewRedactingLogger(l *slog.Logger, secrets ...string) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	var keep []string
	for _, s := range secrets {
		if len(s) >= 4 { // shorter values would blank out ordinary words
			keep = append(keep, s)
		}
	}
	return slog.New(&redactingHandler{next: l.Handler(), secrets: keep})
}

func (h *redactingHandler) Enabled(ctx context.Context, lvl slog.Level) bool {
	return h.next.Enabled(ctx, lvl)
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &redactingHandler{next: h.next.WithAttrs(clean), secrets: h.secrets}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name), secrets: h.secrets}
}

func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"authorization", "secret", "password", "token", "assertion", "cookie", "apikey", "api_key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func (h *redactingHandler) attr(a slog.Attr) slog.Attr {
	if sensitiveKey(a.Key) {
		return slog.String(a.Key, redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = h.attr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindString:
		return slog.String(a.Key, h.scrub(v.String()))
	case slog.KindAny:
		return slog.String(a.Key, h.scrub(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *redactingHandler) scrub(s string) string {
	s = bearerRE.ReplaceAllString(s, "${1}"+redacted)
	s = jwtRE.ReplaceAllString(s, redacted)
	for _, sec := range h.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}
