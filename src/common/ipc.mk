# IPC codec.
libtlcommon_a_SOURCES += src/common/ipc.h
