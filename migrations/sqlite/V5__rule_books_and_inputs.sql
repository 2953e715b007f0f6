-- Replay (src/log, `letting replay`): every rule book version that judged a decision, kept
-- by its content hash with the files it was loaded from, and when a server put it in force;
-- and the facts each judged decision used, as the engine read them.

CREATE TABLE rule_books (
    hash      TEXT NOT NULL PRIMARY KEY,
    -- When a server first loaded this content (RFC 3339, UTC).
    loaded_at TEXT NOT NULL,
    -- JSON: [{"name": "...", "text": "..."}], the rule files in load order.
    files     TEXT NOT NULL
) STRICT;

-- Transaction time: a server put the book in force at this instant (its start or a reload).
CREATE TABLE rule_book_activations (
    activated_at TEXT NOT NULL,
    hash         TEXT NOT NULL REFERENCES rule_books (hash),
    PRIMARY KEY (activated_at, hash)
) STRICT;

-- Personal facts (pseudonymous), kept apart from the append-only log so that
-- `letting purge` can remove them once a case is closed; the log keeps the decision.
CREATE TABLE decision_inputs (
    decision_id TEXT NOT NULL PRIMARY KEY REFERENCES decisions (id),
    inputs      TEXT NOT NULL
) STRICT;
