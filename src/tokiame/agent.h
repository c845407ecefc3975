/*
 * agent: the running tokiame, once its configuration is complete.
 *
 * main() parses the command line and the config file, checks them with
 * tm_config_finish() and sets up logging; tokiame_run() then owns the
 * process: the link to tokilake, the tasks, the local API and the
 * signals. The config stays owned by main() and outlives the call.
 * Returns the process exit status: 0 after a requested stop, 1 on a
 * runtime failure, 2 when the configuration cannot be applied.
 */
#ifndef TM_AGENT_H
#define TM_AGENT_H

#include "tm_config.h"

int tokiame_run(struct tm_config *conf);

#endif
