# request path tests (issue 4)
