# Config parsing (owned with tl_config.h / tm_config.h): a libyaml node tree
# with line numbers, value syntaxes, the table-driven key layer, and the two
# files' tables.
libtlcommon_a_SOURCES += \
	src/common/yaml_tree.c src/common/yaml_tree.h \
	src/common/cfg_value.c src/common/cfg_value.h \
	src/common/cfg_table.c src/common/cfg_table.h \
	src/common/tl_config.c src/common/tl_config.h
tokiame_SOURCES += src/tokiame/tm_config.c src/tokiame/tm_config.h

check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config tests/unit/config-keys-documented.sh
tests_unit_test_config_SOURCES = tests/unit/test_config.c \
	src/tokiame/tm_config.c src/tokiame/tm_config.h
tests_unit_test_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/tokiame \
	-DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_config_LDADD = $(COMMON_LIBS)
dist_noinst_SCRIPTS += tests/unit/config-keys-documented.sh
EXTRA_DIST += tests/unit/config
