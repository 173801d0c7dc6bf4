package moderation

// Permission names one thing the admin API lets somebody do. Every check of
// a right in the service goes through Actor.May with one of these, and
// Grants below decides, once, which roles hold it. docs/admin.md shows the
// same table, and a test keeps the two equal.
type Permission string

// The permissions, in the order of the documented table.
const (
	PermModerate     Permission = "moderate"      // list, read, search, approve, reject, spam, delete, restore, reply, counts
	PermAudit        Permission = "audit"         // read the audit log
	PermOwnAccount   Permission = "own-account"   // one's own password and notification settings
	PermTeam         Permission = "team"          // add and remove moderators, change roles, others' notification settings
	PermTokens       Permission = "tokens"        // create, list and revoke API tokens
	PermBlocklist    Permission = "blocklist"     // read and edit the blocklists (they hold emails and networks)
	PermForget       Permission = "forget"        // erase a commenter
	PermExport       Permission = "export"        // download comments with every email and IP hash
	PermImport       Permission = "import"        // import comments
	PermBackup       Permission = "backup"        // download the database, with every secret
	PermRotateSecret Permission = "rotate-secret" // replace the IP hash or form token secret (command line)
	PermRetrain      Permission = "retrain"       // rebuild the spam classifier from the stored decisions (command line)
)

// Grant is one row of the roles table: what the permission covers, in words
// for the docs, and the roles that hold it.
type Grant struct {
	Permission Permission
	What       string
	Roles      []Role
}

// Grants is the roles table of instance permissions. What a moderator may
// do on which site is the other half (siteroles.go): a site they do not
// work on is ErrNotFound before any permission is asked. RoleAdmin, the
// role of a site admin's API token, holds what moderators hold.
var Grants = []Grant{
	{PermModerate, "moderate comments: list, search, approve, reject, spam, delete, restore, reply", []Role{RoleOwner, RoleModerator, RoleAdmin}},
	{PermAudit, "see the audit log", []Role{RoleOwner, RoleModerator, RoleAdmin}},
	{PermOwnAccount, "change one's own password and notification settings", []Role{RoleOwner, RoleModerator, RoleAdmin}},
	{PermTeam, "add and remove moderators, change roles and others' notification settings", []Role{RoleOwner}},
	{PermTokens, "create, list and revoke API tokens", []Role{RoleOwner}},
	{PermBlocklist, "read and edit the blocklists (they hold emails and networks)", []Role{RoleOwner}},
	{PermForget, "erase a commenter", []Role{RoleOwner}},
	{PermExport, "export comments: the file carries every commenter's email and IP hash", []Role{RoleOwner}},
	{PermImport, "import comments", []Role{RoleOwner}},
	{PermBackup, "download a backup: the database with every secret", []Role{RoleOwner}},
	{PermRotateSecret, "rotate a server secret (command line only)", []Role{RoleOwner}},
	{PermRetrain, "rebuild the spam classifier from the stored decisions (command line only)", []Role{RoleOwner}},
}

var grantIndex = func() map[Permission][]Role {
	m := make(map[Permission][]Role, len(Grants))
	for _, g := range Grants {
		m[g.Permission] = g.Roles
	}
	return m
}()

// May reports whether the actor holds permission p. An unknown permission
// is held by nobody.
func (a Actor) May(p Permission) bool {
	for _, r := range grantIndex[p] {
		if a.Role == r {
			return true
		}
	}
	return false
}
