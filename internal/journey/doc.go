// Package journey drives one virtual user along the golden path of a
// real-time agent backend and judges every frame it receives: log in, open a
// WebSocket, wait for connection_established, send one or more
// user_messages, follow each run's events to its answer, close, and
// optionally read the configuration and the thread store over HTTP.
//
// It is the load side's unit of work. The load engine calls [Run] once per
// virtual user, thousands at a time, with one shared [Target]; each call
// returns a [Result] holding the user's phase timings, the server's own
// timings, the protocol [Violation]s found, and the first fatal [Error].
// Run never panics and never returns a nil Result.
//
// [Start] is Run without a goroutine held while the user waits: it
// returns at once and calls back with the Result. The built-in journey
// is then a state machine whose socket is read by an epoll loop (one
// goroutine per core, Linux) that reads every ready socket into one
// buffer, reassembles RFC 6455 messages and hands each, with the time its
// last byte arrived (the kernel's note of it, SO_TIMESTAMPNS: a loop that
// reads late lengthens no phase, and the wait is [Result.ReadLag]), to
// the oracle and the journey. Against a plain http://
// target reached without a proxy, through the Target's own client and
// dialer, its login and upgrade also go out on raw non-blocking sockets
// read by those loops (their replies parsed by net/http): nothing in the
// journey blocks. Otherwise its login, the upgrade and the store checks
// run on a bounded pool of workers through net/http and the Dialer. A
// connected user so costs a few KiB of heap and no stack, and one process
// holds tens of thousands (docs/benchmarks.md). TLS sockets, and every
// socket on other platforms, keep a reader goroutine each; journeys of a
// profile run on a goroutine of their own.
//
// # Phases
//
// Every duration is measured on the monotonic clock (an arrival the
// kernel noted is the read's monotonic time less the lag between the two,
// itself read on the wall clock) and named by a Phase constant: [PhaseLogin], [PhaseWSConnect] (dial start to HTTP 101),
// [PhaseWSReady] (101 to connection_established; none when the two came
// in one read, see [Result.ReadyUnseen]), [PhaseFirstEvent]
// (request sent to agent_started: the server took the request),
// [PhaseFirstToken] (request sent to the first agent_thinking, the first
// content of the model: time to first token), [PhaseAgentExecution]
// (agent_started to agent_completed), [PhaseAnswer] (request sent to
// agent_completed: the whole wait a user lives), [PhaseInterEvent] (the gap between consecutive events of
// a run; several samples per run), [PhaseResponseDelivery] (the server's
// completed_at to receipt, corrected for clock offset; see [ClockOffset]),
// [PhaseJourney] (login start to the last answer), [PhaseConfigAccess] and
// [PhaseDBOperation].
//
// # The oracle
//
// An [Oracle] judges the frames of one connection against the wire
// protocol: seq numbering (a gap is a lost frame, a repeat a duplicate, a
// step back a reorder), the envelope, the event grammar of each run, and
// ownership (every event belongs to this user and to a request sent on this
// socket; every answer quotes its request). It is exported so that suites
// that open their own sockets judge them by the same rules.
//
// # Raw connections
//
// Checks that need control a journey does not give — dropping a
// connection mid-run, writing into chosen threads — use the same wire
// client piecewise: [Dial] logs in, opens the WebSocket and waits for
// connection_established, and the [Conn] it returns sends requests
// ([Conn.Ask]), follows them ([Conn.Await]), vanishes ([Conn.Abort]) or
// closes ([Conn.Close]), with an [Oracle] judging every frame as in [Run].
// [Target.JSON] makes one authenticated JSON call of the HTTP API.
//
// # Failures
//
// A failure that ends the journey is an [*Error] with a Fail* kind
// ([FailHTTPStatus], [FailConnect], [FailClose], [FailTimeout],
// [FailProtocol], [FailCancelled], ...) and the phase it happened in. A
// cancelled context gives [FailCancelled], which the load engine does not
// count against the target. Everything else the oracle finds is a
// [Violation]; the journey goes on.
//
// Samples of offending frames and bodies are truncated and have tokens
// redacted ([Redact]); an [Account] never logs its password.
package journey
