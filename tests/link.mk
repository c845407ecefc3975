# agent link tests (issue 3)
