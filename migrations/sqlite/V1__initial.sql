-- The letting-rules store, SQLite flavour. Same tables and meaning as
-- migrations/postgres/V1__initial.sql. Dates are ISO-8601 text (YYYY-MM-DD), instants
-- are RFC 3339 text in UTC with microseconds, money is integer øre, JSON bodies are text.

CREATE TABLE organisations (
    id   TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL
) STRICT;

CREATE TABLE areas (
    id           TEXT NOT NULL PRIMARY KEY,
    municipality TEXT NOT NULL,
    name         TEXT NOT NULL
) STRICT;
CREATE INDEX areas_by_municipality ON areas (municipality, id);

CREATE TABLE departments (
    id           TEXT NOT NULL PRIMARY KEY,
    organisation TEXT NOT NULL REFERENCES organisations (id),
    area         TEXT NOT NULL REFERENCES areas (id),
    name         TEXT NOT NULL,
    dwellings    INTEGER NOT NULL CHECK (dwellings >= 0)
) STRICT;
CREATE INDEX departments_by_organisation ON departments (organisation, id);
CREATE INDEX departments_by_area ON departments (area);

CREATE TABLE area_statistics (
    area                  TEXT NOT NULL REFERENCES areas (id),
    year                  INTEGER NOT NULL,
    facts                 TEXT NOT NULL,
    transfer_income_share TEXT,
    self_supporting_weeks TEXT,
    loaded_by_decision    TEXT NOT NULL,
    PRIMARY KEY (area, year)
) STRICT;

CREATE TABLE quota_counters (
    scope              TEXT NOT NULL,
    period             TEXT NOT NULL,
    vacancies          INTEGER NOT NULL DEFAULT 0 CHECK (vacancies >= 0),
    municipal_referral INTEGER NOT NULL DEFAULT 0 CHECK (municipal_referral >= 0),
    flexible           INTEGER NOT NULL DEFAULT 0 CHECK (flexible >= 0),
    internal_list      INTEGER NOT NULL DEFAULT 0 CHECK (internal_list >= 0),
    external_list      INTEGER NOT NULL DEFAULT 0 CHECK (external_list >= 0),
    PRIMARY KEY (scope, period)
) STRICT;

CREATE TABLE decisions (
    id            TEXT NOT NULL PRIMARY KEY,
    kind          TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    organisation  TEXT,
    department    TEXT,
    area          TEXT,
    subject       TEXT,
    event_date    TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    channel       TEXT,
    area_class    TEXT,
    amount_ore    INTEGER,
    rule_set_id   TEXT,
    rule_set_hash TEXT,
    principal     TEXT NOT NULL,
    body          TEXT NOT NULL
) STRICT;
CREATE INDEX decisions_by_municipality_date ON decisions (municipality, event_date, id);
CREATE INDEX decisions_by_subject ON decisions (subject);

-- The decision log is append-only.
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'the decision log is append-only');
END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'the decision log is append-only');
END;

CREATE TABLE cases (
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    municipality TEXT NOT NULL,
    organisation TEXT,
    department   TEXT,
    status       TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;
CREATE INDEX cases_by_status ON cases (kind, municipality, status, id);

CREATE TABLE grant_pools (
    municipality  TEXT NOT NULL,
    year          INTEGER NOT NULL,
    committed_ore INTEGER NOT NULL DEFAULT 0,
    paid_ore      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (municipality, year)
) STRICT;

CREATE TABLE idempotency (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    response     BLOB NOT NULL,
    PRIMARY KEY (principal, key)
) STRICT;

CREATE TABLE api_keys (
    id           TEXT NOT NULL PRIMARY KEY,
    principal    TEXT NOT NULL,
    municipality TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    label        TEXT NOT NULL
) STRICT;
