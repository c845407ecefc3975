-- 001_initial: the shared state of a network of tokilake nodes.
--
-- Applied by `tokilakectl db migrate`, inside one transaction that holds
-- pg_advisory_xact_lock(7417), and recorded in schema_migrations. Every
-- node's master LISTENs on channel 'tokilake'; the triggers below send
-- the name of the table that changed as the payload, so a master knows
-- which part of its snapshot to reload. Heartbeats (UPDATEs of
-- heartbeat_at alone) are not announced: they happen every few seconds
-- on every node and would make every master reload for nothing.

-- tokilakectl creates this one before it reads the applied versions.
CREATE TABLE IF NOT EXISTS schema_migrations (
	version integer PRIMARY KEY,
	name text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE nodes (
	name text PRIMARY KEY,
	internal_url text NOT NULL,
	started_at timestamptz NOT NULL DEFAULT now(),
	heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- Names follow the rule of tokilake.yaml (cfg_namespace_valid): the
-- namespace is the part of "namespace:model" before the first colon.
CREATE TABLE namespaces (
	name text PRIMARY KEY
	    CONSTRAINT namespace_name_valid CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
	created_at timestamptz NOT NULL DEFAULT now(),
	disabled_at timestamptz
);

-- Only the hash of a token is stored: "sha256:" and 64 lower-case hex
-- digits, as in tokilake.yaml. Several per namespace, for rotation.
CREATE TABLE namespace_tokens (
	id bigserial PRIMARY KEY,
	namespace text NOT NULL REFERENCES namespaces (name) ON DELETE CASCADE,
	token_hash text NOT NULL UNIQUE
	    CONSTRAINT token_hash_valid CHECK (token_hash ~ '^sha256:[0-9a-f]{64}$'),
	label text,
	created_at timestamptz NOT NULL DEFAULT now(),
	revoked_at timestamptz
);
CREATE INDEX namespace_tokens_namespace ON namespace_tokens (namespace);

-- Agents linked now, on any node. agent_id is "<node>/<boot nonce hex>/<local id>".
CREATE TABLE agents (
	agent_id text PRIMARY KEY,
	namespace text NOT NULL REFERENCES namespaces (name) ON DELETE CASCADE,
	node text NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,
	name text NOT NULL DEFAULT '',
	linked_at timestamptz NOT NULL DEFAULT now(),
	heartbeat_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_namespace ON agents (namespace);
CREATE INDEX agents_node ON agents (node);

CREATE TABLE agent_models (
	agent_id text NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
	model text NOT NULL,
	kind text NOT NULL DEFAULT 'chat',
	context_length integer NOT NULL DEFAULT 0,
	meta jsonb NOT NULL DEFAULT '{}',
	PRIMARY KEY (agent_id, model)
);

-- What happened, for operators. kind: agent_linked, agent_unlinked,
-- models_changed, namespace_added, namespace_disabled, namespace_enabled,
-- token_added,
-- token_revoked, node_started, node_expired.
CREATE TABLE events (
	id bigserial PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	node text,
	namespace text,
	agent_id text,
	kind text NOT NULL,
	detail text NOT NULL DEFAULT ''
);
CREATE INDEX events_at ON events (at);

-- NOTIFY tokilake, '<table>'. Row-level, so a statement that changes no
-- row announces nothing; PostgreSQL folds identical notifications of one
-- transaction into one, so a statement that changes many rows announces
-- its table once.
CREATE FUNCTION tokilake_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('tokilake', TG_TABLE_NAME);
	RETURN NULL;
END
$$;

CREATE TRIGGER namespaces_notify
	AFTER INSERT OR UPDATE OR DELETE ON namespaces
	FOR EACH ROW EXECUTE FUNCTION tokilake_notify();
CREATE TRIGGER namespaces_notify_truncate
	AFTER TRUNCATE ON namespaces
	FOR EACH STATEMENT EXECUTE FUNCTION tokilake_notify();

CREATE TRIGGER namespace_tokens_notify
	AFTER INSERT OR UPDATE OR DELETE ON namespace_tokens
	FOR EACH ROW EXECUTE FUNCTION tokilake_notify();
CREATE TRIGGER namespace_tokens_notify_truncate
	AFTER TRUNCATE ON namespace_tokens
	FOR EACH STATEMENT EXECUTE FUNCTION tokilake_notify();

CREATE TRIGGER agent_models_notify
	AFTER INSERT OR UPDATE OR DELETE ON agent_models
	FOR EACH ROW EXECUTE FUNCTION tokilake_notify();
CREATE TRIGGER agent_models_notify_truncate
	AFTER TRUNCATE ON agent_models
	FOR EACH STATEMENT EXECUTE FUNCTION tokilake_notify();

-- nodes and agents: an UPDATE announces only when a column other than
-- heartbeat_at changed (a restarted node sets started_at, for one).
CREATE TRIGGER nodes_notify
	AFTER INSERT OR DELETE ON nodes
	FOR EACH ROW EXECUTE FUNCTION tokilake_notify();
CREATE TRIGGER nodes_notify_update
	AFTER UPDATE ON nodes
	FOR EACH ROW
	WHEN ((OLD.name, OLD.internal_url, OLD.started_at)
	    IS DISTINCT FROM (NEW.name, NEW.internal_url, NEW.started_at))
	EXECUTE FUNCTION tokilake_notify();
CREATE TRIGGER nodes_notify_truncate
	AFTER TRUNCATE ON nodes
	FOR EACH STATEMENT EXECUTE FUNCTION tokilake_notify();

CREATE TRIGGER agents_notify
	AFTER INSERT OR DELETE ON agents
	FOR EACH ROW EXECUTE FUNCTION tokilake_notify();
CREATE TRIGGER agents_notify_update
	AFTER UPDATE ON agents
	FOR EACH ROW
	WHEN ((OLD.agent_id, OLD.namespace, OLD.node, OLD.name, OLD.linked_at)
	    IS DISTINCT FROM (NEW.agent_id, NEW.namespace, NEW.node, NEW.name, NEW.linked_at))
	EXECUTE FUNCTION tokilake_notify();
CREATE TRIGGER agents_notify_truncate
	AFTER TRUNCATE ON agents
	FOR EACH STATEMENT EXECUTE FUNCTION tokilake_notify();
