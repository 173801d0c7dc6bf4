package migrate

import (
	"bufio"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"parley/moderation"
)

// csvColumns is the CSV header row. Every comment field has a column;
// history is its JSON, since a list does not fit a cell otherwise.
var csvColumns = []string{
	"id", "site", "post", "parent", "depth", "status", "author", "email", "website",
	"created", "updated", "by_site", "ip_hash", "user_agent",
	"notify_published", "notify_replies", "body", "html", "history",
}

// csvEncoder writes a header row, then one row per comment.
type csvEncoder struct {
	bw  *bufio.Writer
	w   *csv.Writer
	row []string
}

func newCSVEncoder(w io.Writer) (*csvEncoder, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	e := &csvEncoder{bw: bw, w: csv.NewWriter(bw), row: make([]string, len(csvColumns))}
	return e, e.w.Write(csvColumns)
}

func (e *csvEncoder) Encode(c *moderation.Comment) error {
	history, err := marshal(c.History)
	if err != nil {
		return err
	}
	copy(e.row, []string{
		c.ID, c.Site, c.Post, c.Parent, strconv.Itoa(c.Depth), string(c.Status), c.Author, c.Email, c.Website,
		csvTime(c.Created), csvTime(c.Updated), strconv.FormatBool(c.BySite), c.IPHash, c.UserAgent,
		strconv.FormatBool(c.NotifyPublished), strconv.FormatBool(c.NotifyReplies), c.Body, c.HTML, string(history),
	})
	for i, cell := range e.row {
		e.row[i] = Neutralize(cell)
	}
	return e.w.Write(e.row)
}

func (e *csvEncoder) Close() error {
	e.w.Flush()
	if err := e.w.Error(); err != nil {
		return err
	}
	return e.bw.Flush()
}

func csvTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Neutralize keeps a spreadsheet from running a cell as a formula (CSV
// injection): a cell that starts with =, +, -, @, a tab or a carriage return
// gets a single quote in front, so that it is read as text. Commenters choose
// names, websites and bodies, so any cell may be hostile. The quote is part
// of the cell's text: strip it when reading the file back as data.
func Neutralize(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
