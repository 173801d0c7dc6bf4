#!/bin/sh
# upgrade-fixture.sh builds storage/bolt/testdata/upgrade-v5.bolt: a database
# written by Parley from before sites existed (commit 39274d9, schema 5),
# through its own command line and HTTP API, so that the upgrade test opens
# what a real installation holds. Run from the repository root:
#
#	scripts/upgrade-fixture.sh [COMMIT] [OUT]
#
# It needs git, go and curl; it listens on 127.0.0.1 only and leaves nothing
# running. The result is small (a few hundred KiB) and checked in.
set -eu
commit=${1:-39274d9}
out=${2:-storage/bolt/testdata/upgrade-v5.bolt}
root=$(pwd)
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

git -C "$root" archive "$commit" | tar -x -C "$tmp/"
(cd "$tmp" && CGO_ENABLED=0 go build -o "$tmp/parley-old" .)
bin=$tmp/parley-old
db=$tmp/fixture.db
port=${PARLEY_FIXTURE_PORT:-18491}
addr=127.0.0.1:$port
base=http://$addr
origin=https://blog.example

# The CLI side: an owner, a second moderator with email notifications, an
# API token, a blocklist entry.
export PARLEY_DATA=$db
printf 'owner-password-1\n' | "$bin" moderator add ada --role owner >/dev/null
printf 'mod-password-22\n' | "$bin" moderator add bob --email bob@blog.example --email-mode immediate >/dev/null
token=$("$bin" token create --name fixture-script --role owner 2>/dev/null)
"$bin" blocklist add words viagra >/dev/null
"$bin" blocklist add emails spammer@bad.example >/dev/null

# The HTTP side: a server whose webhook never answers, so notifications stay
# in the outbox.
"$bin" serve --addr "$addr" --origins "$origin" --rate-limit 0 --min-fill-seconds 0 \
	--webhook-urls "http://127.0.0.1:9/hook" --webhook-secret fixture-secret \
	--smtp-host 127.0.0.1 --smtp-port 9 --smtp-tls none --smtp-from "Comments <c@blog.example>" \
	2>"$tmp/serve.log" &
pid=$!
i=0
until curl -fs "$base/healthz" >/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$tmp/serve.log"; exit 1; }
	sleep 0.1
done

# submit POST AUTHOR EMAIL BODY [PARENT]: prints the new comment's id.
submit() {
	form=$(curl -fs -H "Origin: $origin" "$base/api/form?post=$1" | sed 's/.*"token":"\([^"]*\)".*/\1/')
	parent=${5:-}
	curl -fs -H "Origin: $origin" -H 'Content-Type: application/json' \
		-d "{\"post\":\"$1\",\"author\":\"$2\",\"email\":\"$3\",\"body\":\"$4\",\"token\":\"$form\",\"parent\":\"$parent\"}" \
		"$base/api/comments" | sed 's/.*"id":"\([^"]*\)".*/\1/'
}
admin() { # METHOD PATH [BODY]
	curl -fs -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+-d "$3"} "$base$2" >/dev/null
}

a1=$(submit /about Grace grace@example.org 'First on *about*.')
a2=$(submit /about Linus linus@example.org 'Second, with a [link](https://example.org).')
admin POST "/api/admin/comments/$a1/approve"
admin POST "/api/admin/comments/$a2/approve"
r1=$(submit /about Ken ken@example.org 'A reply to Grace.' "$a1")
admin POST "/api/admin/comments/$r1/approve"
j1=$(submit /posts/hello Margaret margaret@example.org 'Rejected one.')
admin POST "/api/admin/comments/$j1/reject"
s1=$(submit /posts/hello Spammy spam@example.org 'Buy now.')
admin POST "/api/admin/comments/$s1/spam"
submit /posts/hello Barbara barbara@example.org 'Still pending.' >/dev/null
submit /about Edsger edsger@example.org 'Pending on about.' >/dev/null
d1=$(submit /posts/hello Alan alan@example.org 'To be deleted.')
admin POST "/api/admin/comments/$d1/approve"
admin DELETE "/api/admin/comments/$d1"
# Let the notify worker plan its deliveries into the outbox.
sleep 2
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

# A backup copies only the pages in use: the live file is grown in chunks.
mkdir -p "$(dirname "$root/$out")"
rm -f "$root/$out"
"$bin" backup "$root/$out"
echo "wrote $out ($(wc -c <"$root/$out") bytes) from commit $commit"
