package main

import (
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// TestDependencyVersions keeps the libraries that parse hostile input at
// versions without known advisories.
func TestDependencyVersions(t *testing.T) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info")
	}
	least := map[string][3]int{"github.com/labstack/echo/v4": {4, 16, 0}, "github.com/microcosm-cc/bluemonday": {1, 0, 27}}
	for _, dep := range info.Deps {
		want, ok := least[dep.Path]
		if !ok {
			continue
		}
		delete(least, dep.Path)
		var got [3]int
		for i, part := range strings.SplitN(strings.TrimPrefix(dep.Version, "v"), ".", 3) {
			got[i], _ = strconv.Atoi(strings.FieldsFunc(part, func(r rune) bool { return r == '-' || r == '+' })[0])
		}
		for i := range got {
			if got[i] != want[i] {
				if got[i] < want[i] {
					t.Errorf("%s is %s, older than v%d.%d.%d", dep.Path, dep.Version, want[0], want[1], want[2])
				}
				break
			}
		}
	}
	for path := range least {
		t.Errorf("%s is not a dependency any more: update this test", path)
	}
}
