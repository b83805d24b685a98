package schedules

import (
	"bytes"
	_ "embed" // the demo registry
)

//go:embed testdata/sonla-demo.yaml
var demoRegistry []byte

// DemoRegistry returns the sample registry of seven real Sơn La
// commune-level units that `make run` loads.
func DemoRegistry() (*Registry, error) {
	return ParseRegistry("sonla-demo.yaml", bytes.NewReader(demoRegistry))
}
