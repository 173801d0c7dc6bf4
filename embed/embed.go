// Package embed holds the files Parley serves to browsers: the comment widget,
// the count script, the demo page, the templates and style of the pages the
// server renders for readers without JavaScript, and the admin page
// (templates in admin/, its scripts and styles in admin/static/). It has no
// logic beyond embedding them and imports nothing of ours.
package embed

import "embed"

// Files are the static files, served at their names by the server, and the
// page templates (page.html, thread.html, page.css, admin/*.html) it parses
// once at start.
//
//go:embed index.html embed.js count.js page.html thread.html page.css admin
var Files embed.FS
