/* health-lua.h - users' health checks in Lua, as Argo CD users write them.
 *
 * A script sees the live object as the global `obj` (JSON null -> nil,
 * lists 1-based) and returns a table {status = "Healthy" | "Progressing" |
 * "Degraded" | "Suspended" | "Missing" | "Unknown", message = "..."}; nil
 * means "no health".  It runs on Lua 5.1 (Argo CD's semantics) with the
 * standard library Argo CD gives its checks: base (without dofile,
 * loadfile, load, loadstring, print), string (without dump), table, math,
 * and an os table holding only time, date, clock and difftime; `require`
 * returns those modules and `json` (decode/encode, JSON null -> nil), and
 * nothing else.  Precompiled chunks are refused.
 *
 * Every call gets a fresh Lua state, an instruction budget and a memory
 * budget (struct hl_limits); a script that errors, exceeds a budget or
 * returns something else than such a table gives Unknown, with the reason
 * as message.
 *
 * Scripts are found by group and kind: an exact match first, then the
 * longest wildcard pattern (`*.crossplane.io` / `*`, spelled `_` in the
 * folder layout).  User scripts win over the built-in rules.
 *
 * A set is filled once (hl_set_add/load_*), then only read: hl_health()
 * is thread-safe on a set nobody modifies any more.
 */
#ifndef HEALTH_LUA_H
#define HEALTH_LUA_H

#include <stddef.h>

#include "gs-error.h"
#include "mf-node.h"
#include "sync/sync.h"

struct hl_limits {
	unsigned long instructions; /* VM instructions per call (0: default 20,000,000) */
	size_t memory;              /* bytes the Lua state may hold (0: default 32 MiB) */
	double seconds;             /* wall-clock time per call (0: default 1 s, as Argo CD) */
};

/* Largest script accepted (a whole community check is a few KiB). */
#define HL_SCRIPT_MAX (1024 * 1024)

struct hl_set;

/* An empty set; limits (borrowed, copied; NULL = defaults). */
struct hl_set *hl_set_new(const struct hl_limits *limits);
void hl_set_free(struct hl_set *set); /* NULL is a no-op */
size_t hl_set_count(const struct hl_set *set);

/* Add src (len bytes, copied) as the check of group/kind, which may hold
 * `*` wildcards ("" is the core group).  origin (copied) names where the
 * script came from in messages: "lua-dir/apps.example.com/Thing/health.lua".
 * The script is compiled once here: GS_EINVAL with Lua's message (origin
 * and line) when it does not compile or is precompiled bytecode; GS_ELIMIT
 * when longer than HL_SCRIPT_MAX.  A later add for the same group/kind
 * replaces the earlier one. */
int hl_set_add(struct hl_set *set, const char *group, const char *kind, const char *src,
	       size_t len, const char *origin, struct gs_error *err);

/* Load DIR/<group>/<kind>/health.lua for every such file, and
 * DIR/<kind>/health.lua for the core group (Argo CD's
 * resource_customizations layout; `_` in a name stands for `*`).  Other
 * files are ignored.  GS_ENOTFOUND when dir does not exist; the first
 * script that does not compile stops the load (GS_EINVAL, naming it). */
int hl_set_load_dir(struct hl_set *set, const char *dir, struct gs_error *err);

/* Load the data of a ConfigMap (cm borrowed): each key `<group>_<kind>`
 * (Argo CD's spelling; `resource.customizations.health.` before it is
 * accepted, a key without `_` is a core kind) holds a script.  Keys that
 * are not of that form are an error (GS_EINVAL naming the key). */
int hl_set_load_configmap(struct hl_set *set, const struct mf_node *cm, struct gs_error *err);

/* The origin of the script that applies to group/kind, or NULL. Borrowed
 * from set. */
const char *hl_set_find(const struct hl_set *set, const char *group, const char *kind);

/* Health of obj (borrowed) by the user script for its group/kind.
 * Returns 0 when no script applies (outputs untouched), 1 when one ran:
 * *health_out, *msg_out (owned, may be NULL) and *origin_out (borrowed
 * from set, may be NULL). */
int hl_health(const struct hl_set *set, const struct mf_node *obj, enum sync_health *health_out,
	      char **msg_out, const char **origin_out);

/* Health as the agent and `gitsync health` decide it: a user script when
 * one applies (user may be NULL), else the built-in rule.  *rule_out
 * (may be NULL) gets "lua:<origin>" or the built-in rule's name; it is
 * borrowed from user or static, valid while user lives.  *msg_out owned. */
enum sync_health hl_health_of(const struct hl_set *user, const struct mf_node *live,
			      char **msg_out, const char **rule_out);

#endif
