#!/bin/bash
# hostile-http-h2.sh: HTTP/2 body framing on the public port when the
# operator turned http.http2 on (issue 12, defect 2), with a hand-rolled
# HTTP/2 client (prior knowledge on the plaintext listener).
#
# Checks: a content-length that disagrees with the DATA frames (less,
# more, no DATA at all, not a number) gets the stream reset or an error,
# never a request relayed with a body its length contradicts, and a good
# request on the same connection afterwards still gets 200. An h2c
# upgrade from HTTP/1 works (the worker's HTTP/1 read guard lets go of
# the socket when h2o switches it to HTTP/2). Meanwhile
# legitimate chat completions through the linked tokiame all succeed, and
# no tokilake process is respawned. h2o 2.2.5 does these checks itself
# (lib/http2/connection.c): this test keeps it so.
. "$(dirname "$0")/hostile-lib.sh"
HOSTILE_H2=1
path_setup
hostile_up
legit_start
hostile_cases h2_ok h2_cl_less h2_cl_more h2_cl_no_data h2_cl_bad h2c_upgrade
legit_stop
hostile_done
