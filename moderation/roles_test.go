package moderation

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestRolesTableIsDocumented keeps docs/admin.md#roles and Grants equal,
// row for row: the table people read is the one the code enforces.
func TestRolesTableIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/admin.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Roles\n")
	if !ok {
		t.Fatal("docs/admin.md has no Roles section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	if len(rows) != len(Grants) {
		t.Fatalf("docs list %d permissions, Grants %d", len(rows), len(Grants))
	}
	yes := func(g Grant, r Role) string {
		if slices.Contains(g.Roles, r) {
			return "yes"
		}
		return "no"
	}
	for i, g := range Grants {
		want := []string{"`" + string(g.Permission) + "`", g.What, yes(g, RoleOwner), yes(g, RoleModerator)}
		if len(rows[i]) < 4 || !slices.Equal(rows[i][:4], want) {
			t.Errorf("docs row %d is %q, Grants says %q", i+1, rows[i], want)
		}
	}
}

func TestMay(t *testing.T) {
	owner, mod := Actor{Role: RoleOwner}, Actor{Role: RoleModerator}
	if !owner.May(PermExport) || mod.May(PermExport) || mod.May(PermBlocklist) || !mod.May(PermModerate) {
		t.Error("export and blocklists are owners' alone; moderating is everyone's")
	}
	if owner.May("no-such-permission") || (Actor{}).May(PermModerate) {
		t.Error("an unknown permission or an actor without a role may nothing")
	}
}
