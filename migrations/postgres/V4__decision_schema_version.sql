-- The decision log's body layout is versioned (src/log): every body written before this
-- migration has the layout of schema version 1, the first the contract describes.
ALTER TABLE decisions ADD COLUMN schema_version INTEGER NOT NULL DEFAULT 1 CHECK (schema_version >= 1);
