package logging_test

import (
	"encoding/base64"
	"fmt"
	"net/url"

	"github.com/operable-go/operable/logging"
)

// A Redactor masks outside the logs what the loggers mask in them: here,
// attributes of a span and a line of a debug page.
func ExampleRedactor() {
	known := &logging.KnownValues{}
	known.Add("s3cr3t/api+key") // as the service loads it
	r := logging.NewRedactor(logging.RedactOptions{Known: known})

	fmt.Println(r.Attr("http.request.header.x-secret-key", "abc123"))
	fmt.Println(r.Attr("url.full", "https://api.example.com/items?api_key=abc123&page=2"))
	fmt.Println(r.Attr("url.query", "key="+url.QueryEscape("s3cr3t/api+key")+"&v=2"))
	fmt.Println(r.String("upload to https://b.s3.amazonaws.com/o?X-Amz-Expires=900&X-Amz-Signature=5d672d79c1 failed"))
	fmt.Println(r.String("forwarded " + base64.StdEncoding.EncodeToString([]byte("s3cr3t/api+key")) + " upstream"))
	fmt.Println(r.Attr("service.name", "orders"))
	// Output:
	// [REDACTED]
	// https://api.example.com/items?api_key=[REDACTED]&page=2
	// key=[REDACTED]&v=2
	// upload to https://b.s3.amazonaws.com/o?X-Amz-Expires=900&X-Amz-Signature=[REDACTED] failed
	// forwarded [REDACTED] upstream
	// orders
}
