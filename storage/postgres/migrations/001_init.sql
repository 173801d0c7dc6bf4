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
-- The public thread read: a post's visible comments in order. Deleted ones
-- stay as tombstones so that replies keep their place.
CREATE INDEX comments_thread ON comments (site, post, created, id)
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
    approved bigint NOT NULL DEFAULT 0 CHECK (approved >= 0),
    PRIMARY KEY (site, post)
);

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
    seq     bigserial PRIMARY KEY,       -- order of writing, never reused
    site    text NOT NULL,               -- '' for the instance's own entries
    -- The site's entries go with the site; the instance's ('') belong to none.
    site_fk text GENERATED ALWAYS AS (NULLIF(site, '')) STORED
            REFERENCES sites (id) ON DELETE CASCADE,
    doc     jsonb NOT NULL               -- moderation.AuditEntry
);
CREATE INDEX audit_site ON audit (site, seq);

-- ==========================================================================
-- Moderators (moderation.Moderator; bbolt: moderators)
-- ==========================================================================
CREATE TABLE moderators (
    name text PRIMARY KEY,
    doc  jsonb NOT NULL                  -- moderation.Moderator
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
    key   text PRIMARY KEY,
    until timestamptz NOT NULL           -- held until then; purged after
);
CREATE INDEX claims_until ON claims (until);

-- ==========================================================================
-- Single-use links, once used (bbolt: links). The primary key is what makes
-- a link usable once across instances.
-- ==========================================================================
CREATE TABLE used_links (
    nonce   text PRIMARY KEY,
    expires timestamptz NOT NULL         -- forgotten after
);
CREATE INDEX used_links_expires ON used_links (expires);

-- ==========================================================================
-- Commenters (moderation.Commenter; bbolt: commenters)
-- ==========================================================================
CREATE TABLE commenters (
    email    text PRIMARY KEY,           -- lower-cased
    approved bigint NOT NULL DEFAULT 0,  -- approved comments, as in doc
    doc      jsonb NOT NULL              -- moderation.Commenter
);

-- ==========================================================================
-- Notification outbox (moderation.Transition, moderation.Delivery; bbolt:
-- changes, outbox)
-- ==========================================================================
-- Every move of a comment into a status, written in the move's own
-- transaction, until the notify worker plans its deliveries.
CREATE TABLE outbox_changes (
    seq bigserial PRIMARY KEY,
    doc jsonb NOT NULL                   -- moderation.Transition
);

-- Notifications owed, until sent or given up. Workers claim due rows with
-- SELECT … FOR UPDATE SKIP LOCKED, so each goes out once across instances.
CREATE TABLE outbox_deliveries (
    seq    bigserial PRIMARY KEY,
    grp    text NOT NULL DEFAULT '',     -- Delivery.Group; '' for none
    due    timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    doc    jsonb NOT NULL                -- moderation.Delivery
);
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (due, seq) WHERE status = 'pending';
CREATE INDEX outbox_deliveries_grp ON outbox_deliveries (grp) WHERE grp <> '';

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
