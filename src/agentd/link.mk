# agentd gRPC link
