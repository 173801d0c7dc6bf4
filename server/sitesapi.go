package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// siteRoutes are the admin API of sites and their teams.
func (s *Server) siteRoutes(api *echo.Group) {
	api.GET("/sites", s.handleSites)
	api.POST("/sites", s.handleCreateSite)
	api.GET("/sites/:site", s.handleSite)
	api.PATCH("/sites/:site", s.handleEditSite)
	api.DELETE("/sites/:site", s.handleDeleteSite)
	api.GET("/sites/:site/team", s.handleSiteTeam)
	api.PUT("/sites/:site/team/:name", s.handleSetSiteRole)
	api.POST("/sites/:site/team", s.handleSetSiteRole) // {"name", "role"}: the admin page's form
	api.DELETE("/sites/:site/team/:name", s.handleSetSiteRole)
}

type siteList struct {
	Sites []moderation.SiteInfo `json:"sites"`
}

// handleSites lists the sites the caller moderates (every site for owners).
func (s *Server) handleSites(c echo.Context) error {
	sites, err := s.svc.ListSites(c.Request().Context(), actorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, siteList{Sites: sites})
}

// handleSite answers one site to its moderators; 404 to anyone else.
func (s *Server) handleSite(c echo.Context) error {
	site, err := s.svc.Site(c.Request().Context(), actorOf(c), c.Param("site"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, site)
}

type siteRequest struct {
	ID       string                  `json:"id"`
	Name     string                  `json:"name"`
	Origins  []string                `json:"origins"`
	Settings moderation.SiteSettings `json:"settings"`
}

// handleCreateSite adds a site (owners only).
func (s *Server) handleCreateSite(c echo.Context) error {
	var req siteRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	site, err := s.svc.CreateSite(c.Request().Context(), actorOf(c),
		moderation.Site{ID: req.ID, Name: req.Name, Origins: req.Origins, Settings: req.Settings})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, site)
}

// handleEditSite changes a site's name, origins or settings (owners and the
// site's admins).
func (s *Server) handleEditSite(c echo.Context) error {
	var p moderation.SitePatch
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	site, err := s.svc.EditSite(c.Request().Context(), actorOf(c), c.Param("site"), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, site)
}

// handleDeleteSite removes a site (owners only); ?delete_comments=true to
// remove one that still holds comments.
func (s *Server) handleDeleteSite(c echo.Context) error {
	withComments, _ := strconv.ParseBool(c.QueryParam("delete_comments"))
	if err := s.svc.DeleteSite(c.Request().Context(), actorOf(c), c.Param("site"), withComments); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleSiteTeam lists who works on a site, for its admins.
func (s *Server) handleSiteTeam(c echo.Context) error {
	team, err := s.svc.SiteTeam(c.Request().Context(), actorOf(c), c.Param("site"))
	if err != nil {
		return err
	}
	if team == nil {
		team = []moderation.ModeratorInfo{}
	}
	return c.JSON(http.StatusOK, map[string]any{"moderators": team})
}

type siteRoleRequest struct {
	Name string              `json:"name"`
	Role moderation.SiteRole `json:"role"`
}

// handleSetSiteRole gives a moderator a role on a site (PUT, or POST with
// the name in the body) or takes the site away from them (DELETE, or POST
// with role "").
func (s *Server) handleSetSiteRole(c echo.Context) error {
	req := siteRoleRequest{Name: pathParam(c, "name")}
	if c.Request().Method != http.MethodDelete {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		if req.Role == "" && c.Request().Method == http.MethodPut {
			return &moderation.ValidationError{Fields: map[string]string{"role": "must be admin or moderator"}}
		}
	}
	if c.Param("name") != "" {
		req.Name = pathParam(c, "name")
	}
	if err := s.svc.SetSiteRole(c.Request().Context(), actorOf(c), c.Param("site"), req.Name, req.Role); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// settingsView is the data of a site's settings page.
type settingsView struct {
	Site     moderation.SiteInfo
	Defaults moderation.Settings
	Team     []moderation.ModeratorInfo
	All      []moderation.SiteInfo // for owners: every site, and a form to add one
}

// handleSettingsPage shows a site's settings, team, blocklists and data to
// its admins (and owners); anyone else gets the forbidden page.
func (s *Server) handleSettingsPage(c echo.Context) error {
	p, err := s.newPage(c, "Site settings", "settings")
	if err != nil {
		return err
	}
	if p.Site == moderation.AllSites || !p.Me.Administers(p.Site) {
		return s.pages.render(c, http.StatusForbidden, "forbidden", p)
	}
	ctx := c.Request().Context()
	view := settingsView{Defaults: s.svc.Defaults()}
	if view.Site, err = s.svc.Site(ctx, p.Me, p.Site); err != nil {
		return err
	}
	if view.Team, err = s.svc.SiteTeam(ctx, p.Me, p.Site); err != nil {
		return err
	}
	if p.Me.Can(moderation.RoleOwner) {
		if view.All, err = s.svc.ListSites(ctx, p.Me); err != nil {
			return err
		}
	}
	p.Title = "Settings of " + view.Site.Name
	p.Scripts, p.Data = []string{"forms.js"}, view
	return s.pages.render(c, http.StatusOK, "settings", p)
}
