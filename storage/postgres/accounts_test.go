package postgres

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

var accountsT0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// withSite makes a site row as SiteStore would, for the tables that need one.
func withSite(t *testing.T, db *DB, id string) {
	t.Helper()
	_, err := db.pool.Exec(context.Background(), "INSERT INTO sites (id, created, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		id, accountsT0, &moderation.Site{ID: id, Name: id, Origins: []string{}, Created: accountsT0})
	if err != nil {
		t.Fatal(err)
	}
}

// auditRows returns the audit documents of site in order of writing.
func auditRows(t *testing.T, db *DB, site string) []moderation.AuditEntry {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), "SELECT seq, doc FROM audit WHERE site = $1 ORDER BY seq", site)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []moderation.AuditEntry
	for rows.Next() {
		var seq uint64
		var e moderation.AuditEntry
		if err := rows.Scan(&seq, &e); err != nil {
			t.Fatal(err)
		}
		e.Seq = seq
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func owner(name string) *moderation.Moderator {
	return &moderation.Moderator{Name: name, Role: moderation.RoleOwner, PasswordHash: []byte("$2a$10$hash-of-" + name), Created: accountsT0}
}

func TestModerators(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	bob := &moderation.Moderator{Name: "bob", Role: moderation.RoleModerator, PasswordHash: []byte("h"), Created: accountsT0.Add(time.Second),
		Sites: map[string]moderation.SiteRole{moderation.DefaultSite: moderation.SiteModerator}}
	for _, m := range []*moderation.Moderator{owner("Admin"), bob} {
		if err := db.CreateModerator(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// The name folds: a second admin in other case or spacing is the same person.
	for _, name := range []string{"admin", " ADMIN ", "Admin"} {
		if err := db.CreateModerator(ctx, owner(name)); !errors.Is(err, moderation.ErrConflict) {
			t.Errorf("CreateModerator(%q) = %v, want ErrConflict", name, err)
		}
		m, err := db.Moderator(ctx, name)
		if err != nil || !reflect.DeepEqual(m, owner("Admin")) {
			t.Errorf("Moderator(%q) = %+v, %v; want Admin", name, m, err)
		}
	}
	if _, err := db.Moderator(ctx, "carol"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("Moderator(carol) = %v, want ErrNotFound", err)
	}
	all, err := db.Moderators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Byte order of the names, as bbolt's keys: "A" < "b".
	if want := []*moderation.Moderator{owner("Admin"), bob}; !reflect.DeepEqual(all, want) {
		t.Errorf("Moderators = %+v, want %+v", all, want)
	}

	err = db.UpdateModerator(ctx, "BOB", func(m *moderation.Moderator) error {
		m.Notify = moderation.NotifyPrefs{Email: "bob@example.com", EmailMode: "each"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := db.Moderator(ctx, "bob"); m.Notify.Email != "bob@example.com" || m.Name != "bob" {
		t.Errorf("after UpdateModerator: %+v", m)
	}
	refuse := errors.New("refused")
	if err := db.UpdateModerator(ctx, "bob", func(m *moderation.Moderator) error { m.Notify.Email = "x"; return refuse }); err != refuse {
		t.Errorf("UpdateModerator's own error = %v, want it as is", err)
	}
	if m, _ := db.Moderator(ctx, "bob"); m.Notify.Email != "bob@example.com" {
		t.Errorf("a refused UpdateModerator wrote %+v", m)
	}
	if err := db.UpdateModerator(ctx, "carol", func(*moderation.Moderator) error { return nil }); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("UpdateModerator(carol) = %v, want ErrNotFound", err)
	}
}

func TestTokens(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	a := &moderation.Token{ID: "tok-b", Name: "deploy", Role: moderation.RoleOwner, Hash: "hash-a", Created: accountsT0}
	b := &moderation.Token{ID: "tok-a", Name: "ci", Role: moderation.RoleModerator, Site: moderation.DefaultSite, Hash: "hash-b", Created: accountsT0}
	for _, tok := range []*moderation.Token{a, b} {
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateToken(ctx, &moderation.Token{ID: "tok-c", Hash: "hash-a"}); !errors.Is(err, moderation.ErrConflict) {
		t.Errorf("a second token with a hash = %v, want ErrConflict", err)
	}
	got, err := db.TokenByHash(ctx, "hash-a")
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("TokenByHash = %+v, %v; want %+v", got, err, a)
	}
	if _, err := db.TokenByHash(ctx, "nope"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("TokenByHash(nope) = %v, want ErrNotFound", err)
	}
	used := accountsT0.Add(time.Hour + 123456789)
	if err := db.TouchToken(ctx, "hash-a", used); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchToken(ctx, "nope", used); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("TouchToken(nope) = %v, want ErrNotFound", err)
	}
	want := *a
	want.LastUsed = used
	list, err := db.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || !reflect.DeepEqual(list[0], b) || !reflect.DeepEqual(list[1], &want) {
		t.Errorf("Tokens = %+v, want [%+v %+v] (by ID, last use kept to the nanosecond)", list, b, want)
	}
	// A zero time leaves the field out, as encoding/json's omitzero does.
	if err := db.TouchToken(ctx, "hash-a", time.Time{}); err != nil {
		t.Fatal(err)
	}
	var has bool
	if err := db.pool.QueryRow(ctx, "SELECT doc ? 'last_used' FROM tokens WHERE hash = 'hash-a'").Scan(&has); err != nil || has {
		t.Errorf("last_used kept after a zero touch (%v)", err)
	}
	if err := db.DeleteToken(ctx, "tok-b"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteToken(ctx, "tok-b"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("DeleteToken twice = %v, want ErrNotFound", err)
	}
	if _, err := db.TokenByHash(ctx, "hash-a"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("a revoked token is still found: %v", err)
	}
}

// A session made through one instance is seen, touched and ended through
// another: signing in does not tie a browser to one process.
func TestSessionsAcrossInstances(t *testing.T) {
	dbs := instances(t, 2)
	a, b := dbs[0], dbs[1]
	ctx := context.Background()
	s := &moderation.Session{ID: "sid-1", Moderator: "admin", CSRF: "csrf", Created: accountsT0, LastSeen: accountsT0, From: "iphash"}
	other := &moderation.Session{ID: "sid-2", Moderator: "bob", CSRF: "c2", Created: accountsT0, LastSeen: accountsT0}
	for _, x := range []*moderation.Session{s, other} {
		if err := a.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.CreateSession(ctx, s); !errors.Is(err, moderation.ErrConflict) {
		t.Errorf("CreateSession of an existing ID = %v, want ErrConflict", err)
	}
	got, err := b.Session(ctx, "sid-1")
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("Session through B = %+v, %v; want %+v", got, err, s)
	}
	later := accountsT0.Add(90 * time.Minute)
	if err := b.TouchSession(ctx, "sid-1", later); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Session(ctx, "sid-1"); !got.LastSeen.Equal(later) {
		t.Errorf("A sees last use %v after B touched it at %v", got.LastSeen, later)
	}
	var column time.Time
	if err := a.pool.QueryRow(ctx, "SELECT last_seen FROM sessions WHERE id = 'sid-1'").Scan(&column); err != nil || !column.Equal(later) {
		t.Errorf("last_seen column = %v (%v), want %v", column, err, later)
	}
	if err := b.DeleteSessions(ctx, func(x *moderation.Session) bool { return x.Moderator == "admin" }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, "sid-1"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("A still finds the session B ended: %v", err)
	}
	if _, err := a.Session(ctx, "sid-2"); err != nil {
		t.Errorf("a session match did not pick was ended: %v", err)
	}
	if err := a.TouchSession(ctx, "sid-1", later); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("TouchSession of an ended session = %v, want ErrNotFound", err)
	}
}

// DeleteSessions judges a session as it is when deleted: an idle purge
// racing a touch does not end the session just used.
func TestDeleteSessionsRechecksWhatItLocks(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	s := &moderation.Session{ID: "sid", Moderator: "admin", Created: accountsT0, LastSeen: accountsT0}
	if err := db.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	idle := func(x *moderation.Session) bool { return x.LastSeen.Equal(accountsT0) }
	calls := 0
	err := db.DeleteSessions(ctx, func(x *moderation.Session) bool {
		calls++
		if calls == 1 { // between the look and the lock, another instance touches it
			if err := db.TouchSession(ctx, "sid", accountsT0.Add(time.Minute)); err != nil {
				t.Error(err)
			}
		}
		return idle(x)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Session(ctx, "sid"); err != nil {
		t.Errorf("the session touched meanwhile was ended: %v", err)
	}
}

// Removing a moderator ends its sessions and records the audit entry, in
// one transaction; a refused edit writes nothing.
func TestEditModerator(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	for _, m := range []*moderation.Moderator{owner("admin"), owner("Bob")} {
		if err := db.CreateModerator(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*moderation.Session{
		{ID: "s1", Moderator: "Bob", Created: accountsT0, LastSeen: accountsT0},
		{ID: "s2", Moderator: "admin", Created: accountsT0, LastSeen: accountsT0},
	} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	err := db.EditModerator(ctx, "bob", func(m *moderation.Moderator, all []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
		if m.Name != "Bob" || len(all) != 2 {
			t.Errorf("edit got %q and %d moderators, want Bob and 2", m.Name, len(all))
		}
		m.Role = moderation.RoleModerator
		return false, &moderation.AuditEntry{At: accountsT0, Actor: "admin", Action: "moderator.role", Detail: "Bob as moderator"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := db.Moderator(ctx, "Bob"); m.Role != moderation.RoleModerator {
		t.Errorf("role after edit = %q", m.Role)
	}
	refuse := errors.New("refused")
	err = db.EditModerator(ctx, "Bob", func(m *moderation.Moderator, _ []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
		return true, &moderation.AuditEntry{Action: "never"}, refuse
	})
	if err != refuse {
		t.Errorf("edit's own error = %v, want it as is", err)
	}
	err = db.EditModerator(ctx, "BOB", func(m *moderation.Moderator, _ []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
		return true, &moderation.AuditEntry{At: accountsT0, Actor: "admin", Action: "moderator.remove", Detail: "Bob"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Moderator(ctx, "Bob"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("removed moderator still found: %v", err)
	}
	if _, err := db.Session(ctx, "s1"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("removed moderator's session survives: %v", err)
	}
	if _, err := db.Session(ctx, "s2"); err != nil {
		t.Errorf("another moderator's session was ended: %v", err)
	}
	var actions []string
	for _, e := range auditRows(t, db, "") {
		actions = append(actions, e.Action)
		if e.Seq == 0 {
			t.Errorf("audit entry %q has no sequence number", e.Action)
		}
	}
	if want := []string{"moderator.role", "moderator.remove"}; !reflect.DeepEqual(actions, want) {
		t.Errorf("audit = %q, want %q", actions, want)
	}
	err = db.EditModerator(ctx, "carol", func(*moderation.Moderator, []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
		t.Error("edit called for a moderator that does not exist")
		return false, nil, nil
	})
	if !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("EditModerator(carol) = %v, want ErrNotFound", err)
	}
}

// lastOwnerRule is the domain's: Parley keeps at least one owner.
var errLastOwner = errors.New("last owner")

func removeUnlessLastOwner(m *moderation.Moderator, all []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
	owners := 0
	for _, x := range all {
		if x.Role == moderation.RoleOwner {
			owners++
		}
	}
	if owners < 2 {
		return false, nil, errLastOwner
	}
	return true, &moderation.AuditEntry{At: accountsT0, Actor: "x", Action: "moderator.remove", Detail: m.Name}, nil
}

// Two instances each removing one of the two owners at once: the edits
// queue, the second sees the first's removal, and one owner remains.
func TestEditModeratorSerializesAcrossInstances(t *testing.T) {
	dbs := instances(t, 2)
	a, b := dbs[0], dbs[1]
	ctx := context.Background()
	for _, m := range []*moderation.Moderator{owner("ada"), owner("bob")} {
		if err := a.CreateModerator(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	inEdit, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	defer free() // a failure below must not leave the first transaction open: Close would wait for it
	first := make(chan error, 1)
	go func() {
		var once sync.Once
		first <- a.EditModerator(ctx, "ada", func(m *moderation.Moderator, all []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
			once.Do(func() { close(inEdit); <-release })
			return removeUnlessLastOwner(m, all)
		})
	}()
	<-inEdit
	second := make(chan error, 1)
	go func() { second <- b.EditModerator(ctx, "bob", removeUnlessLastOwner) }()
	waitForLockWait(t, a, second)
	free()
	if err := <-first; err != nil {
		t.Fatalf("first removal: %v", err)
	}
	if err := <-second; !errors.Is(err, errLastOwner) {
		t.Fatalf("second removal = %v, want the last-owner refusal: it must see the first's commit", err)
	}
	all, err := b.Moderators(ctx)
	if err != nil || len(all) != 1 || all[0].Name != "bob" {
		t.Fatalf("moderators after both = %+v (%v), want bob alone", all, err)
	}
}

// waitForLockWait returns once some session of db's database waits for a
// lock: the other transaction queued behind the one holding it. It fails if
// that transaction (whose result done gives) ends without waiting.
func waitForLockWait(t *testing.T, db *DB, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the second transaction ended (%v) without waiting for the first's locks", err)
		default:
		}
		var n int
		err := db.pool.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no transaction waited for the lock within 10s")
}

// Many edits and preference updates at once, through two instances, lose
// none of each other's changes.
func TestModeratorWritesLoseNothing(t *testing.T) {
	dbs := instances(t, 2)
	ctx := context.Background()
	if err := dbs[0].CreateModerator(ctx, &moderation.Moderator{Name: "bob", Role: moderation.RoleModerator, Created: accountsT0}); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- dbs[i%2].EditModerator(ctx, "bob", func(m *moderation.Moderator, _ []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
				if m.Sites == nil {
					m.Sites = map[string]moderation.SiteRole{}
				}
				m.Sites[fmt.Sprintf("site%02d", i)] = moderation.SiteModerator
				return false, &moderation.AuditEntry{At: accountsT0, Actor: "admin", Action: "moderator.sites"}, nil
			})
		}()
		go func() {
			defer wg.Done()
			errs <- dbs[(i+1)%2].UpdateModerator(ctx, "bob", func(m *moderation.Moderator) error {
				m.Notify.Email += "x"
				return nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	m, err := dbs[1].Moderator(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Sites) != n || len(m.Notify.Email) != n {
		t.Errorf("after %d edits and %d updates: %d sites, %d updates kept", n, n, len(m.Sites), len(m.Notify.Email))
	}
	if got := len(auditRows(t, dbs[0], "")); got != n {
		t.Errorf("%d audit entries, want %d", got, n)
	}
}

func TestRecordAudit(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	withSite(t, db, "blog")
	entries := []*moderation.AuditEntry{
		{At: accountsT0, Actor: "admin", Action: "login", From: "iphash"},
		{Site: "blog", At: accountsT0, Actor: "admin", Action: "site.edit", Detail: "blog"},
		{At: accountsT0.Add(time.Second), Actor: "admin", Action: "logout"},
	}
	for _, e := range entries {
		if err := db.RecordAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.Seq == 0 {
			t.Errorf("RecordAudit left %q without its sequence number", e.Action)
		}
	}
	if got := auditRows(t, db, ""); len(got) != 2 || got[0].Action != "login" || got[1].Action != "logout" || got[0].From != "iphash" {
		t.Errorf("instance audit = %+v", got)
	}
	if got := auditRows(t, db, "blog"); len(got) != 1 || !reflect.DeepEqual(got[0], *entries[1]) {
		t.Errorf("site audit = %+v, want %+v", got, *entries[1])
	}
	if err := db.RecordAudit(ctx, &moderation.AuditEntry{Site: "nope", Action: "x"}); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("RecordAudit on a missing site = %v, want ErrNotFound", err)
	}
}
