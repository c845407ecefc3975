# tokiame
tokiame_SOURCES += src/tokiame/main.c
