// Package embed holds the files Parley serves to browsers: the comment widget,
// the count script, the demo page and the admin page (templates in
// admin/, its scripts and styles in admin/static/). It has no logic beyond embedding them
// and imports nothing of ours.
package embed

import "embed"

// Files are the static files, served at their names by the server.
//
//go:embed index.html embed.js count.js admin
var Files embed.FS
