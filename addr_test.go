package operable_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/operable-go/operable"
)

// TestListenAddressesAreCheckedAtLoad: an address the listener would
// refuse, or two listeners on one port, is a config error (exit 78) at
// load, naming the variable and the expected form, never the value; an
// empty value is unset and means the default.
func TestListenAddressesAreCheckedAtLoad(t *testing.T) {
	cases := []struct {
		name, http, admin string
		problem           string // "" when the service starts
	}{
		{"port out of range", "127.0.0.1:99999", "127.0.0.1:0", "HTTP_ADDR (field HTTPAddr): the port is not a number from 0 to 65535"},
		{"named port", "127.0.0.1:http", "127.0.0.1:0", "HTTP_ADDR (field HTTPAddr): the port is not a number"},
		{"no port", "10.1.2.3", "127.0.0.1:0", "HTTP_ADDR (field HTTPAddr): not an address"},
		{"negative port", "127.0.0.1:0", "127.0.0.1:-1", "ADMIN_ADDR (field AdminAddr): the port is not a number"},
		{"same address", "127.0.0.1:18080", "127.0.0.1:18080", "ADMIN_ADDR (field AdminAddr): must differ from HTTP_ADDR"},
		{"every interface and one", ":18080", "127.0.0.1:18080", "ADMIN_ADDR (field AdminAddr): must differ from HTTP_ADDR"},
		{"unspecified and one", "127.0.0.1:18080", "0.0.0.0:18080", "ADMIN_ADDR (field AdminAddr): must differ from HTTP_ADDR"},
		{"two free ports", "127.0.0.1:0", "127.0.0.1:0", ""},
		{"one port on two hosts", "127.0.0.1:18080", "127.0.0.2:18080", ""},
		{"empty is the default", "", "127.0.0.1:0", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard,
				Environ: map[string]string{"HTTP_ADDR": tc.http, "ADMIN_ADDR": tc.admin}})
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("New() = %v, want a service", err)
				}
				defer s.Close(context.Background())
				if tc.http == "" && s.Config().HTTPAddr != ":8080" {
					t.Errorf("HTTP_ADDR empty gave %q, want the default :8080", s.Config().HTTPAddr)
				}
				return
			}
			if operable.ExitCode(err) != 78 || !strings.Contains(fmt.Sprint(err), tc.problem) {
				t.Fatalf("New() = %v, want exit 78 with %q", err, tc.problem)
			}
			for _, v := range []string{tc.http, tc.admin} {
				if strings.Contains(fmt.Sprint(err), v) {
					t.Errorf("the error quotes the value %q: %v", v, err)
				}
			}
		})
	}
}
