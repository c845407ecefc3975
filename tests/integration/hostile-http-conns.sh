#!/bin/bash
# hostile-http-conns.sh: hostile connections on the public HTTP port
# (issue 12, defect 5 and the hostile-input suite), with raw sockets
# (hostile_http.py).
#
# Checks: a head over http.max_header_size gets 431 (OpenAI-shaped), whole
# or still arriving, and past h2o's own cap an error and a close; too many
# header lines, NUL bytes, a bad version, binary garbage: an error and a
# close; unknown methods and paths: JSON 405/404 on a connection that
# stays usable; "stream" not a boolean and "model": "" get 400; a body
# sent a byte at a time gets 408 at http.body_timeout (3 s here) and the
# connection closed; a head sent a byte at a time is closed at
# header_timeout; silent connections are closed at header_timeout;
# half-open connections close; a flood of 300 half-sent requests does not
# stop /healthz. Meanwhile legitimate chat completions through the linked
# tokiame all succeed, and no tokilake process is respawned.
. "$(dirname "$0")/hostile-lib.sh"
path_setup
hostile_up
legit_start
hostile_cases head_over_limit head_over_limit_incomplete head_over_h2o_cap head_many_fields \
    head_many_big_fields nul_in_header nul_in_path bad_version bad_line_head_open garbage_line method_unknown \
    path_unknown path_absolute stream_not_bool model_empty slow_body slow_head silent half_open \
    half_open_request flood
legit_stop
hostile_done
