# log_burst: a bound on the log lines strangers can cause (issue 12).
libtlcommon_a_SOURCES += src/common/log_burst.c src/common/log_burst.h
