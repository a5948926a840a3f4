package telemetry

import (
	"context"
	"errors"
	"log/slog"
)

// LogExportLevel is the lowest level bridged to OpenTelemetry logs: retries, throttling and
// breaker changes are Info, per-request lines Debug (those are spans already).
const LogExportLevel = slog.LevelInfo

// Tee sends each record to console at console's own level and to the telemetry handler from
// LogHandler at LogExportLevel and above. A nil exported handler gives console back.
func Tee(console, exported slog.Handler) slog.Handler {
	if exported == nil {
		return console
	}
	return tee{console, exported}
}

type tee struct{ console, exported slog.Handler }

func (t tee) Enabled(ctx context.Context, l slog.Level) bool {
	return t.console.Enabled(ctx, l) || l >= LogExportLevel && t.exported.Enabled(ctx, l)
}

func (t tee) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	if t.console.Enabled(ctx, r.Level) {
		errs = append(errs, t.console.Handle(ctx, r.Clone()))
	}
	if r.Level >= LogExportLevel && t.exported.Enabled(ctx, r.Level) {
		// An export problem is the exporter's to report; it never fails the log call.
		_ = t.exported.Handle(ctx, r)
	}
	return errors.Join(errs...)
}

func (t tee) WithAttrs(as []slog.Attr) slog.Handler {
	return tee{t.console.WithAttrs(as), t.exported.WithAttrs(as)}
}

func (t tee) WithGroup(name string) slog.Handler {
	return tee{t.console.WithGroup(name), t.exported.WithGroup(name)}
}
