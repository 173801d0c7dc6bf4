package moderation

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// SitePatch is a change to a site; nil fields stay as they are. Settings,
// when given, replace the site's settings whole: a setting left out goes
// back to the instance default.
type SitePatch struct {
	Name     *string       `json:"name"`
	Origins  *[]string     `json:"origins"`
	Settings *SiteSettings `json:"settings"`
}

// SiteInfo is a site as the admin API shows it: with the settings in effect.
type SiteInfo struct {
	*Site
	Effective Settings `json:"effective"`
}

func (s *Service) info(site *Site) SiteInfo {
	return SiteInfo{Site: site, Effective: site.Settings.In(s.defaults)}
}

// ListSites returns the sites the actor moderates, by id.
func (s *Service) ListSites(ctx context.Context, actor Actor) ([]SiteInfo, error) {
	all, err := s.store.Sites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SiteInfo, 0, len(all))
	for _, site := range all {
		if actor.Moderates(site.ID) {
			out = append(out, s.info(site))
		}
	}
	return out, nil
}

// SiteIDs lists the ids of the sites the actor moderates.
func (s *Service) SiteIDs(ctx context.Context, actor Actor) ([]string, error) {
	all, err := s.siteIDs(ctx, "")
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(id string) bool { return !actor.Moderates(id) }), nil
}

// Site returns one site to its moderators; to anyone else it is ErrNotFound.
func (s *Service) Site(ctx context.Context, actor Actor, id string) (SiteInfo, error) {
	if err := mayModerate(actor, id); err != nil {
		return SiteInfo{}, err
	}
	site, err := s.store.Site(ctx, id)
	if err != nil {
		return SiteInfo{}, err
	}
	return s.info(site), nil
}

// CreateSite adds a site; only owners may. Its origins must belong to no
// other site (ErrOriginTaken), its id to no site (ErrConflict).
func (s *Service) CreateSite(ctx context.Context, actor Actor, site Site) (SiteInfo, error) {
	if !actor.Can(RoleOwner) {
		return SiteInfo{}, ErrForbidden
	}
	site.ID = strings.TrimSpace(site.ID)
	if err := site.Check(); err != nil {
		return SiteInfo{}, err
	}
	site.Created = s.now()
	entry := s.entry(actor, "site.add", site.ID+" ("+strings.Join(site.Origins, " ")+")")
	if err := s.store.PutSite(ctx, &site, true, entry); err != nil {
		return SiteInfo{}, err
	}
	s.sitesChanged(site.ID)
	return s.info(&site), nil
}

// EditSite changes a site's name, origins or settings; owners and the
// site's admins may.
func (s *Service) EditSite(ctx context.Context, actor Actor, id string, p SitePatch) (SiteInfo, error) {
	if err := mayModerate(actor, id); err != nil {
		return SiteInfo{}, err
	}
	if !actor.Administers(id) {
		return SiteInfo{}, ErrForbidden
	}
	site, err := s.store.Site(ctx, id)
	if err != nil {
		return SiteInfo{}, err
	}
	if p.Name != nil {
		site.Name = *p.Name
	}
	if p.Origins != nil {
		site.Origins = *p.Origins
	}
	if p.Settings != nil {
		site.Settings = *p.Settings
	}
	if err := site.Check(); err != nil {
		return SiteInfo{}, err
	}
	entry := s.entry(actor, "site.edit", site.ID)
	entry.Site = site.ID
	if err := s.store.PutSite(ctx, site, false, entry); err != nil {
		return SiteInfo{}, err
	}
	s.sitesChanged(site.ID)
	return s.info(site), nil
}

// DeleteSite removes a site; only owners may. A site that holds comments is
// kept (ErrSiteInUse) unless withComments; the default site always is.
func (s *Service) DeleteSite(ctx context.Context, actor Actor, id string, withComments bool) error {
	if err := mayModerate(actor, id); err != nil {
		return err
	}
	if !actor.Can(RoleOwner) {
		return ErrForbidden
	}
	if id == DefaultSite {
		return Errorf(CodeConflict, "The default site cannot be removed.")
	}
	entry := s.entry(actor, "site.remove", id)
	if err := s.store.DeleteSite(ctx, id, withComments, entry); err != nil {
		return err
	}
	s.sitesChanged(id)
	s.spam.forget(id)
	// Nobody keeps rights on a site that is gone (a new one may take its id).
	tokens, err := s.store.Tokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if t.Site == id {
			if err := s.store.DeleteToken(ctx, t.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
	mods, err := s.store.Moderators(ctx)
	if err != nil {
		return err
	}
	for _, m := range mods {
		if _, ok := m.Sites[id]; ok {
			err := s.editModerator(ctx, m.Name, func(m *Moderator, _ []*Moderator) (bool, *AuditEntry, error) {
				delete(m.Sites, id)
				return false, s.entry(actor, "moderator.site", m.Name+" off "+id), nil
			})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// SiteTeam lists who works on a site (owners included), for its admins.
func (s *Service) SiteTeam(ctx context.Context, actor Actor, site string) ([]ModeratorInfo, error) {
	if err := mayModerate(actor, site); err != nil {
		return nil, err
	}
	if !actor.Administers(site) {
		return nil, ErrForbidden
	}
	mods, err := s.store.Moderators(ctx)
	if err != nil {
		return nil, err
	}
	var out []ModeratorInfo
	for _, m := range mods {
		if r, ok := m.Sites[site]; ok || m.Role == RoleOwner {
			info := ModeratorInfo{Name: m.Name, Role: m.Role, Created: m.Created}
			if ok {
				info.Sites = map[string]SiteRole{site: r}
			}
			out = append(out, info)
		}
	}
	return out, nil
}

// SetSiteRole gives a moderator a role on a site, or takes the site away
// from them (role ""). Owners and the site's admins may; an owner's rights
// are not theirs to change.
func (s *Service) SetSiteRole(ctx context.Context, actor Actor, site, name string, role SiteRole) error {
	if err := mayModerate(actor, site); err != nil {
		return err
	}
	if !actor.Administers(site) {
		return ErrForbidden
	}
	if role != "" && !role.Valid() {
		return invalid("role", "must be admin or moderator")
	}
	return s.editModerator(ctx, name, func(m *Moderator, _ []*Moderator) (bool, *AuditEntry, error) {
		if m.Role == RoleOwner {
			return false, nil, Errorf(CodeConflict, m.Name+" is an owner and works on every site.")
		}
		if role == "" {
			delete(m.Sites, site)
		} else {
			if m.Sites == nil {
				m.Sites = map[string]SiteRole{}
			}
			m.Sites[site] = role
		}
		e := s.entry(actor, "moderator.site", m.Name+" on "+site+" as "+string(role))
		e.Site = site
		return false, e, nil
	})
}

// siteIndex is every site by id and by origin, as last read: the public
// path resolves a site on every request, and sites change rarely and only
// through this Service (other commands cannot open the file while it runs).
type siteIndex struct {
	byID     map[string]*Site
	byOrigin map[string]string
}

// index returns the site index, reading it when a change dropped it.
func (s *Service) index(ctx context.Context) (*siteIndex, error) {
	if ix := s.siteIx.Load(); ix != nil {
		return ix, nil
	}
	all, err := s.store.Sites(ctx)
	if err != nil {
		return nil, err
	}
	ix := &siteIndex{byID: make(map[string]*Site, len(all)), byOrigin: map[string]string{}}
	for _, site := range all {
		ix.byID[site.ID] = site
		for _, o := range site.Origins {
			ix.byOrigin[o] = site.ID
		}
	}
	s.siteIx.CompareAndSwap(nil, ix)
	return ix, nil
}

// SiteForOrigin returns the id of the site an origin (as browsers send it)
// belongs to, or false.
func (s *Service) SiteForOrigin(ctx context.Context, origin string) (string, bool, error) {
	ix, err := s.index(ctx)
	if err != nil {
		return "", false, err
	}
	if id, ok := ix.byOrigin[origin]; ok {
		return id, true, nil
	}
	// Browsers send origins in normal form already; a hand-written request
	// may not.
	n, ok := NormalizeOrigin(origin)
	if !ok || n == origin {
		return "", false, nil
	}
	id, ok := ix.byOrigin[n]
	return id, ok, nil
}

// SiteExists reports whether there is a site with this id.
func (s *Service) SiteExists(ctx context.Context, id string) (bool, error) {
	ix, err := s.index(ctx)
	if err != nil {
		return false, err
	}
	_, ok := ix.byID[id]
	return ok, nil
}

// SiteOrigins returns a site's origins.
func (s *Service) SiteOrigins(ctx context.Context, id string) ([]string, error) {
	ix, err := s.index(ctx)
	if err != nil {
		return nil, err
	}
	site, ok := ix.byID[id]
	if !ok {
		return nil, ErrNotFound
	}
	return site.Origins, nil
}

// sitesChanged drops the site index after a change to a site, tells the
// site listeners (see SubscribeSites) and the other processes.
func (s *Service) sitesChanged(id string) {
	s.dropSite(id)
	s.tell(context.Background(), note{Part: partSite, Site: id})
}

// dropSite drops the site index and tells the site listeners.
func (s *Service) dropSite(id string) {
	s.siteIx.Store(nil)
	for _, fn := range s.siteListeners {
		fn(id)
	}
}

// SubscribeSites registers fn to hear the id of every site that was added,
// edited or removed, after the change committed and the site index was
// dropped: what was built from the old site (the read cache's answers carry
// its widget settings) is stale. Register listeners before serving.
func (s *Service) SubscribeSites(fn func(site string)) {
	s.siteListeners = append(s.siteListeners, fn)
}

// Widget is what the widget takes from its site where its embed tag says
// nothing. Language is empty unless the site chose one: the page's
// <html lang> then decides, as before sites had settings.
type Widget struct {
	Language    string `json:"language"`
	Theme       string `json:"theme"`
	TitleSource string `json:"title_source"`
}

// Widget returns a site's widget settings in effect.
func (s *Service) Widget(ctx context.Context, id string) (Widget, error) {
	ix, err := s.index(ctx)
	if err != nil {
		return Widget{}, err
	}
	site, ok := ix.byID[id]
	if !ok {
		return Widget{}, ErrNotFound
	}
	eff := site.Settings.In(s.defaults)
	w := Widget{Theme: eff.Theme, TitleSource: eff.TitleSource}
	if site.Settings.Language != nil {
		w.Language = *site.Settings.Language
	}
	return w, nil
}

// SeedDefaultOrigins gives the default site these origins when it has none:
// the upgrade from before sites leaves it without, and serve's --origins
// are what existing embeds were allowed from. Origins another site holds
// are left out. It reports the origins the default site has after.
func (s *Service) SeedDefaultOrigins(ctx context.Context, origins []string) ([]string, error) {
	site, err := s.store.Site(ctx, DefaultSite)
	if err != nil {
		return nil, err
	}
	if len(site.Origins) > 0 || len(origins) == 0 {
		return site.Origins, nil
	}
	ix, err := s.index(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range origins {
		if n, ok := NormalizeOrigin(o); ok && ix.byOrigin[n] == "" {
			site.Origins = append(site.Origins, n)
		}
	}
	if err := site.Check(); err != nil {
		return nil, err
	}
	entry := &AuditEntry{At: s.now(), Actor: "system", Action: "site.edit", Detail: "default origins from --origins"}
	if err := s.store.PutSite(ctx, site, false, entry); err != nil {
		return nil, err
	}
	s.sitesChanged(site.ID)
	return site.Origins, nil
}

// AllSites, as Query.Site, asks for every site the actor moderates.
const AllSites = "*"

// everywhere is Comments over every site the actor moderates: each site's
// page from the same cursor, merged in ID order (IDs sort by time across
// sites, so one cursor serves them all).
func (s *Service) everywhere(ctx context.Context, actor Actor, q Query) ([]*Comment, string, error) {
	ids, err := s.SiteIDs(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	var all []*Comment
	more := false
	for _, id := range ids {
		q.Site = id
		page, next, err := s.store.Comments(ctx, q)
		if err != nil {
			return nil, "", err
		}
		all = append(all, page...)
		more = more || next != ""
	}
	slices.SortFunc(all, func(a, b *Comment) int { return strings.Compare(a.ID, b.ID) })
	if len(all) > q.Limit {
		all, more = all[:q.Limit], true
	}
	if !more || len(all) == 0 {
		return all, "", nil
	}
	return all, all[len(all)-1].ID, nil
}

// SiteOfComment finds which of the actor's sites holds comment id, for the
// "all my sites" queue, whose actions name comments without their site.
// ErrNotFound when none does; ErrConflict when two do (an import can copy
// one site's comments to another, IDs and all), and then the caller must
// name the site.
func (s *Service) SiteOfComment(ctx context.Context, actor Actor, id string) (string, error) {
	ids, err := s.SiteIDs(ctx, actor)
	if err != nil {
		return "", err
	}
	found := ""
	for _, site := range ids {
		_, err := s.store.Comment(ctx, site, id)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return "", err
		case found != "":
			return "", Errorf(CodeConflict, "Comment "+id+" is on two sites; name the site with site=ID.")
		}
		found = site
	}
	if found == "" {
		return "", ErrNotFound
	}
	return found, nil
}

// CountsEverywhere sums StatusCounts over every site the actor moderates,
// and returns each site's too.
func (s *Service) CountsEverywhere(ctx context.Context, actor Actor) (map[Status]int, map[string]map[Status]int, error) {
	if !actor.May(PermModerate) {
		return nil, nil, ErrForbidden
	}
	ids, err := s.SiteIDs(ctx, actor)
	if err != nil {
		return nil, nil, err
	}
	store := s.store
	total, each := map[Status]int{}, make(map[string]map[Status]int, len(ids))
	for _, id := range ids {
		counts, err := store.StatusCounts(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		each[id] = counts
		for st, n := range counts {
			total[st] += n
		}
	}
	return total, each, nil
}
