# master
tokilake_SOURCES += src/master/main.c
