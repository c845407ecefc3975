# tokiame: command line and entry point. The agent itself (link, tasks,
# local API) is listed in agent.mk.
tokiame_SOURCES += src/tokiame/main.c src/tokiame/cli.c src/tokiame/cli.h \
	src/tokiame/agent.h src/tokiame/agent.c

TESTS += tests/unit/tokiame-cli.sh
EXTRA_DIST += tests/unit/tokiame-cli.sh
