-- 006_agent_instance: one tokiame linked to several nodes is one agent.
--
-- An agents row is one link (agent_id "<node>/<boot nonce>/<link id>"):
-- routing stays per link, so a node prefers its own link to an agent.
-- instance is the tokiame's own id (Register.agent_id, the same on
-- every link of one running tokiame), so that `tokilakectl agents`
-- shows one agent with its links and nodes rather than one per link.
-- Rows of older agents (or written before this migration) have the
-- empty instance: each is its own agent.
ALTER TABLE agents ADD COLUMN instance text NOT NULL DEFAULT '';
CREATE INDEX agents_instance ON agents (namespace, instance);
