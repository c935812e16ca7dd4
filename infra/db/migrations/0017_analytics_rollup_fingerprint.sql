-- Analytics rollup (issue #11; README "Analytics"): what a rolled-up day's logs looked like when it
-- was last computed (a hash of its logs' ids and row versions in its covered window, of the widgets'
-- low-confidence thresholds and of the computing query), so the 15-minute run recomputes only the
-- days whose logs changed (a new log, a deleted one, feedback given) and only moves the cover of the
-- others. NULL (as for days rolled up before this): recompute.
ALTER TABLE analytics_rollup_days ADD COLUMN fingerprint TEXT;
