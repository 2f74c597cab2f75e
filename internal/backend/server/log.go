package server

import (
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns the backend's logger: text (or JSON) lines on w at
// level and above, with secrets redacted whatever attribute carries them.
func NewLogger(w io.Writer, level slog.Level, json bool) *slog.Logger {
	o := &slog.HandlerOptions{Level: level, ReplaceAttr: redact}
	if json {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// redact hides secrets from logs whatever attribute carries them.
func redact(_ []string, a slog.Attr) slog.Attr {
	switch strings.ToLower(a.Key) {
	case "token", "password", "secret", "authorization", "admin_token", "api_key":
		return slog.String(a.Key, "REDACTED")
	}
	return a
}
