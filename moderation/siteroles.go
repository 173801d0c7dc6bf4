package moderation

import (
	"maps"
	"slices"
)

// SiteRole is what a moderator who is not an owner may do on one site.
type SiteRole string

// The rights on a site. An owner holds both on every site.
const (
	// SiteAdmin edits the site's settings and team, and moderates it.
	SiteAdmin SiteRole = "admin"
	// SiteModerator works the site's queue.
	SiteModerator SiteRole = "moderator"
)

// Valid reports whether r is a known site role.
func (r SiteRole) Valid() bool { return r == SiteAdmin || r == SiteModerator }

// RoleAdmin is the role an API token of one site's admin is created with.
const RoleAdmin Role = "admin"

// siteRole is the site role a token of role r holds on its site.
func siteRole(r Role) SiteRole {
	if r == RoleAdmin {
		return SiteAdmin
	}
	return SiteModerator
}

// Moderates reports whether the actor may work site's queue. Everything of
// a site the actor may not moderate is ErrNotFound to them, never
// ErrForbidden: they learn nothing of other sites, not even that they exist.
func (a Actor) Moderates(site string) bool {
	if a.Role == RoleOwner {
		return true
	}
	_, ok := a.Sites[site]
	return ok
}

// Administers reports whether the actor may change site's settings and team.
func (a Actor) Administers(site string) bool {
	return a.Role == RoleOwner || a.Sites[site] == SiteAdmin
}

// SiteIDs lists the sites the actor moderates, among every site's ids.
func (a Actor) SiteIDs(all []string) []string {
	if a.Role == RoleOwner {
		return all
	}
	return slices.Sorted(maps.Keys(a.Sites))
}

// actorOf is the actor a moderator signs in as.
func actorOf(m *Moderator, from string) Actor {
	return Actor{Name: m.Name, Role: m.Role, Sites: maps.Clone(m.Sites), From: from}
}

// mayModerate is ErrNotFound unless the actor moderates site.
func mayModerate(a Actor, site string) error {
	if !a.Moderates(site) {
		return ErrNotFound
	}
	return nil
}

// mayAct combines the two checks of an action on a site: a site the actor
// does not moderate is ErrNotFound (they learn nothing of it), and a
// permission their role lacks (Grants) is ErrForbidden.
func mayAct(a Actor, site string, p Permission) error {
	if err := mayModerate(a, site); err != nil {
		return err
	}
	if !a.May(p) {
		return ErrForbidden
	}
	return nil
}

// mayAdminister is mayAct for what an owner holds by permission and a
// site's admin holds on their site: its blocklist and its export.
func mayAdminister(a Actor, site string, p Permission) error {
	if err := mayModerate(a, site); err != nil {
		return err
	}
	if !a.May(p) && !a.Administers(site) {
		return ErrForbidden
	}
	return nil
}
