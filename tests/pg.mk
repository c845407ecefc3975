# tests: issue 6, PostgreSQL network. Each helper keeps its lines in its
# own block below.

# tokilakectl and the schema, on a throwaway PostgreSQL cluster
# (pg-lib.sh; ctl-lib.sh has the tokilakectl helpers).
TESTS += \
	tests/integration/ctl-migrate.sh \
	tests/integration/ctl-namespace.sh \
	tests/integration/ctl-token.sh \
	tests/integration/ctl-notify.sh \
	tests/integration/ctl-standalone.sh
EXTRA_DIST += \
	tests/integration/pg-lib.sh \
	tests/integration/ctl-lib.sh \
	tests/integration/ctl-migrate.sh \
	tests/integration/ctl-namespace.sh \
	tests/integration/ctl-token.sh \
	tests/integration/ctl-notify.sh \
	tests/integration/ctl-standalone.sh

# forwarding between nodes (helper "fwd"): two nodes, one PostgreSQL,
# requests to node a for an agent linked to node b (fwd-lib.sh).
TESTS += \
	tests/integration/fwd-forward.sh \
	tests/integration/fwd-node-kill.sh \
	tests/integration/fwd-tls.sh \
	tests/integration/fwd-pressure.sh
EXTRA_DIST += \
	tests/integration/fwd-lib.sh \
	tests/integration/fwd-forward.sh \
	tests/integration/fwd-node-kill.sh \
	tests/integration/fwd-tls.sh \
	tests/integration/fwd-pressure.sh

# the master's PostgreSQL link and agentd's network view (helper
# "master"): two nodes, one PostgreSQL; outage, resync, revocation, expiry.
TESTS += \
	tests/integration/pg-network.sh
EXTRA_DIST += \
	tests/integration/pg-network.sh

# node.name cannot be held by two running nodes (issue 13, item 2).
TESTS += \
	tests/integration/pg-node-name.sh
EXTRA_DIST += \
	tests/integration/pg-node-name.sh
# liveness that heals (issue 13, helper "pglive"): a node stalled past
# node.ttl behind a relay is expired, then taken back by itself.
TESTS += \
	tests/integration/pg-heal.sh \
	tests/integration/pg-resync-tx.sh \
	tests/integration/pg-events.sh
EXTRA_DIST += \
	tests/integration/pg-heal.sh \
	tests/integration/pg-resync-tx.sh \
	tests/integration/pg-events.sh \
	tests/integration/pg_relay.py
# reconnects under load (issue 13, helper "gap"): node b's database
# connection dropped again and again while a is loaded and watched.
TESTS += \
	tests/integration/pg-reconnect-load.sh
EXTRA_DIST += \
	tests/integration/pg-reconnect-load.sh
# every --json output of tokilakectl, standalone and PostgreSQL (issue 13).
TESTS += \
	tests/integration/ctl-json.sh
EXTRA_DIST += \
	tests/integration/ctl-json.sh
# a node tells the truth about its state (issue 13, helper "health"): a
# wrong database password is 503 on /healthz with the reason.
TESTS += \
	tests/integration/pg-wrong-password.sh
EXTRA_DIST += \
	tests/integration/pg-wrong-password.sh \
	tests/integration/healthz_hammer.py
# end-user API keys in PostgreSQL mode (issue 14, helper "pgkeys"):
# tokilakectl key, and the keys pushed to every worker of every node.
TESTS += \
	tests/integration/ctl-key.sh \
	tests/integration/pg-keys.sh
EXTRA_DIST += \
	tests/integration/ctl-key.sh \
	tests/integration/pg-keys.sh

# network-wide key limits (issue 14, helper "netlimits"): two nodes share
# a key's counts through key_load (sql/005_key_load.sql).
TESTS += \
	tests/integration/netlimit-pg.sh
EXTRA_DIST += \
	tests/integration/netlimit-pg.sh \
	tests/integration/netlimit_load.py
# the master's exchange (src/master/pg_keyload.c) with the connection stubbed
check_PROGRAMS += tests/unit/test_pg_keyload
TESTS += tests/unit/test_pg_keyload
tests_unit_test_pg_keyload_SOURCES = tests/unit/test_pg_keyload.c src/master/pg_keyload.c
tests_unit_test_pg_keyload_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/master
tests_unit_test_pg_keyload_LDADD = $(COMMON_LIBS)
