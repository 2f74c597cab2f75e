package auth

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

func ExampleService_Login() {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	svc, err := New(newMemStore(), []byte("an example secret, at least 32 bytes long"),
		WithHashCost(bcrypt.MinCost), WithNow(now), WithIDs(func() string { return "u_ada" }))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := svc.Register(ctx, "203.0.113.7", "Ada@Example.com", "correct horse battery"); err != nil {
		fmt.Println(err)
		return
	}

	sess, err := svc.Login(ctx, "203.0.113.7", "ada@example.com", "correct horse battery")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logged in:", sess.User.ID, sess.User.Email, "for", sess.ExpiresIn)

	claims, err := svc.Verify(sess.Token)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verified:", claims.UserID, "until", claims.ExpiresAt.Format(time.RFC3339))

	_, err = svc.Login(ctx, "203.0.113.7", "ada@example.com", "wrong password")
	fmt.Println("wrong password:", backend.ErrorCode(err), "-", backend.ErrorMessage(err))
	// Output:
	// logged in: u_ada ada@example.com for 1h0m0s
	// verified: u_ada until 2026-01-02T04:04:05Z
	// wrong password: unauthorized - wrong email or password
}
