# agent link tests (issue 3): the agentd side of the link against
# python3-grpcio and hand-written HTTP/2 peers, and the real tokiame <->
# tokilake pair. Helpers: link-lib.sh (shell), link_h2.py (raw HTTP/2,
# HPACK literals, gRPC framing, protobuf), link_garbage.py (misbehaving
# agents), link_many.py (1,000 idle agents), grpc_agent.py (grpcio agent).
TESTS += \
	tests/integration/link-grpcio-agent.sh \
	tests/integration/link-tokiame.sh \
	tests/integration/link-robustness.sh \
	tests/integration/link-memory.sh \
	tests/integration/link-lazy-status.sh

EXTRA_DIST += \
	tests/integration/link-lazy-status.sh \
	tests/integration/link-grpcio-agent.sh \
	tests/integration/link-tokiame.sh \
	tests/integration/link-robustness.sh \
	tests/integration/link-memory.sh \
	tests/integration/link-lib.sh \
	tests/integration/link_h2.py \
	tests/integration/link_garbage.py \
	tests/integration/link_many.py \
	tests/integration/grpc_agent.py
