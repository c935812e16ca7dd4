-- Admin widget search: the exact `total` of a name search tests every widget's name. Read from the
-- table, that means decoding each row up to `name_key`, its last column but a few; this narrow
-- index holds only the names, so PostgreSQL counts the matches from it (an index-only scan, about
-- half the time at 10,000 widgets) as long as most of the table is marked all-visible by vacuum,
-- and from the table as before otherwise. docs/benchmarks.md "Admin API lists".
CREATE INDEX idx_widgets_name_key ON widgets(name_key);
