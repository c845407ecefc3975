# agentd gRPC link: the server side of tokiame's Connect and Serve calls.
tokilake_SOURCES += \
	src/agentd/link.h src/agentd/link_internal.h \
	src/agentd/link_conn.c src/agentd/link_stream.c \
	src/agentd/link_connect.c src/agentd/link_task.c \
	src/agentd/link_refused.h src/agentd/link_refused.c \
	src/agentd/relay.c
