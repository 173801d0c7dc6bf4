package moderation

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Blocklist is what owners refuse outright: a submission matching any entry
// is filed as spam (kept, restorable), never dropped.
//
//   - Words: words or phrases, matched as whole words in the body, author
//     name and website, whatever the case, spacing and punctuation.
//   - Emails: an address ("bot@example.com") matches that address; a
//     domain ("example.com" or "@example.com") matches email addresses and
//     websites on that domain and its subdomains.
//   - Networks: client networks in CIDR form ("203.0.113.0/24"; a bare
//     address is one host), matched against the client's IP at submission.
type Blocklist struct {
	Words    []string `json:"words"`
	Emails   []string `json:"emails"`
	Networks []string `json:"networks"`
}

// BlocklistStore is the part of Store that keeps each site's blocklist.
type BlocklistStore interface {
	// Blocklist returns a site's stored blocklist (empty lists when none).
	Blocklist(ctx context.Context, site string) (Blocklist, error)
	// UpdateBlocklist loads a site's blocklist, lets change edit it, and
	// saves it with the audit entry, in one transaction; change's error is
	// returned.
	UpdateBlocklist(ctx context.Context, site string, change func(*Blocklist) error, entry *AuditEntry) error
}

// The kinds of blocklist entries, as the API and command line name them.
const (
	BlockWords    = "words"
	BlockEmails   = "emails"
	BlockNetworks = "networks"
)

// Limits that keep the check fast and the list readable.
const (
	maxBlocklistEntries = 5000
	maxBlocklistEntry   = 254
)

// Blocklist returns a site's blocklist to owners and the site's admins: it
// holds emails and networks, so the site's other moderators may not read it.
func (f *SpamFilter) Blocklist(ctx context.Context, actor Actor, site string) (Blocklist, error) {
	if err := mayAdminister(actor, site, PermBlocklist); err != nil {
		return Blocklist{}, err
	}
	b, err := f.store.Blocklist(ctx, site)
	return b.orEmpty(), err
}

// SetBlocklist replaces the whole blocklist; only owners may. Entries are
// cleaned (trimmed, lowercased, networks in canonical form, sorted, without
// repeats); an entry that cannot be understood refuses the whole change.
func (f *SpamFilter) SetBlocklist(ctx context.Context, actor Actor, site string, b Blocklist) (Blocklist, error) {
	return f.editBlocklist(ctx, actor, site, "blocklist set", func(stored *Blocklist) { *stored = b })
}

// AddToBlocklist adds values to one kind of entry; only owners may.
func (f *SpamFilter) AddToBlocklist(ctx context.Context, actor Actor, site, kind string, values ...string) (Blocklist, error) {
	return f.editKind(ctx, actor, site, kind, "blocklist add", func(list []string) []string { return append(list, values...) })
}

// RemoveFromBlocklist removes values from one kind of entry; only owners may.
// Values are cleaned first, so "Example.COM" removes "example.com".
func (f *SpamFilter) RemoveFromBlocklist(ctx context.Context, actor Actor, site, kind string, values ...string) (Blocklist, error) {
	var drop []string
	for _, v := range values {
		if clean, err := cleanEntry(kind, v); err == nil {
			drop = append(drop, clean)
		}
	}
	return f.editKind(ctx, actor, site, kind, "blocklist remove", func(list []string) []string {
		return slices.DeleteFunc(list, func(v string) bool { return slices.Contains(drop, v) })
	})
}

func (f *SpamFilter) editKind(ctx context.Context, actor Actor, site, kind, action string, edit func([]string) []string) (Blocklist, error) {
	if kind = BlocklistKind(kind); kind == "" {
		return Blocklist{}, invalid("kind", "must be words, emails or networks")
	}
	return f.editBlocklist(ctx, actor, site, action, func(b *Blocklist) {
		list := b.kind(kind)
		*list = edit(*list)
	})
}

// Owners and a site's admins may edit its blocklist.
func (f *SpamFilter) editBlocklist(ctx context.Context, actor Actor, site, action string, edit func(*Blocklist)) (Blocklist, error) {
	if err := mayAdminister(actor, site, PermBlocklist); err != nil {
		return Blocklist{}, err
	}
	var saved Blocklist
	entry := &AuditEntry{Site: site, At: f.now(), Actor: actor.Name, Action: action, From: actor.From}
	err := f.store.UpdateBlocklist(ctx, site, func(b *Blocklist) error {
		edit(b)
		if err := b.clean(); err != nil {
			return err
		}
		saved = *b
		return nil
	}, entry)
	if err != nil {
		return Blocklist{}, err
	}
	m, err := newBlockMatcher(saved)
	if err != nil {
		return Blocklist{}, err
	}
	f.blocks.Store(site, m)
	if f.peers != nil {
		f.peers.AnnounceChange(ctx, partBlocklist, site)
	}
	return saved.orEmpty(), nil
}

// partBlocklist is the peer note of a blocklist edit.
const partBlocklist = "blocklist"

// ShareWith keeps the filter's blocklists in step with other processes on
// the database through svc (see Service.FollowPeers): its edits are
// announced, and others' edits drop the blocklist it holds, which then
// loads afresh. Call it before serving.
func (f *SpamFilter) ShareWith(svc *Service) {
	f.peers = svc
	svc.SubscribeRemote(partBlocklist, func(site string) {
		if site == "" {
			f.blocks.Clear()
			return
		}
		f.blocks.Delete(site)
	})
}

// blocklistKind accepts a kind in the singular or the plural.
func BlocklistKind(kind string) string {
	switch strings.ToLower(kind) {
	case "word", "words", "phrase", "phrases":
		return BlockWords
	case "email", "emails", "domain", "domains":
		return BlockEmails
	case "network", "networks", "ip", "ips":
		return BlockNetworks
	}
	return ""
}

func (b *Blocklist) kind(kind string) *[]string {
	switch kind {
	case BlockWords:
		return &b.Words
	case BlockEmails:
		return &b.Emails
	}
	return &b.Networks
}

func (b Blocklist) orEmpty() Blocklist {
	for _, l := range []*[]string{&b.Words, &b.Emails, &b.Networks} {
		if *l == nil {
			*l = []string{}
		}
	}
	return b
}

// clean puts every entry in canonical form, or names the ones it cannot read.
func (b *Blocklist) clean() error {
	fields := map[string]string{}
	for _, kind := range []string{BlockWords, BlockEmails, BlockNetworks} {
		list := b.kind(kind)
		if len(*list) > maxBlocklistEntries {
			fields[kind] = fmt.Sprintf("must have at most %d entries", maxBlocklistEntries)
			continue
		}
		out := make([]string, 0, len(*list))
		for _, v := range *list {
			clean, err := cleanEntry(kind, v)
			if err != nil {
				fields[kind] = fmt.Sprintf("%q %s", truncate(v, 60), err)
				break
			}
			out = append(out, clean)
		}
		slices.Sort(out)
		*list = slices.Compact(out)
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

type entryError string

func (e entryError) Error() string { return string(e) }

func cleanEntry(kind, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", entryError("is empty")
	case len(v) > maxBlocklistEntry:
		return "", entryError(fmt.Sprintf("is longer than %d bytes", maxBlocklistEntry))
	case strings.ContainsFunc(v, isControlOrInvisible):
		return "", entryError("contains control or invisible characters")
	}
	switch BlocklistKind(kind) {
	case BlockWords:
		if w := strings.TrimSpace(normalizeText(v)); w != "" {
			return w, nil
		}
		return "", entryError("has no letters or digits")
	case BlockEmails:
		v = strings.ToLower(v)
		local, domain, isAddress := strings.Cut(v, "@")
		if !isAddress {
			domain = local
		} else if local == "" {
			isAddress = false
		}
		if !validDomain(domain) || (isAddress && strings.ContainsAny(local, " ,;<>")) {
			return "", entryError("is not an email address or a domain like example.com")
		}
		if isAddress {
			return local + "@" + domain, nil
		}
		return domain, nil
	case BlockNetworks:
		if p, err := netip.ParsePrefix(v); err == nil {
			if p.Addr().Is4In6() && p.Bits() >= 96 { // clients are matched as plain IPv4
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			return p.Masked().String(), nil
		}
		if a, err := netip.ParseAddr(v); err == nil {
			return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String(), nil
		}
		return "", entryError("is not a network like 203.0.113.0/24 or an address like 203.0.113.7")
	}
	return "", entryError("is of an unknown kind")
}

func isControlOrInvisible(r rune) bool { return r < 0x20 || r == 0x7f || isInvisible(r) }

func validDomain(d string) bool {
	if !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	return !strings.ContainsFunc(d, func(r rune) bool {
		return !(r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f)
	})
}

// blockMatcher is a blocklist compiled for matching.
type blockMatcher struct {
	// phrases by their first word, each normalized and padded with spaces,
	// so one pass over a text's words finds any of thousands of entries.
	phrases   map[string][]string
	addresses map[string]bool
	domains   []string
	networks  []netip.Prefix
}

func newBlockMatcher(b Blocklist) (*blockMatcher, error) {
	m := &blockMatcher{phrases: map[string][]string{}, addresses: map[string]bool{}}
	for _, w := range b.Words {
		first, _, _ := strings.Cut(w, " ")
		m.phrases[first] = append(m.phrases[first], " "+w+" ")
	}
	for _, e := range b.Emails {
		if strings.Contains(e, "@") {
			m.addresses[e] = true
		} else {
			m.domains = append(m.domains, e)
		}
	}
	for _, n := range b.Networks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("stored blocklist network %q: %w", n, err)
		}
		m.networks = append(m.networks, p)
	}
	return m, nil
}

// match returns why sub is blocked, or "".
func (m *blockMatcher) match(sub *Submission, ip string) string {
	if addr, err := netip.ParseAddr(ip); err == nil {
		addr = addr.Unmap()
		for _, p := range m.networks {
			if p.Contains(addr) {
				return "blocklist: client network " + p.String()
			}
		}
	}
	email := strings.ToLower(sub.Email)
	if m.addresses[email] {
		return "blocklist: email address " + email
	}
	_, emailDomain, _ := strings.Cut(email, "@")
	var site string
	if u, err := url.Parse(sub.Website); err == nil {
		site = strings.ToLower(u.Hostname())
	}
	for _, d := range m.domains {
		switch {
		case onDomain(emailDomain, d):
			return "blocklist: email domain " + d
		case onDomain(site, d):
			return "blocklist: website domain " + d
		}
	}
	if len(m.phrases) > 0 {
		for _, text := range []string{sub.Body, sub.Author, sub.Website} {
			if w := m.findPhrase(normalizeText(text)); w != "" {
				return fmt.Sprintf("blocklist: word %q", w)
			}
		}
	}
	return ""
}

// findPhrase returns the first blocked phrase in a normalized text, or "".
func (m *blockMatcher) findPhrase(norm string) string {
	for at := 0; at < len(norm)-1; {
		end := at + 1 + strings.IndexByte(norm[at+1:], ' ')
		for _, p := range m.phrases[norm[at+1:end]] {
			if strings.HasPrefix(norm[at:], p) {
				return strings.TrimSpace(p)
			}
		}
		at = end
	}
	return ""
}

func onDomain(host, domain string) bool {
	return host != "" && (host == domain || strings.HasSuffix(host, "."+domain))
}

func (f *SpamFilter) checkBlocklist(ctx context.Context, sub *Submission, client Client) (string, error) {
	site := DefaultSite
	if sub.site != nil {
		site = sub.site.ID
	}
	if m, ok := f.blocks.Load(site); ok {
		return m.(*blockMatcher).match(sub, client.IP), nil
	}
	b, err := f.store.Blocklist(ctx, site)
	if err != nil {
		return "", err
	}
	m, err := newBlockMatcher(b)
	if err != nil {
		return "", err
	}
	f.blocks.LoadOrStore(site, m)
	return m.match(sub, client.IP), nil
}
