package clip_test

import (
	"fmt"

	"github.com/operable-go/operable/internal/clip"
)

func ExampleString() {
	fmt.Println(clip.String("/made.up.Service/AVeryLongMethodName", 20))
	// Output:
	// /made.up.Service/AVe…
}
