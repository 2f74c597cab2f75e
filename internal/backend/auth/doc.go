// Package auth provides accounts and sessions for the reference backend:
// registration with bcrypt-hashed passwords, login that issues signed JWTs,
// verification of those tokens on every later call, and a limit on failed
// logins per email.
//
// A [Service] is built once by [New] from a [backend.Store] and a signing
// secret, usually read by [LoadOrCreateSecret]:
//
//	secret, err := auth.LoadOrCreateSecret(dataDir)
//	...
//	svc, err := auth.New(store, secret) // auth.WithHashCost(bcrypt.MinCost) for load tests
//	...
//	sess, err := svc.Login(ctx, email, password) // sess.Token for the client
//	claims, err := svc.Verify(token)             // claims.UserID for the handler
//
// Every failure a client can cause is a [*backend.Error] whose code the
// HTTP and WebSocket layers map to a status: [backend.EINVALID] (400),
// [backend.ECONFLICT] (409), [backend.EUNAUTHORIZED] (401) and
// [backend.ERATELIMITED] (429).
//
// # Tokens
//
// Tokens are JWTs signed with HMAC-SHA256 carrying sub (the user id), iat,
// exp and a random jti, as docs/protocol.md section 1 describes. [Service.Verify]
// accepts HS256 only, so tokens with alg "none" or signed with another
// algorithm are refused, and it requires exp. Clients send a token as
// "Authorization: Bearer <token>" or, on a WebSocket upgrade, as the
// subprotocol pair "jwt-auth, jwt.<token>"; [TokenFromRequest] finds it in
// either place.
//
// # Failed logins
//
// After [DefaultFailureLimit] failed logins for one email within
// [DefaultFailureWindow] (see [WithFailureLimit]), further attempts for that
// email, even with the right password, fail with [backend.ERATELIMITED]
// until the window, which opens at the first failure, has passed. Successful logins never count, so a load
// test may log the same users in as often as it likes. Attempts still in
// progress count against the limit, so a burst of concurrent guesses gets no
// more tries than a sequence would; concurrent logins beyond the limit for
// one email wait for earlier ones to finish instead of failing.
//
// Wrong passwords and unknown emails get the same reply and take the same
// time: an unknown email still spends one bcrypt comparison.
//
// # Secrets in logs
//
// [Secret] holds a password or token and logs as "REDACTED" through
// [log/slog] and fmt; [Session] logs without its token.
package auth
