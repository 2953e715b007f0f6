-- Every registry record belongs to one municipality, and only that municipality writes it.
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

CREATE UNIQUE INDEX areas_by_id_and_municipality ON areas (id, municipality);

-- Renaming moves the old departments' foreign key to the renamed organisations.
ALTER TABLE organisations RENAME TO organisations_v2;
ALTER TABLE departments RENAME TO departments_v2;

CREATE TABLE organisations (
    municipality TEXT NOT NULL,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    PRIMARY KEY (municipality, id)
) STRICT;

INSERT INTO organisations (municipality, id, name)
SELECT DISTINCT registered.municipality, o.id, o.name
FROM organisations_v2 o
JOIN (
    SELECT d.organisation AS id, a.municipality AS municipality
    FROM departments_v2 d JOIN areas a ON a.id = d.area
    UNION
    SELECT organisation, municipality FROM decisions
    WHERE kind = 'registry' AND outcome = 'organisation' AND organisation IS NOT NULL
) registered ON registered.id = o.id;

INSERT INTO organisations (municipality, id, name)
SELECT known.municipality, o.id, o.name
FROM organisations_v2 o
CROSS JOIN (SELECT municipality FROM areas UNION SELECT municipality FROM api_keys) known
WHERE NOT EXISTS (SELECT 1 FROM organisations n WHERE n.id = o.id);

INSERT INTO organisations (municipality, id, name)
SELECT '', o.id, o.name
FROM organisations_v2 o
WHERE NOT EXISTS (SELECT 1 FROM organisations n WHERE n.id = o.id);

CREATE TABLE departments (
    id           TEXT NOT NULL PRIMARY KEY,
    municipality TEXT NOT NULL,
    organisation TEXT NOT NULL,
    area         TEXT NOT NULL,
    name         TEXT NOT NULL,
    dwellings    INTEGER NOT NULL CHECK (dwellings >= 0),
    FOREIGN KEY (municipality, organisation) REFERENCES organisations (municipality, id),
    FOREIGN KEY (area, municipality) REFERENCES areas (id, municipality)
) STRICT;

INSERT INTO departments (id, municipality, organisation, area, name, dwellings)
SELECT d.id, a.municipality, d.organisation, d.area, d.name, d.dwellings
FROM departments_v2 d JOIN areas a ON a.id = d.area;

DROP TABLE departments_v2;
DROP TABLE organisations_v2;

CREATE INDEX departments_by_municipality ON departments (municipality, id);
CREATE INDEX departments_by_organisation ON departments (municipality, organisation, id);
CREATE INDEX departments_by_area ON departments (area);
