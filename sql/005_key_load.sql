-- 005_key_load: what each node counts for each key right now, so that a
-- key's limits hold for the network as a whole (issue 14).
--
-- Each node's master writes one row per key its agentd has counts for
-- (about twice a second, one statement per report: an upsert of the
-- keys it reports and a delete of its other rows), and reads in the
-- same statement the sums of the OTHER nodes' rows that are fresh
-- (updated_at within 1.5 s, about three reports: a node that stopped or
-- lost the database stops counting). requests and tokens are those of
-- the node's last 60 s, in_flight its admitted requests not yet done,
-- tokens_day and tokens_month its tokens of the UTC day and month that
-- start at day and month (a row of an earlier day counts nothing for
-- today). These are live counters, not history: usage_rollups (004) is
-- the history, and budgets combine both (see tokilake.yaml(5), keys).
CREATE TABLE key_load (
	node text NOT NULL,
	key_name text NOT NULL,
	requests bigint NOT NULL DEFAULT 0,
	tokens bigint NOT NULL DEFAULT 0,
	in_flight bigint NOT NULL DEFAULT 0,
	tokens_day bigint NOT NULL DEFAULT 0,
	tokens_month bigint NOT NULL DEFAULT 0,
	day timestamptz NOT NULL,
	month timestamptz NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (node, key_name)
);
CREATE INDEX key_load_key ON key_load (key_name);
