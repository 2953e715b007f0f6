-- The caseworker console's users (`letting users add`): a username bound to one principal,
-- as an API key is, and an Argon2 hash of the password in PHC string form (never the
-- password itself).
CREATE TABLE console_users (
    username      TEXT NOT NULL PRIMARY KEY,
    -- `municipality`, `organisation:<id>` or `auditor`.
    principal     TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- RFC 3339, UTC.
    created_at    TEXT NOT NULL
) STRICT;
