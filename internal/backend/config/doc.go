// Package config provides the reference backend's run-time configuration:
// typed [Settings] built from defaults, a file, the environment and flags,
// served as a versioned [Snapshot] with a checksum, and replaced while the
// backend runs (an admin PUT or a SIGHUP reload) by an atomic swap, so that
// readers always see one whole snapshot.
//
// A [Store] holds the current snapshot. [Store.Snapshot] is a lock-free
// atomic load; [Store.Replace] validates new values, gives them the next
// version and swaps them in. The HTTP layer serves a snapshot as the body of
// GET /api/v1/config ([protocol.ConfigSnapshot]).
//
// # Values
//
// The values of a snapshot are one flat JSON object, the "values" of the
// wire protocol. Its known keys, listed by [Keys], are typed and checked:
//
//	agent_name               string, 1 to 64 characters     default "golden-agent"
//	think_ms                 integer, 0 to 600000            default 200
//	thinking_events          integer, 1 to 100               default 1
//	tool_calls               integer, 0 to 50                default 1
//	heartbeat_ms             integer, 100 to 3600000         default 15000
//	max_runs_per_connection  integer, 1 to 4096              default 64
//	send_queue               integer, 16 to 65536            default 256
//
// A known key of the wrong type or out of range is an [*backend.Error] with
// code [backend.EINVALID] that names the key, the bad value and what is
// accepted; nothing is swapped. An integer key accepts any JSON number whose
// value is an integer (200, 2e2 and 200.0 are all 200; 200.5 is refused).
//
// Values are replaced wholesale: keys absent from an update are gone, except
// that known keys absent from it take their default values, so that the
// [Settings] of every snapshot are complete and the values served show what
// the backend actually uses.
//
// Unknown keys are kept and served back unchanged, whatever their JSON type,
// nested objects and arrays included. This is deliberate: the values object
// belongs to the operator as much as to the backend, and the conformance
// probe PUTs a key of its own (probe_nonce) and expects it back. Files are
// stricter (see Loading).
//
// Numbers are kept exactly as the updater wrote them (1.50 stays 1.50, 1e3
// stays 1e3). The values of a snapshot are canonical JSON as defined by
// [protocol.Canonical]: keys sorted bytewise, no whitespace, no HTML escaping;
// the checksum is [protocol.Checksum] of those bytes.
//
// When serving a snapshot, encode with a [json.Encoder] on which
// SetEscapeHTML(false) was called: [json.Marshal] escapes <, > and & even
// inside a [json.RawMessage], and the values served would not be the
// canonical bytes the protocol promises.
//
// # Loading
//
// [Load] builds the initial values of a backend from, in rising order of
// precedence, the defaults, a configuration file, environment variables
// and the command line's flags. The file is YAML (JSON is YAML too): a
// mapping of the known keys. It is typed configuration, so an unknown key in
// it is an error. An environment variable is named [EnvPrefix] followed by
// the key in upper case, as in GOLDENPATH_THINK_MS=0; variables with the
// prefix that name no known key are left alone, as they may be meant for
// other parts of the program. Flags use the key names. Every error names its
// source and says what is accepted.
//
// # Faults
//
// Two options inject deliberate defects for the load side to detect. They
// are off unless asked for, and the clean path does not depend on them.
//
//   - [WithDelay] (fault slow-config) makes every [Store.Snapshot] call
//     sleep first.
//   - [WithTorn] (fault config-torn) keeps the version, values, checksum and
//     settings in separate atomic fields, written one by one with pauses in
//     between and read one by one, so a reader can see a version, values and
//     checksum that do not belong together. There is no data race: the
//     defect is a torn snapshot, visible from outside.
package config
