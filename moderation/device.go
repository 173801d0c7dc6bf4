package moderation

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// DeviceLifetime is how long a browser stays known to an account after its
// last successful sign-in there.
const DeviceLifetime = 180 * 24 * time.Hour

// devices signs and checks device cookies: proof that a browser signed in to
// an account before. The cookie names the account, a random device ID and
// when it was issued, under an HMAC with a server secret, so only Parley can
// make one and one for "mod" is no use for "admin".
type devices struct{ key []byte }

func (d devices) issue(account string, now time.Time) string {
	payload := "v1|" + strconv.FormatInt(now.Unix(), 10) + "|" + randomString(16) + "|" + account
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(d.sign(payload))
}

// check returns the device ID of cookie when it is a live device cookie
// for account, else "".
func (d devices) check(cookie, account string, now time.Time) string {
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(cookie, ".")
	if !ok || len(cookie) > 512 {
		return ""
	}
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, d.sign(string(payload))) {
		return ""
	}
	parts := strings.SplitN(string(payload), "|", 4)
	if len(parts) != 4 || parts[0] != "v1" || parts[3] != account {
		return ""
	}
	issued, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || now.Sub(time.Unix(issued, 0)) > DeviceLifetime {
		return ""
	}
	return parts[2]
}

func (d devices) sign(payload string) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte("parley device cookie\x00" + payload))
	return m.Sum(nil)
}
