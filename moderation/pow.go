package moderation

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// Challenge is an ALTCHA-style proof-of-work puzzle: find the number n, from
// 0 to MaxNumber, for which hex(SHA-256(Salt + decimal n)) is Challenge, and
// send it as "pow". A reader's browser tries numbers in order, so it takes
// MaxNumber/2 hashes on average; checking the answer takes the server one.
type Challenge struct {
	Algorithm string `json:"algorithm"`
	Challenge string `json:"challenge"`
	Salt      string `json:"salt"`
	MaxNumber int    `json:"maxnumber"`
}

// challenge derives a token's puzzle, so nothing about it is stored: the salt
// is the token's nonce and expiry (the puzzle is useless once the token is
// spent or expired), and the secret number is an HMAC of the nonce, which
// only the server can compute.
func (f *SpamFilter) challenge(t formToken) Challenge {
	salt := hex.EncodeToString(t.nonce[:]) + "?expires=" + strconv.FormatInt(t.expires.Unix(), 10)
	n := binary.BigEndian.Uint64(f.mac([]byte("pow"), t.nonce[:])) % (uint64(t.maxNumber) + 1)
	return Challenge{Algorithm: "SHA-256", Challenge: powHash(salt, n), Salt: salt, MaxNumber: int(t.maxNumber)}
}

func powHash(salt string, n uint64) string {
	sum := sha256.Sum256([]byte(salt + strconv.FormatUint(n, 10)))
	return hex.EncodeToString(sum[:])
}

// checkPoW verifies the answer to the token's puzzle as ALTCHA does: by
// hashing it with the salt and comparing with the challenge.
func (f *SpamFilter) checkPoW(t formToken, answer string) string {
	if answer == "" {
		return "proof of work: no answer"
	}
	n, err := strconv.ParseUint(answer, 10, 32)
	c := f.challenge(t)
	if err != nil || n > uint64(t.maxNumber) ||
		subtle.ConstantTimeCompare([]byte(powHash(c.Salt, n)), []byte(c.Challenge)) != 1 {
		return "proof of work: wrong answer"
	}
	return ""
}
