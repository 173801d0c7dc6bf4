-- 001_init: Parley's whole schema on PostgreSQL, one section per area of the
-- bbolt store (storage/bolt/db.go documents the buckets these mirror).
--
-- Conventions, so that every section reads alike:
-- * Domain objects are JSONB documents (`doc`), encoded exactly as bbolt
--   stores them (encoding/json of the moderation type). Real columns exist
--   only for what a query filters, sorts or constrains on; they are copies
--   of fields of `doc`, written together with it.
-- * Site-scoped tables reference sites(id) ON DELETE CASCADE: deleting a site
--   deletes everything of it, as deleting its bbolt bucket does.
-- * Times are timestamptz. Counters are bigint.
-- * Each section below is owned by one area; change only your own, and never
--   edit this file once released: add 002_….sql instead.

-- ==========================================================================
-- Sites and their origins (moderation.Site; bbolt: siteinfo, origins)
-- ==========================================================================
CREATE TABLE sites (
    id      text PRIMARY KEY,
    created timestamptz NOT NULL,
    doc     jsonb NOT NULL               -- moderation.Site
);

-- An origin belongs to one site: the primary key makes that so.
CREATE TABLE site_origins (
    origin text PRIMARY KEY,
    site   text NOT NULL REFERENCES sites (id) ON DELETE CASCADE
);
CREATE INDEX site_origins_site ON site_origins (site);

-- Every database has the default site (moderation.DefaultSite), as a new
-- bbolt file does: named "Default", with no origins and no settings of its
-- own. The document is moderation.Site as encoding/json writes it.
INSERT INTO sites (id, created, doc)
SELECT 'default', t, jsonb_build_object('id', 'default', 'name', 'Default', 'origins', '[]'::jsonb,
        'settings', '{}'::jsonb, 'created', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
FROM now() AS t
ON CONFLICT (id) DO NOTHING;

-- ==========================================================================
-- Comments (moderation.Comment; bbolt: comments, status, thread, replies,
-- model/trained, imported)
-- ==========================================================================
CREATE TABLE comments (
    site     text NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    id       text NOT NULL,              -- time-ordered, unique by construction
    post     text NOT NULL,              -- the post key
    parent   text,                       -- NULL for a top-level comment
    status   text NOT NULL,              -- pending, approved, rejected, spam, deleted
    created  timestamptz NOT NULL,
    doc      jsonb NOT NULL,             -- moderation.Comment, tombstones included
    training jsonb,                      -- moderation.Training: what it taught the classifier, NULL if nothing
    PRIMARY KEY (site, id)
);
-- The public thread read: a post's visible comments in order (IDs sort by
-- creation time; bbolt's thread is in ID order too). Deleted ones stay as
-- tombstones so that replies keep their place.
CREATE INDEX comments_thread ON comments (site, post, id)
    WHERE status IN ('approved', 'deleted');
-- The moderators' queues, oldest first (IDs sort by creation time).
CREATE INDEX comments_queue ON comments (site, status, id);
-- A comment's replies.
CREATE INDEX comments_replies ON comments (site, parent) WHERE parent IS NOT NULL;

-- Approved comments per post, kept in each status change's own transaction
-- (as bbolt's counts bucket), so the count script reads many posts at once
-- without counting rows.
CREATE TABLE post_counts (
    site     text NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    post     text NOT NULL,
    approved bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (site, post)
);

-- Comments per status (tombstones not counted), for the moderators' tabs:
-- counting the rows would read the whole site at every page load. A
-- trigger keeps them, so that every writer of comments (the comment write,
-- a restore, an operator's SQL) does. Each change adds to the row of its
-- connection's stripe (pg_backend_pid() % 64), so concurrent submissions do
-- not queue for one counter row; a read sums a site's stripes. A stripe may
-- go below zero (a comment counted in one stripe leaves through another);
-- the sum does not.
CREATE TABLE status_counts (
    site   text NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    status text NOT NULL,
    stripe int NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (site, status, stripe)
);

CREATE FUNCTION count_statuses() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.site = NEW.site THEN
        RETURN NULL;
    END IF;
    -- A comment deleted with its site takes nothing to count.
    IF TG_OP <> 'INSERT' AND OLD.status <> 'deleted' AND EXISTS (SELECT 1 FROM sites WHERE id = OLD.site) THEN
        INSERT INTO status_counts (site, status, stripe, n) VALUES (OLD.site, OLD.status, pg_backend_pid() % 64, -1)
        ON CONFLICT (site, status, stripe) DO UPDATE SET n = status_counts.n - 1;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status <> 'deleted' THEN
        INSERT INTO status_counts (site, status, stripe, n) VALUES (NEW.site, NEW.status, pg_backend_pid() % 64, 1)
        ON CONFLICT (site, status, stripe) DO UPDATE SET n = status_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER comments_count_statuses AFTER INSERT OR DELETE OR UPDATE OF site, status ON comments
    FOR EACH ROW EXECUTE FUNCTION count_statuses();

-- Imported comments: the SHA-256 of (source system, site, id there) → the
-- Parley ID it became, so importing a file again skips what it created, even
-- if deleted since.
CREATE TABLE imported (
    site    text NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    key     bytea NOT NULL,
    comment text NOT NULL,
    PRIMARY KEY (site, key)
);

-- ==========================================================================
-- Spam classifier model per site (bbolt: model)
-- ==========================================================================
CREATE TABLE classifier_models (
    site    text PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    version bigint,                      -- the classifier version it was built for; NULL until first built
    ham     bigint NOT NULL DEFAULT 0,   -- comments learned as ham
    spam    bigint NOT NULL DEFAULT 0    -- comments learned as spam
);

-- Per feature hash (a uint32, at most classifier.Buckets per site) counts.
CREATE TABLE classifier_features (
    site    text NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    feature bigint NOT NULL CHECK (feature BETWEEN 0 AND 4294967295),
    ham     bigint NOT NULL DEFAULT 0,
    spam    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (site, feature)
);

-- ==========================================================================
-- Audit log (moderation.AuditEntry; bbolt: audit, per site and instance)
-- ==========================================================================
CREATE TABLE audit (
    seq     bigserial,                   -- order of writing, never reused
    site    text NOT NULL,               -- '' for the instance's own entries
    -- The site's entries go with the site; the instance's ('') belong to none.
    site_fk text GENERATED ALWAYS AS (NULLIF(site, '')) STORED
            REFERENCES sites (id) ON DELETE CASCADE,
    doc     jsonb NOT NULL,              -- moderation.AuditEntry
    -- Unique per log, as in bbolt (one sequence per site): parley copy
    -- brings each log's numbers over as they are, and bbolt's logs number
    -- from 1 each. New entries take the serial, which Restore moves past
    -- every number it writes.
    PRIMARY KEY (site, seq)
);

-- ==========================================================================
-- Moderators (moderation.Moderator; bbolt: moderators)
-- ==========================================================================
CREATE TABLE moderators (
    name   text PRIMARY KEY,             -- as created; the key of its sessions
    -- moderation.FoldName(name), computed in Go: "Admin" and " admin" are one
    -- person, and this constraint is what keeps a second one out.
    folded text NOT NULL UNIQUE,
    doc    jsonb NOT NULL                -- moderation.Moderator
);

-- ==========================================================================
-- API tokens (moderation.Token; bbolt: tokens, tokenids)
-- ==========================================================================
CREATE TABLE tokens (
    hash text PRIMARY KEY,               -- SHA-256 of the secret, hex
    id   text NOT NULL UNIQUE,           -- to revoke by ID
    site text NOT NULL DEFAULT '',       -- '' for an owner's token: the whole instance
    doc  jsonb NOT NULL                  -- moderation.Token
);

-- ==========================================================================
-- Admin page sessions (moderation.Session; bbolt: sessions)
-- ==========================================================================
CREATE TABLE sessions (
    id        text PRIMARY KEY,          -- SHA-256 of the cookie's secret, hex
    moderator text NOT NULL,             -- to end every session of a moderator
    created   timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,      -- to purge idle sessions
    doc       jsonb NOT NULL             -- moderation.Session
);
CREATE INDEX sessions_moderator ON sessions (moderator);
CREATE INDEX sessions_last_seen ON sessions (last_seen);

-- ==========================================================================
-- Server secrets (bbolt: meta "secret:NAME")
-- ==========================================================================
CREATE TABLE secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

-- ==========================================================================
-- Blocklists per site (moderation.Blocklist; bbolt: blocklist "list")
-- ==========================================================================
CREATE TABLE blocklists (
    site text PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    doc  jsonb NOT NULL                  -- moderation.Blocklist
);

-- ==========================================================================
-- Claims: spent form tokens and recent comment bodies (moderation.Claim;
-- bbolt: claims). Keys are HMACs, never raw data.
-- ==========================================================================
CREATE TABLE claims (
    key      text PRIMARY KEY,
    until_ns bigint NOT NULL             -- held until then; purged after
);
CREATE INDEX claims_until ON claims (until_ns);

-- Takes claims that nobody holds, or fails with SQLSTATE PA001 when one of
-- the keys is there (held or expired but not yet purged): a submission's
-- usual case in the round trip of its writes, with a clear error to fall
-- back on (storage/postgres/claims.go).
CREATE FUNCTION take_free_claims(keys text[], untils bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    taken bigint;
BEGIN
    INSERT INTO claims (key, until_ns) SELECT * FROM unnest(keys, untils) ON CONFLICT (key) DO NOTHING;
    GET DIAGNOSTICS taken = ROW_COUNT;
    IF taken < cardinality(keys) THEN
        RAISE EXCEPTION 'a claim is held' USING ERRCODE = 'PA001';
    END IF;
END
$$;

-- ==========================================================================
-- Single-use links, once used (bbolt: links). The primary key is what makes
-- a link usable once across instances: of two inserts of one nonce, one
-- fails with a unique violation.
-- ==========================================================================
CREATE TABLE used_links (
    nonce   text PRIMARY KEY,
    expires timestamptz NOT NULL         -- forgotten after; whole seconds, as bbolt keeps it
);
CREATE INDEX used_links_expires ON used_links (expires);

-- ==========================================================================
-- Commenters (moderation.Commenter; bbolt: commenters)
-- ==========================================================================
-- approved is the truth about the count: comment writes move it with
-- UPDATE … SET approved = GREATEST(approved + n, 0) without rewriting
-- doc, and readers take it from here, not from doc's "approved".
CREATE TABLE commenters (
    email    text PRIMARY KEY,           -- moderation.EmailKey: trimmed, lower-cased
    approved bigint NOT NULL DEFAULT 0,
    doc      jsonb NOT NULL              -- moderation.Commenter
);

-- ==========================================================================
-- Notification outbox (moderation.Transition, moderation.Delivery; bbolt:
-- changes, outbox, held)
-- ==========================================================================
-- Every move of a comment into a status, written in the move's own
-- transaction, until a notify worker plans its deliveries. Planning deletes
-- the row and inserts the deliveries in one transaction; of two workers
-- planning one row, the second deletes nothing and so queues nothing.
CREATE TABLE outbox_changes (
    seq bigserial PRIMARY KEY,           -- Transition.Seq is this, whatever doc says
    doc jsonb NOT NULL                   -- moderation.Transition
);

-- Notifications owed, until sent or given up. A worker takes due rows with
-- SELECT … FOR UPDATE SKIP LOCKED and marks them held_until a few minutes
-- ahead in the same transaction: no other worker gets them until the holder
-- finishes or saves them (which clears the hold) or the hold lapses (the
-- holder crashed). A group (a digest) is taken whole or not at all.
CREATE TABLE outbox_deliveries (
    seq        bigserial PRIMARY KEY,    -- Delivery.Seq, also written into doc
    grp        text NOT NULL DEFAULT '', -- Delivery.Group; '' for none
    due        timestamptz NOT NULL,
    -- pending: never tried; retrying: tried and failed, due again at due;
    -- failed: given up at failed_at, kept a while to be seen, never due.
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'retrying', 'failed')),
    failed_at  timestamptz,              -- Delivery.FailedAt, NULL unless failed
    held_until timestamptz,              -- NULL or passed: nobody holds it
    doc        jsonb NOT NULL,           -- moderation.Delivery
    CHECK ((status = 'failed') = (failed_at IS NOT NULL))
);
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (due, seq) WHERE status <> 'failed';
CREATE INDEX outbox_deliveries_grp ON outbox_deliveries (grp, seq) WHERE grp <> '';
CREATE INDEX outbox_deliveries_failed ON outbox_deliveries (failed_at) WHERE status = 'failed';
-- Few rows are held at any time: finishing or saving one lets it go.
CREATE INDEX outbox_deliveries_held ON outbox_deliveries (grp, held_until) WHERE held_until IS NOT NULL;

-- ==========================================================================
-- Leases: housekeeping (retention purge, digests) that must run once per
-- period across instances. A holder takes or renews a row while until has
-- passed or it holds it already.
-- ==========================================================================
CREATE TABLE leases (
    name   text PRIMARY KEY,
    holder text NOT NULL,
    until  timestamptz NOT NULL
);
