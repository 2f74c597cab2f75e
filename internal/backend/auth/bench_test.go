package auth

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkLogin measures one successful login (store lookup, bcrypt
// compare, token signing) at each hash cost; logins/s is per core.
// Cost 12 takes a quarter of a second or so per login: keep -benchtime short.
func BenchmarkLogin(b *testing.B) {
	for _, cost := range []int{4, 8, 10, 12} {
		b.Run(fmt.Sprintf("cost=%d", cost), func(b *testing.B) {
			svc, _ := newTestService(b, WithHashCost(cost))
			mustRegister(b, svc, ada, adaPW)
			ctx := context.Background()
			n := 0
			for b.Loop() {
				if _, err := svc.Login(ctx, testClient, ada, adaPW); err != nil {
					b.Fatalf("Login() = %v", err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "logins/s")
		})
	}
}

// BenchmarkVerify measures verifying one token, as every request does.
func BenchmarkVerify(b *testing.B) {
	svc, _ := newTestService(b)
	mustRegister(b, svc, ada, adaPW)
	sess, err := svc.Login(context.Background(), testClient, ada, adaPW)
	if err != nil {
		b.Fatalf("Login() = %v", err)
	}
	n := 0
	for b.Loop() {
		if _, err := svc.Verify(sess.Token); err != nil {
			b.Fatalf("Verify() = %v", err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "verifies/s")
}
