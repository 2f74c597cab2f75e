package protocol_test

import (
	"fmt"
	"log"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// The checksum of a configuration is taken over the canonical JSON of its
// values, so the same values written differently have the same checksum.
func ExampleChecksum() {
	c, err := protocol.Canonical([]byte(`{ "think_ms": 250, "agent_name": "<golden>" }`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(c))
	fmt.Println(protocol.Checksum(c))
	// Output:
	// {"agent_name":"<golden>","think_ms":250}
	// sha256:fc23cdd2a75ff189c543023e7ca9e76ce97f63e9bf0b8439cea44d475d62cb92
}
