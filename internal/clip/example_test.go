package clip_test

import (
	"fmt"

	"github.com/operable-go/operable/internal/clip"
)

// A token the bound falls in is dropped whole: half of one would pass the
// redactor.
func ExampleString() {
	fmt.Println(clip.String("unknown method /made.up.Service/AVeryLongMethodName", 30))
	fmt.Println(clip.String("invalid token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2ln", 40))
	// Output:
	// unknown method …
	// invalid token …
}
