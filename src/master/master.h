/*
 * master: the supervisor process of a tokilake node.
 *
 * The master parses the config, opens every listening socket, forks the
 * workers and agentd and keeps them alive. It never serves a request.
 * One file per concern:
 *
 *   main.c       command line, -n config check
 *   master.c     startup and the poll loop (signals, child IPC, timers)
 *   spawn.c      the child table: fork, reap, respawn policy, back-off
 *   status.c     what children report (HELLO, READY, CONFIG_ACK, STATUS)
 *   reload.c     SIGHUP: the reload transaction
 *   stop.c       SIGTERM/SIGINT/SIGQUIT: graceful and fast stop
 *   signals.c    signal handlers that only write to a self-pipe
 *   listen.c     listeners and agentd.sock, opened before any fork
 *   pidfile.c    the locked pid file
 *   child_ipc.c  IPC framing over the per-child socketpairs
 *   tls_check.c  load the certificates a config names (-n, reload)
 *   proctitle.c  "tokilake: worker 2 -c FILE" in ps
 *
 * Ownership: the master owns every struct tl_config it loaded. A config
 * stays alive while it is current, while a reload is trying it, or while
 * a child started with it is alive (conf_gc() frees the others). Children
 * got their copy of the config through fork and never share memory with
 * the master afterwards.
 */
#ifndef TL_MASTER_H
#define TL_MASTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "ipc.h"
#include "tl_config.h"

/* Exit codes of the tokilake binary. */
#define EXIT_RUNTIME 1 /* could not start or run (port in use, fork failed) */
/* node.name is held by another running node (PostgreSQL mode) */
#define EXIT_NAME_TAKEN 3
/* EXIT_CONFIG (2) comes from child.h: the configuration is wrong. */

/* Crash-loop throttle (see spawn.c). */
#define RESPAWN_BACKOFF_MIN_MS 250
#define RESPAWN_BACKOFF_MAX_MS 30000
/* A child that served less than this after READY counts as a crash loop. */
#define RESPAWN_HEALTHY_MS 1000
/* How long the new workers of a reload have to become READY. */
#define RELOAD_READY_TIMEOUT_MS 10000
/* SIGKILL children still alive this long after their shutdown timeout. */
#define STOP_KILL_GRACE_MS 2000
/* Bound of each child's IPC output queue: a child that stops reading
 * cannot make the master buffer without limit. */
#define CHILD_IPC_OUT_MAX (4 * 1024 * 1024)

struct listeners {
	int *http_fds; /* index matches conf->http.listen; -1 once closed */
	size_t nhttp;
	int agent_fd;   /* gRPC agent listener */
	int node_fd;    /* node.listen: internal listener for other nodes; -1 = none */
	int ipc_fd;     /* agentd.sock listener */
	char *ipc_path; /* <runtime_dir>/agentd.sock */
};

enum child_role { CHILD_WORKER, CHILD_AGENTD };

enum child_state {
	CHILD_RUNNING,  /* forked, alive as far as we know */
	CHILD_WAITING,  /* dead; respawn at respawn_at */
	CHILD_STOPPING, /* told to stop; never respawned */
	CHILD_GONE,     /* dead for good; freed by spawn_sweep() */
};

/* Framing state of one master <-> child socketpair (child_ipc.c). */
struct child_ipc {
	int fd;         /* master end; -1 when closed */
	struct buf in;  /* partial frames read from the child */
	struct buf out; /* frames not yet written */
};

struct child {
	enum child_role role;
	unsigned slot;       /* worker 1..N; 0 for agentd */
	uint64_t generation; /* config generation the child runs */
	struct tl_config *conf;
	enum child_state state;
	char name[24];       /* "worker 2", "agentd": for logs */

	pid_t pid;           /* 0 when not running */
	struct child_ipc ipc;
	uint64_t started_ms;
	uint64_t ready_ms;
	int hello;           /* HELLO seen */
	int ready;           /* READY seen */

	uint32_t backoff_ms; /* current respawn delay; 0 = none */
	uint64_t respawn_at; /* CHILD_WAITING */
	uint64_t kill_at;    /* CHILD_STOPPING: SIGKILL after this; 0 = never */

	uint64_t served;     /* last STATUS */
	uint32_t active;
};

enum stop_mode { STOP_NONE, STOP_GRACEFUL, STOP_FAST };

struct conf_entry {
	struct tl_config *conf;
	uint64_t generation;
};

struct master {
	const char *config_path;
	pid_t pid;
	struct tl_config *conf; /* current */
	uint64_t generation;    /* generation of conf */
	uint64_t last_generation; /* highest generation ever handed out */

	struct conf_entry *confs; /* every config still alive, conf included */
	size_t nconfs;

	struct listeners lis;

	struct child **children;
	size_t nchildren;

	struct {
		int active;
		uint64_t generation;
		struct tl_config *conf;
		uint64_t deadline_ms;
		int again; /* SIGHUP arrived during the transaction */
	} reload;

	enum stop_mode stopping;
	int exit_code;
	int announced_ready;
};

/* master.c */
uint64_t master_now_ms(void);
struct master *master_get(void);
int master_run(const char *config_path);
/* Remember a config so that conf_gc() can free it once unused. */
void conf_track(struct master *m, struct tl_config *conf, uint64_t generation);
struct tl_config *conf_by_generation(struct master *m, uint64_t generation);
void conf_gc(struct master *m);
void master_apply_log_config(const struct tl_config *conf);
void fmt_seconds(char *out, size_t outlen, uint64_t ms);

/* spawn.c */
struct child *spawn_child(struct master *m, enum child_role role, unsigned slot,
    uint64_t generation, struct tl_config *conf);
void spawn_reap(struct master *m);
void spawn_run_timers(struct master *m, uint64_t now);
uint64_t spawn_next_timer(const struct master *m);
void spawn_sweep(struct master *m);
void child_stop(struct master *m, struct child *c, enum stop_mode mode, uint32_t timeout_ms);
void child_kill(struct child *c, const char *why);
void child_remove(struct child *c);
size_t children_alive(const struct master *m);
struct child *child_agentd(struct master *m);

/* status.c */
void master_status_message(struct master *m, struct child *c, const struct ipc_msg *msg);
void master_status_check_ready(struct master *m);

/* reload.c */
void reload_start(struct master *m);
void reload_child_ready(struct master *m, struct child *c);
void reload_child_died(struct master *m, struct child *c, const char *how);
void reload_run_timer(struct master *m, uint64_t now);
void reload_cancel(struct master *m);

/* stop.c */
void master_stop(struct master *m, enum stop_mode mode, int exit_code, const char *why);
void stop_finish(struct master *m) __attribute__((noreturn));

/* signals.c */
enum master_signal { MSIG_HUP, MSIG_TERM, MSIG_INT, MSIG_QUIT, MSIG_USR1, MSIG_CHLD, MSIG_COUNT };
int master_signals_init(void);
int master_signals_fd(void);
/* Drain the self-pipe; pending[i] = 1 for every MSIG_* received. */
void master_signals_take(int pending[MSIG_COUNT]);
void master_signals_block_all(void *oldset);
void master_signals_restore(const void *oldset);
void master_signals_reset_in_child(const void *oldset);

/* listen.c */
int listen_open_all(const struct tl_config *conf, struct listeners *lis, char *err, size_t errlen);
void listen_close_all(struct listeners *lis);
void listen_unlink_ipc(struct listeners *lis);
void listen_free(struct listeners *lis);
void listen_describe(const struct tl_config *conf, char *out, size_t outlen);
int make_runtime_dir(const char *path, char *err, size_t errlen);

/* pidfile.c */
int pidfile_create(const char *path, char *err, size_t errlen);
void pidfile_remove(void);
void pidfile_close_in_child(void);

/* child_ipc.c */
void child_ipc_init(struct child_ipc *ipc, int fd);
void child_ipc_close(struct child_ipc *ipc);
int child_ipc_send(struct child *c, const struct ipc_msg *msg);
/* The same for a message with list fields (see ipc_encode). */
int child_ipc_send_lists(struct child *c, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists);
/* Read what the child sent and hand each frame to master_status_message().
 * Returns 0, or -1 when the channel is closed (EOF, error, bad frame). */
int child_ipc_read(struct master *m, struct child *c);
int child_ipc_flush(struct child *c);
static inline int
child_ipc_want_write(const struct child_ipc *ipc)
{
	return ipc->fd != -1 && ipc->out.len > 0;
}

/* proctitle.c */
void proctitle_init(int argc, char **argv);
void proctitle_set(const char *role, const char *config_path);

/* tls_check.c */
int tls_check_config(const struct tl_config *conf, char *err, size_t errlen);

/* pg.c, pg_agents.c: the PostgreSQL connection (see pg.h); no-ops in
 * standalone mode. */
struct pollfd;
void pg_init(struct master *m);
int pg_pollfd(struct pollfd *pfd);
void pg_handle_events(short revents);
uint64_t pg_next_timer(void);
void pg_run_timers(uint64_t now);
void pg_close_in_child(struct master *m);
void pg_shutdown(void);
/* agentd said HELLO: it has no snapshot and none of the old agents. */
void pg_agentd_started(struct master *m, struct child *c);
/* pg_keys.c: a worker said HELLO: send it the API keys snapshot. */
void pg_keys_worker_started(struct master *m, struct child *c);
/* AGENT_UP, AGENT_MODELS, AGENT_DOWN from agentd. */
void pg_child_message(struct master *m, struct child *c, const struct ipc_msg *msg);

/* node_state.c: NODE_STATE to the workers (see there). */
void node_state_update(struct master *m);
void node_state_send(struct child *c);

/* token_cmd.c: `tokilake token ...` */
int token_command(int argc, char **argv);
int key_command(int argc, char **argv); /* tokilake key new NAME */

#endif
