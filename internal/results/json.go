package results

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes r as indented JSON in the form of the current
// [Schema] (r.Schema names it; the suites set it to Schema). Evidence is
// written as it is, without escaping HTML, for people reading the file.
func WriteJSON(w io.Writer, r *Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// ReadError is why [ReadJSON] could not read a results file: it is not
// one, or it is of a schema ReadJSON does not read.
type ReadError struct {
	// Op names who read, for the message ("results" unless a caller sets
	// it).
	Op string
	// Schema is the file's schema when ReadJSON does not read it.
	Schema string
	// Err is why the file did not decode; nil for a schema it does not
	// read.
	Err error
}

func (e *ReadError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: not a results file: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("%s: schema %q, want %q or %q (written by another goldenpath version?)", e.Op, e.Schema, SchemaV1, Schema)
}

func (e *ReadError) Unwrap() error { return e.Err }

// ReadJSON reads results written by [WriteJSON] of this version or of an
// earlier one ([SchemaV1]), which it upgrades: the result is in the
// current model, its Schema the current one. A file of another schema is
// a [*ReadError] naming both.
func ReadJSON(rd io.Reader) (*Results, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(rd).Decode(&raw); err != nil {
		return nil, &ReadError{Op: "results", Err: err}
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, &ReadError{Op: "results", Err: err}
	}
	var (
		r   *Results
		err error
	)
	switch head.Schema {
	case Schema:
		r = new(Results)
		err = json.Unmarshal(raw, r)
	case SchemaV1:
		r, err = readV1(raw)
	default:
		return nil, &ReadError{Op: "results", Schema: head.Schema}
	}
	if err != nil {
		return nil, &ReadError{Op: "results", Err: err}
	}
	r.Schema = Schema
	return r, nil
}
