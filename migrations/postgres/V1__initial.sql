-- The letting-rules store, PostgreSQL flavour. Same tables and meaning as
-- migrations/sqlite/V1__initial.sql. Keys and paged columns use the "C" collation so
-- that ordering is by code point, as in SQLite. Money is integer øre (BIGINT); JSON
-- bodies are kept as the exact text that was written.

CREATE TABLE organisations (
    id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE areas (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    municipality TEXT COLLATE "C" NOT NULL,
    name         TEXT NOT NULL
);
CREATE INDEX areas_by_municipality ON areas (municipality, id);

CREATE TABLE departments (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    organisation TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    area         TEXT COLLATE "C" NOT NULL REFERENCES areas (id),
    name         TEXT NOT NULL,
    dwellings    BIGINT NOT NULL CHECK (dwellings >= 0)
);
CREATE INDEX departments_by_organisation ON departments (organisation, id);
CREATE INDEX departments_by_area ON departments (area);

CREATE TABLE area_statistics (
    area                  TEXT COLLATE "C" NOT NULL REFERENCES areas (id),
    year                  INTEGER NOT NULL,
    facts                 TEXT NOT NULL,
    transfer_income_share TEXT,
    self_supporting_weeks TEXT,
    loaded_by_decision    TEXT NOT NULL,
    PRIMARY KEY (area, year)
);

CREATE TABLE quota_counters (
    scope              TEXT COLLATE "C" NOT NULL,
    period             TEXT COLLATE "C" NOT NULL,
    vacancies          BIGINT NOT NULL DEFAULT 0 CHECK (vacancies >= 0),
    municipal_referral BIGINT NOT NULL DEFAULT 0 CHECK (municipal_referral >= 0),
    flexible           BIGINT NOT NULL DEFAULT 0 CHECK (flexible >= 0),
    internal_list      BIGINT NOT NULL DEFAULT 0 CHECK (internal_list >= 0),
    external_list      BIGINT NOT NULL DEFAULT 0 CHECK (external_list >= 0),
    PRIMARY KEY (scope, period)
);

CREATE TABLE decisions (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kind          TEXT NOT NULL,
    municipality  TEXT COLLATE "C" NOT NULL,
    organisation  TEXT,
    department    TEXT,
    area          TEXT,
    subject       TEXT COLLATE "C",
    event_date    DATE NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    outcome       TEXT NOT NULL,
    channel       TEXT,
    area_class    TEXT,
    amount_ore    BIGINT,
    rule_set_id   TEXT,
    rule_set_hash TEXT,
    principal     TEXT NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX decisions_by_municipality_date ON decisions (municipality, event_date, id);
CREATE INDEX decisions_by_subject ON decisions (subject);

-- The decision log is append-only.
CREATE FUNCTION decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the decision log is append-only';
END;
$$;
CREATE TRIGGER decisions_no_update BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decisions_append_only();
CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions
    FOR EACH STATEMENT EXECUTE FUNCTION decisions_append_only();

CREATE TABLE cases (
    kind         TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    municipality TEXT COLLATE "C" NOT NULL,
    organisation TEXT,
    department   TEXT,
    status       TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX cases_by_status ON cases (kind, municipality, status, id);

CREATE TABLE grant_pools (
    municipality  TEXT COLLATE "C" NOT NULL,
    year          INTEGER NOT NULL,
    committed_ore BIGINT NOT NULL DEFAULT 0,
    paid_ore      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (municipality, year)
);

CREATE TABLE idempotency (
    principal    TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    request_hash BYTEA NOT NULL,
    response     BYTEA NOT NULL,
    PRIMARY KEY (principal, key)
);

CREATE TABLE api_keys (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    principal    TEXT NOT NULL,
    municipality TEXT NOT NULL,
    secret_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    label        TEXT NOT NULL
);
