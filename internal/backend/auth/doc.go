// Package auth provides accounts and sessions for the reference backend:
// registration with bcrypt-hashed passwords, login that issues signed JWTs,
// verification of those tokens on every later call, and limits on failed
// logins per client.
//
// A [Service] is built once by [New] from a [backend.Store] and a signing
// secret, usually read by [LoadOrCreateSecret]:
//
//	secret, err := auth.LoadOrCreateSecret(dataDir)
//	...
//	svc, err := auth.New(store, secret) // auth.WithHashCost(bcrypt.MinCost) for load tests
//	...
//	sess, err := svc.Login(ctx, auth.ClientOf(r), email, password) // sess.Token for the client
//	claims, err := svc.Authenticate(ctx, token)                     // claims.UserID for the handler
//
// Every failure a client can cause is a [*backend.Error] whose code the
// HTTP and WebSocket layers map to a status: [backend.EINVALID] (400),
// [backend.ECONFLICT] (409), [backend.EUNAUTHORIZED] (401) and
// [backend.ERATELIMITED] (429, with a [*Throttled] cause saying when to
// retry).
//
// # Tokens
//
// Tokens are JWTs signed with HMAC-SHA256 carrying iss and aud
// ([Issuer], [Audience]), sub (the user id), email, iat, exp, a random jti
// and their type, twice: the JOSE header typ ([TypeAccess] or
// [TypeRefresh]) and the token_type claim ("access" or "refresh"), as
// RFC 8725 (JWT best current practices) asks. [Service.Verify] accepts
// HS256 only, so tokens with alg "none" or signed with another algorithm
// are refused, requires exp, iss and aud with our values, and takes access
// tokens only; [Service.Authenticate] also checks that the token's user
// exists; [Service.Refresh] takes refresh tokens only. Clients send a token
// as "Authorization: Bearer <token>" or, on a WebSocket upgrade, as the
// subprotocol pair "jwt-auth, jwt.<token>"; [TokenFromRequest] finds it in
// either place.
//
// # Failed logins
//
// Failures are counted per client ([ClientOf]: its IP address, an IPv6
// /64) and email: after [DefaultFailureLimit] within
// [DefaultFailureWindow] (see [WithFailureLimit]), further attempts from
// that client for that email, even with the right password, fail with
// [backend.ERATELIMITED] until the window, which opens at the first
// failure, has passed. Another client, such as the account's owner, is not
// affected: nobody can lock an account out by guessing at it. A client that
// fails [DefaultClientFailureLimit] times in a window on emails it never
// registered or logged in to (a password spray) is refused on such emails
// for the rest of it, while it keeps logging in to the accounts it is
// known for. Successful logins never count, so a load test may log the
// same users in as often as it likes. Attempts still in progress count
// against the limits, so a burst of concurrent guesses gets no more tries
// than a sequence would; concurrent logins beyond a limit wait, in turn,
// for earlier ones to finish instead of failing.
//
// Wrong passwords and unknown emails get the same reply and take the same
// time: an unknown email still spends one bcrypt comparison.
//
// # Secrets in logs
//
// [Secret] holds a password or token and logs as "REDACTED" through
// [log/slog] and fmt; [Session] logs without its token.
package auth
