-- 004_usage: usage of the gateway (issue 14), rolled up per minute.
--
-- Every request a node's workers relayed is counted by that node's
-- master in one row per (key, namespace, model, node, minute): the
-- master adds its batches with INSERT ... ON CONFLICT DO UPDATE, so a
-- row grows while its minute lasts (and after, when a batch that waited
-- out a database outage arrives). key_name is the key's name ('' for
-- anonymous requests; rows stay when a key is revoked or renamed: they
-- are history). minute is the start of the UTC minute the request ended
-- in. errors counts answers with a status >= 400 or that did not end
-- normally; unknown_usage the requests whose answer reported no token
-- counts (their tokens are not in prompt_tokens / completion_tokens:
-- nothing is guessed). ttfb_ms_sum / ttfb_count average the time to
-- the first byte of the answers that had one; duration_ms_sum / requests
-- the whole duration. `tokilakectl usage` reads this table.
CREATE TABLE usage_rollups (
	key_name text NOT NULL,
	namespace text NOT NULL,
	model text NOT NULL,
	node text NOT NULL,
	minute timestamptz NOT NULL,
	requests bigint NOT NULL DEFAULT 0,
	errors bigint NOT NULL DEFAULT 0,
	prompt_tokens bigint NOT NULL DEFAULT 0,
	completion_tokens bigint NOT NULL DEFAULT 0,
	unknown_usage bigint NOT NULL DEFAULT 0,
	ttfb_ms_sum bigint NOT NULL DEFAULT 0,
	ttfb_count bigint NOT NULL DEFAULT 0,
	duration_ms_sum bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (key_name, namespace, model, node, minute)
);
CREATE INDEX usage_rollups_minute ON usage_rollups (minute);
