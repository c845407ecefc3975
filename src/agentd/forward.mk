# agentd forwarding (issue 6, part 5): requests for agents of other nodes
# go to that node's internal listener over HTTP/2 (src/agentd/forward*.c),
# and a worker's side of that listener (src/worker/node_*.c).
tokilake_SOURCES += \
	src/agentd/forward.h src/agentd/forward_internal.h \
	src/agentd/forward.c src/agentd/forward_peer.c
tokilake_SOURCES += \
	src/worker/node_listener.c src/worker/node_listener.h
