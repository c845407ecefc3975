#!/bin/bash
# hostile-http-framing.sh: request framing on the public HTTP port (issue
# 12, defect 2; RFC 9112 6.1, 6.3), with raw sockets (hostile_http.py).
#
# Checks: Content-Length with Transfer-Encoding (either order, with a
# body complete or still arriving), Content-Length twice (different or
# equal, or as a list), a Transfer-Encoding other than one final
# "chunked" (gzip, identity, lists, twice, obs-fold, HTTP/1.0), broken
# chunk sizes (non-hex, overlong, negative, bad CRLF, sizes past
# http.max_body_size), odd Content-Length values: each gets 400 (413/408
# for the oversized chunk) with an OpenAI-shaped error, NOTHING else is
# served on the connection (a second request pipelined behind the body,
# the smuggling primitive, must not be answered) and the connection is
# closed. Accepted spellings ("Chunked", blanks) still work, pipelining
# included. Meanwhile legitimate chat completions through the linked
# tokiame all succeed, and no tokilake process is respawned.
. "$(dirname "$0")/hostile-lib.sh"
path_setup
hostile_up
legit_start
hostile_cases cl_te te_cl cl_te_second cl_pipelined_ok cl_te_smuggle cl_te_pending cl_cl_differ cl_cl_same cl_cl_pending \
    cl_list te_gzip_chunked te_chunked_gzip te_identity te_chunked_twice te_chunked_list_twice \
    te_gzip_then_chunked te_chunked_semicolon te_xchunked te_empty te_obs_fold obs_fold_other \
    te_trailing_blank te_http10 te_space_colon te_ok_case te_ok_blanks chunk_nonhex chunk_overlong_hex \
    chunk_bad_crlf chunk_negative chunk_huge chunk_huge_ext cl_negative cl_plus cl_hex cl_huge
legit_stop
hostile_done
