# grpc_wire's own unit test (the reader's borrow-or-copy reassembly).
check_PROGRAMS += tests/unit/test_grpc_reader
TESTS += tests/unit/test_grpc_reader
tests_unit_test_grpc_reader_SOURCES = tests/unit/test_grpc_reader.c
tests_unit_test_grpc_reader_LDADD = libtlcommon.a $(PROTOBUFC_LIBS)


# task_up_wire against protobuf-c (the fast read of chunk and end).
check_PROGRAMS += tests/unit/test_task_up_wire
TESTS += tests/unit/test_task_up_wire
tests_unit_test_task_up_wire_SOURCES = tests/unit/test_task_up_wire.c
tests_unit_test_task_up_wire_LDADD = libtlcommon.a $(PROTOBUFC_LIBS)
