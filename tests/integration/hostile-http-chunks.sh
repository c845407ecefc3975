#!/bin/bash
# hostile-http-chunks.sh: chunk sizes and heads answered AT ONCE (issue 12,
# defect 2), with raw sockets (hostile_http.py).
#
# h2o 2.2.5 decodes a chunked body in place and notices a chunk size past
# http.max_body_size only when that many bytes arrived, so a client
# declaring "ffffffff" then going silent held the request until
# http.body_timeout. The worker's read guard (src/worker/read_guard.c)
# reads the framing as it arrives. Checks: a size past the limit, the
# line still open, sizes adding up past it: 413 within 3 s with
# body_timeout 30 s here (a pass cannot come from the 408); bad chunk
# lines split across writes, too long, data without CRLF: 400 at once; a
# head growing past http.max_header_size: 431 at once; a refused request
# pipelined behind a good one: the good one served first; good chunked
# bodies (pieces, extensions, trailers, pipelining, after Expect:
# 100-continue) and a 6 MiB upload in many chunks still served. All of it
# again over HTTPS (a second listener with TLS). Legitimate chat
# completions meanwhile all succeed, no tokilake process is respawned.
. "$(dirname "$0")/hostile-lib.sh"
BODY_TIMEOUT_S=30
MAX_BODY=8MiB
CASES="chunk_size_over_limit_silent chunk_size_over_limit_open_line chunk_sizes_sum_over_limit
    chunk_line_split_bad chunk_line_split_bare_lf chunk_line_too_long chunk_data_no_crlf
    head_over_limit_at_once chunk_pipelined_good_then_huge chunk_pipelined_two_good_then_bad
    chunk_pipelined_then_sum_over chunk_pipelined_good chunk_large_upload
    chunk_continue_good chunk_continue_huge"

# a second listener, HTTPS: the guard takes over after the TLS handshake
eval "hostile_lib_$(declare -f path_write_config)"
path_write_config()
{
	: "${TLS_HTTP_PORT:=$(freeport)}"
	hostile_lib_path_write_config "$1"
	sed -i "s|^  listen: \[\(.*\)\]$|  listen: [\1, { address: \"127.0.0.1:$TLS_HTTP_PORT\", tls: { cert: $T/agents.crt, key: $T/agents.key } }]|" "$1"
}

path_setup
path_mkcert
hostile_up
legit_start
# shellcheck disable=SC2086
hostile_cases $CASES
HOSTILE_PORT=$TLS_HTTP_PORT HOSTILE_ARGS=--tls hostile_cases $CASES
legit_stop
hostile_done
