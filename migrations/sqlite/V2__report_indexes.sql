-- Indexes for the compliance report: counts by kind and column over a date range are
-- answered from the index alone, and pending lettings from a partial index, so a
-- quarter's report costs what its own events cost, not a scan of all history.
CREATE INDEX decisions_by_municipality_kind_date
    ON decisions (municipality, kind, event_date, id, channel, area_class, outcome);
CREATE INDEX decisions_pending_lettings ON decisions (municipality, event_date)
    WHERE kind = 'letting' AND outcome = 'pending_municipal_approval';
