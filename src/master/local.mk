# master: the supervisor (see src/master/master.h for the file map)
tokilake_SOURCES += src/master/token_cmd.c \
	src/master/main.c \
	src/master/master.c src/master/master.h \
	src/master/spawn.c \
	src/master/status.c \
	src/master/node_state.c \
	src/master/reload.c \
	src/master/stop.c \
	src/master/signals.c \
	src/master/listen.c \
	src/master/pidfile.c \
	src/master/child_ipc.c \
	src/master/usage_log.c src/master/usage.h \
	src/master/tls_check.c \
	src/master/proctitle.c
