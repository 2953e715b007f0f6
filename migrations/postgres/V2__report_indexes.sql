-- Indexes for the compliance report (see migrations/sqlite/V2__report_indexes.sql).
CREATE INDEX decisions_by_municipality_kind_date
    ON decisions (municipality, kind, event_date, id, channel, area_class, outcome);
CREATE INDEX decisions_pending_lettings ON decisions (municipality, event_date)
    WHERE kind = 'letting' AND outcome = 'pending_municipal_approval';
