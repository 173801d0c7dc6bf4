package moderation

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
)

// MaxScored is the most comments one listing by score reads: sorting by
// score must score every comment of the status, so a queue longer than this
// is sorted within its oldest MaxScored.
const MaxScored = 20_000

// scoredComments is Comments with a score filter or the sort by score.
// Scores are the model's current ones, so a page is as the model sees the
// queue now. Sorted by score, the cursor is "score/ID" of the last comment
// of the previous page. q.Site may be AllSites: each comment is scored by
// its own site's model.
func (s *Service) scoredComments(ctx context.Context, actor Actor, q Query) ([]*Comment, string, error) {
	if q.Sort != "" && q.Sort != SortScore {
		return nil, "", invalid("sort", "must be score, or empty for oldest first")
	}
	if !(q.MinScore >= 0 && q.MinScore <= 1) {
		return nil, "", invalid("min_score", "must be a number from 0 to 1")
	}
	if q.Sort != SortScore {
		return s.filterByScore(ctx, actor, q)
	}
	after, afterID, err := parseScoreCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	all := q
	all.Cursor, all.Sort, all.MinScore, all.Limit = "", "", 0, MaxScored
	cs, _, err := s.page(ctx, actor, all)
	if err != nil {
		return nil, "", err
	}
	if err := s.annotate(ctx, cs...); err != nil {
		return nil, "", err
	}
	kept := cs[:0]
	for _, c := range cs {
		if c.Score.Spam >= q.MinScore && (q.Cursor == "" || scoreLess(after, afterID, c)) {
			kept = append(kept, c)
		}
	}
	slices.SortFunc(kept, func(a, b *Comment) int {
		if c := cmp.Compare(b.Score.Spam, a.Score.Spam); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(kept) <= q.Limit {
		return kept, "", nil
	}
	last := kept[q.Limit-1]
	return kept[:q.Limit], strconv.FormatFloat(last.Score.Spam, 'f', -1, 64) + "/" + last.ID, nil
}

// scoreLess reports whether c comes after (score, id) in the sort by score.
func scoreLess(score float64, id string, c *Comment) bool {
	return c.Score.Spam < score || (c.Score.Spam == score && c.ID > id)
}

func parseScoreCursor(cursor string) (float64, string, error) {
	if cursor == "" {
		return 0, "", nil
	}
	score, id, ok := strings.Cut(cursor, "/")
	f, err := strconv.ParseFloat(score, 64)
	if !ok || err != nil {
		return 0, "", invalid("cursor", "must be the next_cursor of the previous page")
	}
	return f, id, nil
}

// page is one page of the store's listing, of q.Site or of AllSites.
func (s *Service) page(ctx context.Context, actor Actor, q Query) ([]*Comment, string, error) {
	if q.Site == AllSites {
		return s.everywhere(ctx, actor, q)
	}
	return s.store.Comments(ctx, q)
}

// filterByScore is Comments in the usual order, keeping the comments scored
// at least q.MinScore; the cursor is the store's (the last ID).
func (s *Service) filterByScore(ctx context.Context, actor Actor, q Query) ([]*Comment, string, error) {
	var out []*Comment
	page := q
	page.Sort, page.MinScore, page.Limit = "", 0, MaxPage
	for read := 0; read < MaxScored; {
		cs, next, err := s.page(ctx, actor, page)
		if err != nil {
			return nil, "", err
		}
		if err := s.annotate(ctx, cs...); err != nil {
			return nil, "", err
		}
		read += len(cs)
		for _, c := range cs {
			if c.Score.Spam < q.MinScore {
				continue
			}
			if len(out) == q.Limit { // one more matches: there is a next page
				return out, out[len(out)-1].ID, nil
			}
			out = append(out, c)
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	return out, "", nil
}

// SpamByScore marks every pending comment of site scored at least minScore
// as spam, up to MaxBulk of them (oldest first), in one action: the
// Result's IDs undo it with one restore. A comment decided by someone else
// meanwhile is left as it is.
func (s *Service) SpamByScore(ctx context.Context, actor Actor, site, post string, minScore float64) (Result, error) {
	if err := mayAct(actor, site, PermModerate); err != nil {
		return Result{Action: ActionSpam}, err
	}
	if !(minScore > 0 && minScore <= 1) {
		return Result{Action: ActionSpam}, invalid("min_score", "must be a number above 0, at most 1")
	}
	cs, _, err := s.filterByScore(ctx, actor, Query{Site: site, Status: StatusPending, Post: post, Limit: MaxBulk, MinScore: minScore})
	if err != nil {
		return Result{Action: ActionSpam}, err
	}
	if len(cs) == 0 {
		return Result{Action: ActionSpam, IDs: []string{}}, nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return s.moderate(ctx, actor, site, ids, ActionSpam, func(c *Comment) bool { return c.Status == StatusPending })
}
