package testbed

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzReadAccounts reads --users-file CSV files. Every account read has an
// email with an @ and a password; written back the way `goldenpath users
// create` writes them (a header, then csv.Writer rows), the accounts read
// back the same: ReadAccounts(write(ReadAccounts(x))) == ReadAccounts(x).
func FuzzReadAccounts(f *testing.F) {
	for _, s := range []string{
		"email,password\nvu1@example.test,password1\nvu2@example.test,password2\n",
		"a@b,pw\r\n\"c@d\",\"p,w \"\"quoted\"\"\"\n",
		"EMAIL,PASSWORD\n a@b, leading space\n",
		"a@b,\"multi\nline\"\n",
		"email,password\n",
		"a@b,pw,extra\n",
		"\xef\xbb\xbfemail,password\na@b,pw\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "users.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		accts, err := ReadAccounts(path)
		if err != nil {
			return
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.Write([]string{"email", "password"})
		for _, a := range accts {
			if !strings.Contains(a.Email, "@") || a.Password == "" {
				t.Fatalf("ReadAccounts(%q) gave the account %q, %q; want an email with @ and a password", data, a.Email, a.Password)
			}
			_ = w.Write([]string{a.Email, a.Password})
		}
		w.Flush()
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		back, err := ReadAccounts(path)
		if err != nil || !reflect.DeepEqual(back, accts) {
			t.Fatalf("ReadAccounts(%q) = %q, %v; want %q, the accounts of %q", b.Bytes(), back, err, accts, data)
		}
	})
}
