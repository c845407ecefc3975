-- 003_api_keys: end-user API keys (issue 14), in PostgreSQL mode.
--
-- A key is "sk-tlk-" + 64 hex digits (src/common/apikey.h); only its
-- hash is stored ("sha256:" + 64 lower-case hex, as token hashes). Names
-- follow apikey_name_valid(). allow holds globs over "namespace:model"
-- ('*' any run of characters). Limits: 0 = none. A key is disabled
-- (refused with 403, may be enabled again) or revoked (refused with 401
-- as an unknown key, for good): a revoked row stays for the usage
-- history but no node loads it. Every change is announced on channel
-- 'tokilake' with the payload 'api_keys' (tokilake_notify() of
-- 001_initial); each master then loads the keys again and pushes them to
-- its workers.
CREATE TABLE api_keys (
	id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE
	    CONSTRAINT api_key_name_valid CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
	hash text NOT NULL UNIQUE
	    CONSTRAINT api_key_hash_valid CHECK (hash ~ '^sha256:[0-9a-f]{64}$'),
	owner text NOT NULL DEFAULT ''
	    CONSTRAINT api_key_owner_length CHECK (length(owner) <= 128),
	allow text[] NOT NULL DEFAULT '{*}'
	    CONSTRAINT api_key_allow_count CHECK (cardinality(allow) <= 64),
	rpm integer NOT NULL DEFAULT 0 CHECK (rpm >= 0),
	tpm integer NOT NULL DEFAULT 0 CHECK (tpm >= 0),
	max_in_flight integer NOT NULL DEFAULT 0 CHECK (max_in_flight >= 0),
	tokens_per_day bigint NOT NULL DEFAULT 0 CHECK (tokens_per_day >= 0),
	tokens_per_month bigint NOT NULL DEFAULT 0 CHECK (tokens_per_month >= 0),
	expires_at timestamptz,
	disabled boolean NOT NULL DEFAULT false,
	revoked_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER api_keys_notify
	AFTER INSERT OR UPDATE OR DELETE ON api_keys
	FOR EACH ROW EXECUTE FUNCTION tokilake_notify();
CREATE TRIGGER api_keys_notify_truncate
	AFTER TRUNCATE ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION tokilake_notify();
