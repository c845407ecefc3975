# sql: the PostgreSQL schema, as numbered migrations applied in order by
# `tokilakectl db migrate`, which reads them from $(pkgdatadir)/sql
# (DATADIR "/sql" in the C code; TOKILAKE_SQL_DIR overrides it, as the
# tests do to use the source tree's files).
sqldir = $(pkgdatadir)/sql
dist_sql_DATA = sql/001_initial.sql \
	sql/002_node_instance.sql \
	sql/003_api_keys.sql \
	sql/004_usage.sql \
	sql/005_key_load.sql \
	sql/006_agent_instance.sql \
	sql/007_agent_state.sql
