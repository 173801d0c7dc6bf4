// Package classifier is Parley's spam model: it turns a comment into hashed
// features, counts them per class as moderators decide, and scores new
// comments from those counts. It knows nothing of comments, storage or HTTP
// and imports nothing of ours; moderation/ feeds it and storage/ keeps its
// counts.
package classifier

import (
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Version names the feature extraction. Counts made under another version
// mean nothing to this one: a change here must bump it, and the model is
// then rebuilt from the decided comments at the next start.
const Version = 1

// Bits sizes the hashing trick: every feature lands in one of 1<<Bits
// buckets, so the model never holds more than 2 counts × 262,144 buckets
// (2 MiB in memory) however many words it sees.
const Bits = 18

// Buckets is how many feature buckets the model has.
const Buckets = 1 << Bits

// MaxFeatures is the most distinct features one comment contributes, so
// that one long comment cannot swamp the counts (nor the score's time).
const MaxFeatures = 1000

// maxScan is how much of a body is read. Spam says what it sells early, and
// a bound on the text is a bound on the time a submission spends here.
const maxScan = 2048

// maxWord is the longest word kept as itself; longer runs (hashes, base64,
// smashed-together spam) become one "long word" feature.
const maxWord = 30

// Input is what the classifier reads of a comment.
type Input struct {
	Body    string
	Author  string
	Email   string
	Website string
}

// Feature is one thing a comment says, hashed to its bucket.
type Feature struct {
	Hash uint32
	kind string // "" for a body word, else "link ", "name " …
	text string // as written: ASCII case is folded by the hash and Label
}

// Label is what a moderator reads of a feature ("subscribe", "link
// youtube.com"). It is built on demand: the submit path needs only hashes.
func (f Feature) Label() string { return f.kind + lower(f.text) }

// Extract returns the distinct features of a comment, at most MaxFeatures:
//
//   - the body's words, found by Unicode word segmentation (UAX #29) and
//     lower-cased; runs of scripts written without spaces (Han, kana, Thai,
//     Lao, Khmer, Myanmar) become overlapping character pairs, since a
//     segmenter without a dictionary cuts them into single characters;
//   - the host of each link in the body, and how many links there are;
//   - the website's host, the email's domain;
//   - the name, whole and word by word.
func Extract(in Input) []Feature {
	x := new(extractor)
	body := in.Body
	if len(body) > maxScan {
		cut := maxScan
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	x.words("", body)
	links := 0
	for h := range linkHosts(body) {
		links++
		if h != "" {
			x.add("link ", h)
		}
	}
	x.add("links ", strconv.Itoa(min(links, 3)))
	if in.Website != "" {
		if h := websiteHost(in.Website); h != "" {
			x.add("website ", h)
		}
	} else {
		x.add("website ", "none")
	}
	if at := strings.LastIndexByte(in.Email, '@'); at >= 0 {
		x.add("email ", strings.ToLower(strings.TrimSpace(in.Email[at+1:])))
	}
	if name := strings.Join(strings.Fields(strings.ToLower(in.Author)), " "); name != "" {
		x.add("name ", name)
		x.words("name word ", name)
	}
	return x.out
}

type extractor struct {
	out  []Feature
	seen hashSet
	run  []rune // the pending run of a script written without spaces
}

// hashSet is the set of feature hashes seen, open addressing in a table
// twice the size of MaxFeatures: a map costs a third of the submit path.
type hashSet struct{ slots [2048]uint32 } // hash+1; 0 is empty

// add reports whether h is new, and remembers it.
func (s *hashSet) add(h uint32) bool {
	k := h + 1
	for i := (k * 2654435761) >> 21; ; i = (i + 1) & uint32(len(s.slots)-1) {
		switch s.slots[i] {
		case 0:
			s.slots[i] = k
			return true
		case k:
			return false
		}
	}
}

// add records the feature prefix+text once.
func (x *extractor) add(prefix, text string) {
	if len(x.out) >= MaxFeatures {
		return
	}
	h := hash(prefix, text)
	if !x.seen.add(h) {
		return
	}
	x.out = append(x.out, Feature{Hash: h, kind: prefix, text: text})
}

// words adds the words of text under prefix. No UAX #29 rule joins
// across white space, so the text is cut at ASCII white space first: plain
// ASCII pieces, the bulk of most comments, go through asciiWords, which
// applies the same rules to ASCII, and the rest through uniseg. The result
// is the same, at a fraction of the time.
func (x *extractor) words(prefix, text string) {
	for len(text) > 0 {
		start := 0
		for start < len(text) && isSpace(text[start]) {
			start++
		}
		end := start
		ascii := true
		for end < len(text) && !isSpace(text[end]) {
			ascii = ascii && text[end] < utf8.RuneSelf
			end++
		}
		if piece := text[start:end]; ascii {
			x.flush(prefix)
			asciiWords(piece, func(w string) { x.asciiWord(prefix, w) })
		} else {
			x.segment(prefix, piece)
		}
		text = text[end:]
	}
	x.flush(prefix)
}

// segment adds the words of a piece of text with no ASCII white space,
// found by uniseg's UAX #29 word segmentation.
func (x *extractor) segment(prefix, text string) {
	state := -1
	var word string
	for len(text) > 0 {
		word, text, state = uniseg.FirstWordInString(text, state)
		if r, _ := utf8.DecodeRuneInString(word); unspaced(r) {
			for _, r := range word {
				x.run = append(x.run, unicode.ToLower(r))
			}
			continue
		}
		x.flush(prefix)
		x.word(prefix, word)
	}
}

// word adds one segment as a word, if it holds a letter or a digit.
func (x *extractor) word(prefix, w string) {
	if !hasWordChar(w) {
		return
	}
	if utf8.RuneCountInString(w) > maxWord {
		x.add(prefix, "(long word)")
		return
	}
	x.add(prefix, w)
}

// asciiWord is word for a word of asciiWords: letters, digits and "_".
func (x *extractor) asciiWord(prefix, w string) {
	if len(w) > maxWord {
		w = "(long word)"
	}
	x.add(prefix, w)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// asciiWords calls fn with the words of an ASCII text by UAX #29's rules as
// they apply to ASCII: runs of letters, digits and "_", where a letter, "'",
// "." or ":" between letters, and ",", ";", "'" or "." between digits, join.
func asciiWords(s string, fn func(string)) {
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) {
			c := s[j]
			if isWordByte(c) {
				j++
				continue
			}
			if j+1 < len(s) && joins(s[j-1], c, s[j+1]) {
				j += 2
				continue
			}
			break
		}
		fn(s[i:j])
		i = j
	}
}

func isWordByte(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }
func isLetter(c byte) bool   { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }

// joins reports whether mid keeps before and after in one word (WB6, WB7,
// WB11, WB12).
func joins(before, mid, after byte) bool {
	switch {
	case isLetter(before) && isLetter(after):
		return mid == '\'' || mid == '.' || mid == ':'
	case isDigit(before) && isDigit(after):
		return mid == ',' || mid == ';' || mid == '\'' || mid == '.'
	}
	return false
}

// flush adds the character pairs of the pending unspaced run.
func (x *extractor) flush(prefix string) {
	switch len(x.run) {
	case 0:
		return
	case 1:
		x.add(prefix, string(x.run))
	default:
		for i := 0; i+1 < len(x.run); i++ {
			x.add(prefix, string(x.run[i:i+2]))
		}
	}
	x.run = x.run[:0]
}

// unspaced reports whether r belongs to a script written without spaces
// between words.
func unspaced(r rune) bool {
	return r >= 0x0E00 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai,
		unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

func hasWordChar(w string) bool {
	return strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// lower lower-cases w, without allocating when it is lower-case already.
func lower(w string) string {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.ToLower(w)
		}
	}
	return w
}

// linkHosts yields the host of each link in text as readers see links:
// after "http://", "https://" or "ftp://", or starting with "www.", up to
// the first character a host cannot hold. A plain scan, not a regular
// expression: this runs on every submission.
func linkHosts(text string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := 0; i < len(text); i++ {
			c := text[i] | 0x20
			if c != 'h' && c != 'f' && c != 'w' {
				continue
			}
			if i > 0 && isWordByte(text[i-1]) {
				continue
			}
			rest := text[i:]
			n := 0
			for _, p := range [...]string{"https://", "http://", "ftp://", "www."} {
				if len(rest) >= len(p) && strings.EqualFold(rest[:len(p)], p) {
					n = len(p)
					if p == "www." {
						n = 0 // the host includes it
					}
					break
				}
			}
			if n == 0 && !(len(rest) >= 4 && strings.EqualFold(rest[:4], "www.")) {
				continue
			}
			end := n
			for end < len(rest) && !strings.ContainsRune(" \t\r\n/?#<>\"'()[]", rune(rest[end])) {
				end++
			}
			if !yield(cleanHost(rest[n:end])) {
				return
			}
			i += end - 1
		}
	}
}

// cleanHost turns what follows a link's scheme into its host: lower-cased,
// without user, port, trailing dots or a leading "www.".
func cleanHost(h string) string {
	if at := strings.LastIndexByte(h, '@'); at >= 0 {
		h = h[at+1:]
	}
	if colon := strings.IndexByte(h, ':'); colon >= 0 {
		h = h[:colon]
	}
	h = strings.TrimRight(strings.ToLower(h), ".,;!")
	h = strings.TrimPrefix(h, "www.")
	if len(h) > 253 || !strings.Contains(h, ".") {
		return ""
	}
	return h
}

// websiteHost is the host of the website a commenter gave, with or without
// its scheme.
func websiteHost(site string) string {
	if !strings.Contains(site, "://") {
		site = "http://" + site
	}
	u, err := url.Parse(strings.TrimSpace(site))
	if err != nil {
		return ""
	}
	return cleanHost(u.Host)
}

// hash is 32-bit FNV-1a of prefix + the lower-cased text, folded into the
// model's buckets. FNV is fixed for good: a stored model depends on it.
func hash(prefix, text string) uint32 {
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	for i := 0; i < len(prefix); i++ {
		h = (h ^ uint32(prefix[i])) * prime
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= utf8.RuneSelf {
			return hashLowered(h, strings.ToLower(text[i:]))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint32(c)) * prime
	}
	return (h ^ h>>Bits) & (Buckets - 1)
}

// hashLowered goes on with hash's FNV state h over text, lower-cased already.
func hashLowered(h uint32, text string) uint32 {
	const prime = 16777619
	for i := 0; i < len(text); i++ {
		h = (h ^ uint32(text[i])) * prime
	}
	return (h ^ h>>Bits) & (Buckets - 1)
}

// Hashes returns the hashes of features, sorted: the form in which a
// comment records what it taught the model.
func Hashes(fs []Feature) []uint32 {
	out := make([]uint32, len(fs))
	for i, f := range fs {
		out[i] = f.Hash
	}
	slices.Sort(out)
	return out
}
