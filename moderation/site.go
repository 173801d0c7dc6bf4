package moderation

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DefaultSite is the site every database has: an installation from before
// sites existed keeps all its data in it, and a public request that names no
// site and comes from no known origin is for it.
const DefaultSite = "default"

// Site is one blog served by this Parley. Post keys, threads, counts,
// blocklists, audit entries and moderators' rights belong to one site; the
// same post key on two sites is two threads.
type Site struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Origins  []string     `json:"origins"`
	Settings SiteSettings `json:"settings"`
	Created  time.Time    `json:"created"`
}

// SiteSettings are what a site sets for itself. A nil field takes the
// instance default (the serve flags), so changing a flag still reaches every
// site that never chose otherwise.
type SiteSettings struct {
	// Moderation. Pre-moderation is always on: nothing is public before a
	// moderator (or the trust rule) approves it.
	TrustAfter *int `json:"trust_after,omitempty"`

	// The anti-spam pipeline.
	MinFillSeconds   *int  `json:"min_fill_seconds,omitempty"`
	MaxLinks         *int  `json:"max_links,omitempty"`
	DuplicateMinutes *int  `json:"duplicate_window_minutes,omitempty"`
	PoW              *bool `json:"pow,omitempty"`
	RetentionDays    *int  `json:"retention_days,omitempty"`

	// Notifications: the name emails are sent as, and which of the site's
	// moderators hear of new comments (nil: all of them).
	SenderName   *string   `json:"sender_name,omitempty"`
	NotifyPeople *[]string `json:"notify_moderators,omitempty"`

	// The widget.
	Language    *string `json:"language,omitempty"`
	Theme       *string `json:"theme,omitempty"`
	TitleSource *string `json:"title_source,omitempty"`
}

// Settings are a site's settings in effect: its own choices over the
// instance defaults.
type Settings struct {
	TrustAfter       int      `json:"trust_after"`
	MinFillSeconds   int      `json:"min_fill_seconds"`
	MaxLinks         int      `json:"max_links"`
	DuplicateMinutes int      `json:"duplicate_window_minutes"`
	PoW              bool     `json:"pow"`
	RetentionDays    int      `json:"retention_days"`
	SenderName       string   `json:"sender_name"`
	NotifyPeople     []string `json:"notify_moderators"` // nil: every moderator of the site
	Language         string   `json:"language"`
	Theme            string   `json:"theme"`
	TitleSource      string   `json:"title_source"`
}

// The widget's choices.
var (
	Themes       = []string{"auto", "light", "dark"}
	TitleSources = []string{"document", "og", "data-title"}
)

// DefaultSettings are the instance defaults before any flag changes them.
func DefaultSettings() Settings {
	return Settings{MinFillSeconds: 3, MaxLinks: 2, DuplicateMinutes: 10, SenderName: "Parley",
		Language: "en", Theme: "light", TitleSource: "data-title"}
}

// In returns the settings in effect for a site with these choices.
func (s SiteSettings) In(d Settings) Settings {
	pick(&d.TrustAfter, s.TrustAfter)
	pick(&d.MinFillSeconds, s.MinFillSeconds)
	pick(&d.MaxLinks, s.MaxLinks)
	pick(&d.DuplicateMinutes, s.DuplicateMinutes)
	pick(&d.PoW, s.PoW)
	pick(&d.RetentionDays, s.RetentionDays)
	pick(&d.SenderName, s.SenderName)
	pick(&d.NotifyPeople, s.NotifyPeople)
	pick(&d.Language, s.Language)
	pick(&d.Theme, s.Theme)
	pick(&d.TitleSource, s.TitleSource)
	return d
}

func pick[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

var (
	siteIDPattern   = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
)

// ValidSiteID reports whether id is a site id: a slug of 1 to 40 lower-case
// letters, digits and hyphens.
func ValidSiteID(id string) bool { return siteIDPattern.MatchString(id) }

// NormalizeOrigin returns an origin as browsers send it (scheme://host[:port],
// lower case, no default port, no path), or false if o is not one.
func NormalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if u.Scheme == "https" {
		host = strings.TrimSuffix(host, ":443")
	} else {
		host = strings.TrimSuffix(host, ":80")
	}
	return u.Scheme + "://" + host, true
}

// Check validates a site and puts its origins in normal form, sorted and
// without repeats. It returns a *ValidationError naming the fields.
func (site *Site) Check() error {
	fields := map[string]string{}
	if !ValidSiteID(site.ID) {
		fields["id"] = "must be 1 to 40 lower-case letters, digits or hyphens"
	}
	site.Name = strings.TrimSpace(site.Name)
	if site.Name == "" {
		site.Name = site.ID
	}
	if len(site.Name) > 80 || strings.ContainsFunc(site.Name, isInvisible) {
		fields["name"] = "must be at most 80 visible characters"
	}
	origins := make([]string, 0, len(site.Origins))
	for _, o := range site.Origins {
		n, ok := NormalizeOrigin(o)
		if !ok {
			fields["origins"] = "each must be an origin such as https://blog.example.com"
			break
		}
		origins = append(origins, n)
	}
	slices.Sort(origins)
	site.Origins = slices.Compact(origins)
	if len(site.Origins) > 50 {
		fields["origins"] = "at most 50 origins a site"
	}
	s := site.Settings
	for name, v := range map[string]*int{"trust_after": s.TrustAfter, "min_fill_seconds": s.MinFillSeconds,
		"duplicate_window_minutes": s.DuplicateMinutes, "retention_days": s.RetentionDays} {
		if v != nil && (*v < 0 || *v > 100000) {
			fields["settings."+name] = "must be between 0 and 100000"
		}
	}
	if v := s.MaxLinks; v != nil && (*v < -1 || *v > 1000) {
		fields["settings.max_links"] = "must be between -1 (off) and 1000"
	}
	if v := s.SenderName; v != nil && (len(*v) > 80 || strings.ContainsFunc(*v, isInvisible) || strings.ContainsAny(*v, "<>\"")) {
		fields["settings.sender_name"] = "must be at most 80 visible characters without <, > or quotes"
	}
	if v := s.Language; v != nil && !languagePattern.MatchString(*v) {
		fields["settings.language"] = "must be a language tag such as en or pt-BR"
	}
	if v := s.Theme; v != nil && !slices.Contains(Themes, *v) {
		fields["settings.theme"] = "must be one of " + strings.Join(Themes, ", ")
	}
	if v := s.TitleSource; v != nil && !slices.Contains(TitleSources, *v) {
		fields["settings.title_source"] = "must be one of " + strings.Join(TitleSources, ", ")
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// SiteStore is what sites need from a database.
type SiteStore interface {
	// Sites lists every site by id.
	Sites(ctx context.Context) ([]*Site, error)
	// Site returns one site, or ErrNotFound.
	Site(ctx context.Context, id string) (*Site, error)
	// SiteByOrigin returns the site an origin belongs to, or ErrNotFound.
	SiteByOrigin(ctx context.Context, origin string) (*Site, error)
	// PutSite creates (create true; ErrConflict if the id exists) or
	// replaces a site, claiming its origins and releasing the ones it no
	// longer has, in one transaction: an origin held by another site is
	// ErrOriginTaken. entry is recorded in the instance audit log.
	PutSite(ctx context.Context, site *Site, create bool, entry *AuditEntry) error
	// DeleteSite removes a site with all its comments, blocklist and audit
	// entries, and its origins; ErrNotFound if there is none, ErrSiteInUse
	// if it holds comments and withComments is false. The default site
	// cannot be removed (ErrForbidden).
	DeleteSite(ctx context.Context, id string, withComments bool, entry *AuditEntry) error
}

// Errors of sites.
var (
	ErrOriginTaken = Errorf(CodeConflict, "One of these origins already belongs to another site.")
	ErrSiteInUse   = Errorf(CodeConflict, "This site still holds comments; remove them too or keep the site.")
)

// Settings returns the settings in effect on site: its own choices over the
// instance defaults. A site that cannot be read has the defaults.
func (s *Service) Settings(ctx context.Context, site string) Settings {
	st, err := s.store.Site(ctx, site)
	if err != nil {
		return s.defaults
	}
	return st.Settings.In(s.defaults)
}

// Defaults are the instance's settings, which every site starts from.
func (s *Service) Defaults() Settings { return s.defaults }

func (s *Service) sites() SiteStore { return s.store }

// siteIDs is []string{site}, or every site's id when site is "".
func (s *Service) siteIDs(ctx context.Context, site string) ([]string, error) {
	if site != "" {
		if _, err := s.store.Site(ctx, site); err != nil {
			return nil, err
		}
		return []string{site}, nil
	}
	all, err := s.store.Sites(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(all))
	for i, st := range all {
		ids[i] = st.ID
	}
	return ids, nil
}
