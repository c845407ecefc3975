-- 007_agent_state: what the router of an agent's node sees of it, for
-- operators (`tokilakectl agents`, issue 15).
--
-- The node's master writes these columns when its agentd reports a change
-- (AGENT_STATE, at most every 2 s): in_flight, the tasks the node has open
-- on the agent, and capacity, the tasks at once the agent declared (0 =
-- unknown); backend_waiting, the requests waiting in the agent's backends'
-- own queues when it reports them, and rtt_us, the link's round trip (0 =
-- unknown); breaker, the agent's circuit breaker: closed, open (out of
-- rotation after repeated failures) or half-open (one probe request
-- allowed). state_at: when they were written; NULL = not since the row
-- was (re)written: an agent of a node older than this migration, or the
-- row rewritten after a database outage, until the agent's next change
-- (reports sent while the database was away are not kept).
ALTER TABLE agents
	ADD COLUMN in_flight integer NOT NULL DEFAULT 0,
	ADD COLUMN capacity integer NOT NULL DEFAULT 0,
	ADD COLUMN backend_waiting integer NOT NULL DEFAULT 0,
	ADD COLUMN rtt_us integer NOT NULL DEFAULT 0,
	ADD COLUMN breaker text NOT NULL DEFAULT 'closed',
	ADD COLUMN state_at timestamptz;
