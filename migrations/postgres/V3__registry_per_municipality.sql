-- Every registry record belongs to one municipality, and only that municipality writes it.
-- Same meaning as migrations/sqlite/V3__registry_per_municipality.sql:
--
-- An organisation is registered by each municipality it lets in: its record is per
-- (municipality, id), so one municipality's name for it is not another's. A department
-- belongs to the municipality of its area, and its organisation must be registered there;
-- the foreign keys hold both. Area and department ids stay unique across the database.
--
-- Existing data moves forward: an organisation is registered in every municipality that
-- registered it (its registry decisions) or has a department of its; one that none did is
-- registered in every municipality the database knows (areas, keys), as each of them could
-- use it before; one in a database that knows none is kept under the empty code.

ALTER TABLE areas ADD CONSTRAINT areas_id_municipality UNIQUE (id, municipality);

CREATE TABLE organisations_v3 (
    municipality TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    name         TEXT NOT NULL,
    CONSTRAINT organisations_v3_pkey PRIMARY KEY (municipality, id)
);

INSERT INTO organisations_v3 (municipality, id, name)
SELECT DISTINCT registered.municipality, o.id, o.name
FROM organisations o
JOIN (
    SELECT d.organisation AS id, a.municipality AS municipality
    FROM departments d JOIN areas a ON a.id = d.area
    UNION
    SELECT organisation COLLATE "C", municipality FROM decisions
    WHERE kind = 'registry' AND outcome = 'organisation' AND organisation IS NOT NULL
) registered ON registered.id = o.id;

INSERT INTO organisations_v3 (municipality, id, name)
SELECT known.municipality, o.id, o.name
FROM organisations o
CROSS JOIN (
    SELECT municipality FROM areas UNION SELECT municipality COLLATE "C" FROM api_keys
) known
WHERE NOT EXISTS (SELECT 1 FROM organisations_v3 n WHERE n.id = o.id);

INSERT INTO organisations_v3 (municipality, id, name)
SELECT '', o.id, o.name
FROM organisations o
WHERE NOT EXISTS (SELECT 1 FROM organisations_v3 n WHERE n.id = o.id);

ALTER TABLE departments DROP CONSTRAINT departments_organisation_fkey;
DROP TABLE organisations;
ALTER TABLE organisations_v3 RENAME TO organisations;
ALTER TABLE organisations RENAME CONSTRAINT organisations_v3_pkey TO organisations_pkey;

ALTER TABLE departments ADD COLUMN municipality TEXT COLLATE "C";
UPDATE departments d SET municipality = a.municipality FROM areas a WHERE a.id = d.area;
ALTER TABLE departments ALTER COLUMN municipality SET NOT NULL;
ALTER TABLE departments ADD CONSTRAINT departments_organisation_fkey
    FOREIGN KEY (municipality, organisation) REFERENCES organisations (municipality, id);
ALTER TABLE departments ADD CONSTRAINT departments_area_municipality_fkey
    FOREIGN KEY (area, municipality) REFERENCES areas (id, municipality);

DROP INDEX departments_by_organisation;
CREATE INDEX departments_by_organisation ON departments (municipality, organisation, id);
CREATE INDEX departments_by_municipality ON departments (municipality, id);
