# Config parsing (owned with tl_config.h / tm_config.h).
libtlcommon_a_SOURCES += src/common/tl_config.h
tokiame_SOURCES += src/tokiame/tm_config.h
