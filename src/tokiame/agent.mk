# tokiame agent: link, tasks, local API
