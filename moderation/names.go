package moderation

import (
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
	"golang.org/x/text/secure/precis"
)

const (
	zwnj = '\u200C' // zero width non-joiner: Persian, Kurdish, and after a virama
	zwj  = '\u200D' // zero width joiner: Indic conjuncts, emoji ZWJ sequences
)

// joinerWords checks the letters around a joiner with the contextual rules
// of RFC 5892 (CONTEXTJ, via PRECIS): a ZWJ or ZWNJ right after a virama, or a
// ZWNJ between Arabic-script letters whose joining types let it break a join.
// The FreeformClass carries those tables, so Parley need not copy them.
var joinerWords = precis.NewFreeform()

// validName reports whether a name shows what it says: no bidi controls, no
// zero-width characters, a ZWJ or ZWNJ only where Unicode gives it a job
// (inside an emoji ZWJ sequence, or between letters of a script that uses it),
// emoji tag characters only inside a flag's tag sequence, and at least one
// character that can be seen.
func validName(s string) bool {
	if strings.ContainsFunc(s, hides) || !strings.ContainsFunc(s, shows) {
		return false
	}
	if !strings.ContainsAny(s, "\u200C\u200D") && !strings.ContainsFunc(s, isTag) {
		return true
	}
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		runes := g.Runes()
		start, _ := g.Positions()
		offset := start
		for i, r := range runes {
			switch {
			case isTag(r) && runes[0] != '\U0001F3F4': // tags only spell a subdivision flag
				return false
			case r == zwj && emojiJoiner(runes, i):
			case (r == zwj || r == zwnj) && !joinsLetters(s, offset):
				return false
			}
			offset += len(string(r))
		}
	}
	return true
}

// emojiJoiner reports whether the ZWJ at runes[i] joins two emoji within one
// grapheme cluster. Grapheme rules (UAX #29 GB11) keep a ZWJ in the middle of
// a cluster only between pictographs; anything else after it is an extender.
func emojiJoiner(runes []rune, i int) bool {
	return i > 0 && i+1 < len(runes) && !extends(runes[i+1])
}

// joinsLetters applies RFC 5892's joiner rules to the word around the
// joiner at byte offset at: the letters and marks on both sides of it.
func joinsLetters(s string, at int) bool {
	start := strings.LastIndexFunc(s[:at], notWordRune) + 1
	end := len(s)
	if i := strings.IndexFunc(s[at:], notWordRune); i >= 0 {
		end = at + i
	}
	_, err := joinerWords.String(s[start:end])
	return err == nil
}

func notWordRune(r rune) bool {
	return !unicode.In(r, unicode.L, unicode.M) && r != zwj && r != zwnj
}

// extends reports runes that attach to the one before them in a grapheme
// cluster: marks, joiners, skin tones, variation selectors and tags.
func extends(r rune) bool {
	return unicode.Is(unicode.M, r) || r == zwj || r == zwnj || r >= 0x1F3FB && r <= 0x1F3FF ||
		unicode.Is(unicode.Variation_Selector, r) || isTag(r)
}

// hides reports what a name may never hold: bidi controls, zero-width
// characters (joiners are judged in context instead), and the blank letters.
func hides(r rune) bool {
	return isInvisible(r) && r != zwj && r != zwnj || blank(r)
}

func isTag(r rune) bool { return r >= 0xE0020 && r <= 0xE007F }

// blank reports the letters and symbols that draw nothing (Hangul fillers,
// the blank Braille pattern), used to make a name look empty or padded.
func blank(r rune) bool {
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800:
		return true
	}
	return false
}

// shows reports a character a reader can see: a letter, digit, symbol or
// punctuation mark.
func shows(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.S, unicode.P) && !unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}
