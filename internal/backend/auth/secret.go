package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// Secret is a password, token or key that must not reach logs. It logs
// through [log/slog] and prints through fmt as "REDACTED"; convert it with
// string(s) where the value itself is needed.
type Secret string

// LogValue implements [slog.LogValuer].
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// String implements [fmt.Stringer], so %v, %s and %q print "REDACTED".
func (Secret) String() string { return "REDACTED" }

// GoString implements [fmt.GoStringer], so %#v prints "REDACTED" too.
func (Secret) GoString() string { return "REDACTED" }

// SecretFile is the name of the signing secret's file in the directory
// given to [LoadOrCreateSecret].
const SecretFile = "jwt.secret"

// LoadOrCreateSecret returns the signing secret kept hex-encoded in
// dir/jwt.secret. When the file does not exist it creates it, and dir if
// need be, with [MinSecretBytes] random bytes, readable by the owner only
// (dir 0700, file 0600). Concurrent callers agree on one secret. Errors name
// the file.
func LoadOrCreateSecret(dir string) ([]byte, error) {
	if dir == "" {
		return nil, errors.New("auth: no directory for " + SecretFile)
	}
	path := filepath.Join(dir, SecretFile)
	secret, err := readSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: creating %s: %w", path, err)
	}
	// Write a temporary file, then link it into place: the link fails if
	// another process got there first, and no reader sees a partial file.
	tmp, err := os.CreateTemp(dir, SecretFile+".*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("auth: creating %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	raw := make([]byte, MinSecretBytes)
	rand.Read(raw) // never fails; see crypto/rand.Read
	_, err = tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("auth: creating %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readSecret(path)
	} else if err != nil {
		return nil, fmt.Errorf("auth: creating %s: %w", path, err)
	}
	return raw, nil
}

// readSecret reads and decodes a secret file.
func readSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: reading %s: %w", path, err)
	}
	secret, err := hex.DecodeString(string(bytes.TrimSpace(data)))
	switch {
	case err != nil:
		// The decoder's error would quote a byte of the secret: leave it out.
		return nil, fmt.Errorf("auth: %s is not hex-encoded; write %d hex digits or delete it to make a new secret", path, 2*MinSecretBytes)
	case len(secret) < MinSecretBytes:
		return nil, fmt.Errorf("auth: %s holds %d bytes; write at least %d hex digits or delete it to make a new secret", path, len(secret), 2*MinSecretBytes)
	}
	return secret, nil
}
