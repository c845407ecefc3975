# agentd
