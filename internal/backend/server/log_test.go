package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestNewLoggerRedacts(t *testing.T) {
	tests := []struct {
		key    string
		hidden bool
	}{
		{"token", true}, {"Token", true}, {"password", true}, {"secret", true},
		{"authorization", true}, {"Authorization", true}, {"admin_token", true}, {"api_key", true},
		{"user", false}, {"url", false}, {"msg", false}, {"tokens", false},
	}
	for _, json := range []bool{false, true} {
		for _, tt := range tests {
			var b bytes.Buffer
			NewLogger(&b, slog.LevelInfo, json).Info("hello", tt.key, "s3cr3t-value")
			if got := strings.Contains(b.String(), "s3cr3t-value"); got == tt.hidden {
				t.Errorf("json %t: logging %s=s3cr3t-value wrote %q; want the value hidden: %t", json, tt.key, &b, tt.hidden)
			}
			if tt.hidden && !strings.Contains(b.String(), "REDACTED") {
				t.Errorf("json %t: logging %s=s3cr3t-value wrote %q; want REDACTED", json, tt.key, &b)
			}
		}
	}
}
