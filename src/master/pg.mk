# PostgreSQL mode (issue 6): the master's database connection (src/master/pg*.c,
# see src/master/pg.h) and agentd's side of the network (src/agentd/network.c).
tokilake_SOURCES += \
	src/master/pg.c src/master/pg.h \
	src/master/pg_snapshot.c \
	src/master/pg_agents.c \
	src/master/pg_keys.c \
	src/master/pg_usage.c \
	src/master/pg_keyload.c \
	src/agentd/network.c src/agentd/network.h
