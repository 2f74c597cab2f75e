package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Canonical returns the canonical JSON of a configuration values object:
// object keys sorted bytewise at every level, no insignificant whitespace,
// no HTML escaping, and numbers exactly as they were written. It fails when
// raw is not a JSON object.
func Canonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("protocol: values are not a JSON object: %w", err)
	}
	if v == nil {
		return nil, errors.New("protocol: values are null, want a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("protocol: values have trailing data after the object")
	}
	return CanonicalValue(v)
}

// CanonicalValue encodes a value decoded with json.Decoder.UseNumber (maps,
// slices, json.Number, strings, bools, nil) in canonical form.
func CanonicalValue(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("protocol: encode canonical JSON: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Checksum returns "sha256:<hex>" of canonical JSON bytes.
func Checksum(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// VerifyChecksum recomputes the checksum of a values object and reports
// whether it equals want.
func VerifyChecksum(values []byte, want string) (bool, error) {
	c, err := Canonical(values)
	if err != nil {
		return false, err
	}
	return Checksum(c) == want, nil
}
