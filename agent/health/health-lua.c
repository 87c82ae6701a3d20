/* health-lua.c - users' Lua health checks (see health-lua.h).
 *
 * One fresh lua_State per call: scripts cannot leave state behind for the
 * next object, several workers can evaluate at once without a lock, and the
 * memory budget is simply the state's allocator.  Creating a state and
 * compiling a few KiB of Lua costs tens of microseconds, small next to the
 * API request that brought the object.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "gs-time.h"
#include "health/health-lua.h"
#include "mf-json.h"
#include "mf-object.h"
#include "sync/sync-health.h"

#define DEFAULT_INSTRUCTIONS 20000000UL
#define DEFAULT_MEMORY (32u << 20)
#define DEFAULT_SECONDS 1.0
#define HOOK_EVERY 1000 /* instructions between two budget checks */
#define CM_PREFIX "resource.customizations.health."

struct hl_script {
	char *group, *kind; /* patterns, `*` allowed */
	bool wild;
	char *src;
	size_t len;
	char *origin; /* "lua:" + where it came from */
};

struct hl_set {
	struct hl_limits limits;
	struct hl_script *v;
	size_t n, alloc;
};

struct hl_set *hl_set_new(const struct hl_limits *limits)
{
	struct hl_set *set = gs_calloc(1, sizeof(*set));

	if (limits)
		set->limits = *limits;
	if (!set->limits.instructions)
		set->limits.instructions = DEFAULT_INSTRUCTIONS;
	if (!set->limits.memory)
		set->limits.memory = DEFAULT_MEMORY;
	if (set->limits.seconds <= 0)
		set->limits.seconds = DEFAULT_SECONDS;
	return set;
}

void hl_set_free(struct hl_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++) {
		free(set->v[i].group);
		free(set->v[i].kind);
		free(set->v[i].src);
		free(set->v[i].origin);
	}
	free(set->v);
	free(set);
}

size_t hl_set_count(const struct hl_set *set)
{
	return set ? set->n : 0;
}

/* ---- the sandbox ---- */

struct budget {
	size_t used, max;
	unsigned long steps, max_steps;
	double start; /* gs_time_mono() */
	double seconds;
};

/* lua_Alloc with a ceiling: returning NULL makes Lua raise "not enough
 * memory" inside the protected call. */
static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct budget *b = ud;
	void *p;

	if (!nsize) {
		free(ptr);
		b->used -= osize;
		return NULL;
	}
	if (nsize > osize && b->used + (nsize - osize) > b->max)
		return NULL;
	if (!(p = realloc(ptr, nsize)))
		return NULL;
	b->used = b->used - osize + nsize;
	return p;
}

static struct budget *budget_of(lua_State *L)
{
	void *ud = NULL;

	lua_getallocf(L, &ud);
	return ud;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	struct budget *b = budget_of(L);
	char m[128];

	/* lua_pushfstring knows no %lu or precisions: format here */
	(void)ar;
	b->steps += HOOK_EVERY;
	if (b->steps > b->max_steps) {
		snprintf(m, sizeof(m), "health check exceeded its budget of %lu instructions",
			 b->max_steps);
		luaL_error(L, "%s", m);
	}
	if (gs_time_mono() - b->start > b->seconds) {
		snprintf(m, sizeof(m), "health check exceeded its time budget of %g s", b->seconds);
		luaL_error(L, "%s", m);
	}
}

static void push_node(lua_State *L, const struct mf_node *n);

/* ---- the json module (Argo CD's scripts `require("json")`) ---- */

#define JSON_DEPTH_MAX 100
#define BOX_META "gitsync.health.box"

/* C memory held across Lua calls that may raise (allocation errors): a
 * userdata whose __gc frees it, so a longjmp cannot leak it. */
struct box {
	struct mf_node *n;
	struct gs_buf buf;
};

static int box_gc(lua_State *L)
{
	struct box *b = luaL_checkudata(L, 1, BOX_META);

	mf_node_free(b->n);
	b->n = NULL;
	gs_buf_release(&b->buf);
	return 0;
}

static struct box *push_box(lua_State *L)
{
	struct box *b = lua_newuserdata(L, sizeof(*b));

	b->n = NULL;
	gs_buf_init(&b->buf, 0);
	luaL_getmetatable(L, BOX_META);
	lua_setmetatable(L, -2);
	return b;
}

static int json_decode(lua_State *L)
{
	size_t len;
	const char *text = luaL_checklstring(L, 1, &len);
	struct gs_error err = GS_ERROR_INIT;
	struct box *b = push_box(L);

	if (mf_json_parse(&b->n, text, len, "json.decode", &err) < 0)
		return luaL_error(L, "json.decode: %s", err.msg);
	push_node(L, b->n);
	return 1;
}

/* Lua value at idx -> node (owned); NULL with *why set when it cannot be
 * written as JSON.  Allocates nothing inside Lua, so it cannot raise. */
static struct mf_node *to_node(lua_State *L, int idx, int depth, const char **why)
{
	struct mf_node *n = NULL;
	char num[64];

	if (depth > JSON_DEPTH_MAX) {
		*why = "nested too deep (a table that contains itself?)";
		return NULL;
	}
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return mf_node_new_null();
	case LUA_TBOOLEAN:
		return mf_node_new_bool(lua_toboolean(L, idx));
	case LUA_TNUMBER: {
		lua_Number v = lua_tonumber(L, idx);

		if (v == (lua_Number)(long long)v)
			return mf_node_new_int((long long)v);
		snprintf(num, sizeof(num), "%.17g", (double)v);
		return mf_node_new_number(MF_FLOAT, num, strlen(num));
	}
	case LUA_TSTRING: {
		size_t len;
		const char *str = lua_tolstring(L, idx, &len);

		return mf_node_new_strn(str, len);
	}
	case LUA_TTABLE: {
		size_t count = lua_objlen(L, idx), i;
		bool array = count > 0;
		int top;

		if (idx < 0)
			idx = lua_gettop(L) + idx + 1;
		luaL_checkstack(L, 4, "json.encode");
		top = lua_gettop(L);
		/* a sequence 1..n with nothing else is a JSON array */
		lua_pushnil(L);
		while (array && lua_next(L, idx)) {
			if (lua_type(L, -2) != LUA_TNUMBER)
				array = false;
			lua_pop(L, 1);
		}
		lua_settop(L, top); /* the key left when the scan stopped early */
		if (array) {
			n = mf_node_new(MF_SEQ);
			for (i = 1; i <= count; i++) {
				struct mf_node *item;

				lua_rawgeti(L, idx, (int)i);
				item = to_node(L, -1, depth + 1, why);
				lua_pop(L, 1);
				if (!item) {
					mf_node_free(n);
					return NULL;
				}
				mf_node_append(n, item);
			}
			return n;
		}
		n = mf_node_new(MF_MAP);
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			struct mf_node *val;
			const char *key;

			if (lua_type(L, -2) == LUA_TSTRING) {
				key = lua_tostring(L, -2);
			} else if (lua_type(L, -2) == LUA_TNUMBER) {
				snprintf(num, sizeof(num), "%.17g", (double)lua_tonumber(L, -2));
				key = num;
			} else {
				lua_pop(L, 2);
				mf_node_free(n);
				*why = "a table key that is neither a string nor a number";
				return NULL;
			}
			val = to_node(L, -1, depth + 1, why);
			if (!val) {
				lua_pop(L, 2);
				mf_node_free(n);
				return NULL;
			}
			mf_node_set(n, key, val);
			lua_pop(L, 1);
		}
		return n;
	}
	default:
		*why = "a function, userdata or thread";
		return NULL;
	}
}

static int json_encode(lua_State *L)
{
	const char *why = NULL;
	struct box *b;

	luaL_checkany(L, 1);
	b = push_box(L);
	if (!(b->n = to_node(L, 1, 0, &why)))
		return luaL_error(L, "json.encode: cannot encode %s", why);
	if (mf_json_emit(&b->buf, b->n, 0) < 0)
		return luaL_error(L, "json.encode: cannot encode the value");
	lua_pushlstring(L, b->buf.ptr, b->buf.len);
	return 1;
}

static void open_json(lua_State *L)
{
	luaL_newmetatable(L, BOX_META);
	lua_pushcfunction(L, box_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_newtable(L);
	lua_pushcfunction(L, json_decode);
	lua_setfield(L, -2, "decode");
	lua_pushcfunction(L, json_encode);
	lua_setfield(L, -2, "encode");
	/* reachable through require only, as in Argo CD */
	lua_setfield(L, LUA_REGISTRYINDEX, "gitsync.health.json");
}

static int safe_require(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	static const char *const allowed[] = { "os", "string", "table", "math" };

	if (!strcmp(name, "json")) {
		lua_getfield(L, LUA_REGISTRYINDEX, "gitsync.health.json");
		return 1;
	}
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (!strcmp(name, allowed[i])) {
			lua_getglobal(L, name);
			return 1;
		}
	return luaL_error(L, "module '%s' is not available in health checks", name);
}

static int noop(lua_State *L)
{
	(void)L;
	return 0;
}

/* Lua 5.1's os.date formats through localtime()/gmtime(), whose result is
 * one static buffer per process: workers evaluating checks at once would
 * race on it.  This lock is the one piece of process-wide state here; it
 * holds no data.  The original runs under lua_pcall so that an error (a
 * bad format, the memory budget) cannot leave the lock held. */
static pthread_mutex_t date_lock = PTHREAD_MUTEX_INITIALIZER;

static int locked_date(lua_State *L)
{
	int n = lua_gettop(L), rc;

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	pthread_mutex_lock(&date_lock);
	rc = lua_pcall(L, n, 1, 0);
	pthread_mutex_unlock(&date_lock);
	if (rc)
		return lua_error(L);
	return 1;
}

/* Argo CD's library subset: base, table, string, math and a "safe" os. */
static void open_sandbox(lua_State *L)
{
	static const char *const base_removed[] = { "dofile", "loadfile", "load", "loadstring",
						    "collectgarbage", "gcinfo", "newproxy",
						    "module", "getfenv", "setfenv" };
	static const char *const os_kept[] = { "time", "date", "clock", "difftime" };
	size_t i;

	lua_pushcfunction(L, luaopen_base);
	lua_call(L, 0, 0);
	lua_pushcfunction(L, luaopen_table);
	lua_call(L, 0, 0);
	lua_pushcfunction(L, luaopen_string);
	lua_call(L, 0, 0);
	lua_pushcfunction(L, luaopen_math);
	lua_call(L, 0, 0);
	lua_pushcfunction(L, luaopen_os);
	lua_call(L, 0, 0);
	for (i = 0; i < sizeof(base_removed) / sizeof(base_removed[0]); i++) {
		lua_pushnil(L);
		lua_setglobal(L, base_removed[i]);
	}
	/* string.dump makes bytecode, and bytecode can crash the VM */
	lua_getglobal(L, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	/* os keeps only its clock functions */
	lua_newtable(L);
	lua_getglobal(L, "os");
	for (i = 0; i < sizeof(os_kept) / sizeof(os_kept[0]); i++) {
		lua_getfield(L, -1, os_kept[i]);
		if (!strcmp(os_kept[i], "date"))
			lua_pushcclosure(L, locked_date, 1);
		lua_setfield(L, -3, os_kept[i]);
	}
	lua_pop(L, 1);
	lua_setglobal(L, "os");
	open_json(L);
	lua_pushcfunction(L, safe_require);
	lua_setglobal(L, "require");
	/* scripts debugged with print must not write to the agent's stdout */
	lua_pushcfunction(L, noop);
	lua_setglobal(L, "print");
}

/* Push n as a Lua value (JSON null -> nil). */
static void push_node(lua_State *L, const struct mf_node *n)
{
	size_t i;

	luaL_checkstack(L, 4, "object too deep");
	switch (mf_node_type(n)) {
	case MF_BOOL:
		lua_pushboolean(L, mf_node_bool(n));
		break;
	case MF_INT:
	case MF_FLOAT: {
		long long v;

		if (!mf_node_int(n, &v))
			lua_pushnumber(L, (lua_Number)v);
		else
			lua_pushnumber(L, (lua_Number)strtod(mf_node_str(n), NULL));
		break;
	}
	case MF_STR:
		lua_pushlstring(L, mf_node_str(n), mf_node_strlen(n));
		break;
	case MF_SEQ:
		lua_createtable(L, (int)mf_node_len(n), 0);
		for (i = 0; i < mf_node_len(n); i++) {
			push_node(L, mf_node_at(n, i));
			lua_rawseti(L, -2, (int)i + 1);
		}
		break;
	case MF_MAP:
		lua_createtable(L, 0, (int)mf_node_len(n));
		for (i = 0; i < mf_node_len(n); i++) {
			if (mf_node_type(mf_node_at(n, i)) == MF_NULL)
				continue;
			push_node(L, mf_node_at(n, i));
			lua_setfield(L, -2, mf_node_key(n, i));
		}
		break;
	default:
		lua_pushnil(L);
		break;
	}
}

struct call {
	const struct hl_script *s;
	const struct mf_node *obj; /* NULL: compile only */
	int has_result;            /* 0: returned nil */
	char *status, *message;    /* owned copies */
};

static const char *chunk_name(const char *origin)
{
	return !strncmp(origin, "lua:", 4) ? origin + 4 : origin;
}

/* The body, run inside lua_cpcall so that every Lua error (budget,
 * allocation, script) unwinds to one place. */
static int call_protected(lua_State *L)
{
	struct call *c = lua_touserdata(L, 1);
	char name[300];

	snprintf(name, sizeof(name), "=%s", chunk_name(c->s->origin));
	open_sandbox(L);
	if (luaL_loadbuffer(L, c->s->src, c->s->len, name))
		return lua_error(L);
	if (!c->obj)
		return 0;
	push_node(L, c->obj);
	lua_setglobal(L, "obj");
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
	lua_call(L, 0, 1);
	lua_sethook(L, NULL, 0, 0);
	if (lua_isnil(L, -1))
		return 0;
	if (!lua_istable(L, -1))
		return luaL_error(L, "health check returned a %s, not a table {status=..., message=...}",
				  luaL_typename(L, -1));
	c->has_result = 1;
	lua_getfield(L, -1, "status");
	if (lua_type(L, -1) == LUA_TSTRING)
		c->status = gs_strdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	lua_getfield(L, -1, "message");
	if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)
		c->message = gs_strdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	return 0;
}

/* Run (or with obj NULL, only compile) script s.  GS_OK, or GS_ERR with
 * Lua's message in err. */
static int run_script(const struct hl_set *set, struct call *c, struct gs_error *err)
{
	struct budget b = { 0 };
	lua_State *L;
	int rc;

	b.max = set->limits.memory;
	b.max_steps = set->limits.instructions;
	b.seconds = set->limits.seconds;
	b.start = gs_time_mono();
	/* precompiled chunks skip the compiler's checks: a crafted one
	 * crashes Lua 5.1 */
	if (c->s->len && c->s->src[0] == LUA_SIGNATURE[0])
		return gs_error_set(err, GS_EINVAL, "%s: precompiled Lua is not accepted (give "
				    "the script's source)", chunk_name(c->s->origin));
	if (!(L = lua_newstate(budget_alloc, &b)))
		return gs_error_set(err, GS_ELIMIT, "%s: not enough memory for a Lua state",
				    chunk_name(c->s->origin));
	rc = lua_cpcall(L, call_protected, c);
	if (rc) {
		const char *m = lua_tostring(L, -1);

		gs_error_set(err, rc == LUA_ERRMEM ? GS_ELIMIT : GS_EINVAL, "%s",
			     rc == LUA_ERRMEM ? "health check exceeded its memory budget"
					      : m ? m : "health check failed");
		if (rc == LUA_ERRMEM)
			gs_error_wrap(err, "%s", chunk_name(c->s->origin));
	}
	lua_close(L);
	return rc ? err->code : GS_OK;
}

/* ---- the set ---- */

int hl_set_add(struct hl_set *set, const char *group, const char *kind, const char *src,
	       size_t len, const char *origin, struct gs_error *err)
{
	struct hl_script s = { 0 };
	struct call c = { 0 };
	size_t i;
	int rc;

	if (len > HL_SCRIPT_MAX)
		return gs_error_set(err, GS_ELIMIT, "%s: script of %zu bytes is over the %d-byte limit",
				    origin, len, HL_SCRIPT_MAX);
	if (!kind || !*kind)
		return gs_error_set(err, GS_EINVAL, "%s: no kind to apply the script to", origin);
	s.group = gs_strdup(group ? group : "");
	s.kind = gs_strdup(kind);
	s.wild = strchr(s.group, '*') || strchr(s.kind, '*');
	s.src = gs_strndup(src, len);
	s.len = len;
	s.origin = gs_asprintf("lua:%s", origin);
	c.s = &s;
	if ((rc = run_script(set, &c, err)) < 0) {
		free(s.group);
		free(s.kind);
		free(s.src);
		free(s.origin);
		return rc;
	}
	for (i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].group, s.group) && !strcmp(set->v[i].kind, s.kind))
			break;
	if (i < set->n) {
		free(set->v[i].group);
		free(set->v[i].kind);
		free(set->v[i].src);
		free(set->v[i].origin);
	} else {
		if (set->n == set->alloc) {
			set->alloc = set->alloc ? 2 * set->alloc : 8;
			set->v = gs_realloc(set->v, set->alloc * sizeof(*set->v));
		}
		set->n++;
	}
	set->v[i] = s;
	return GS_OK;
}

static char *underscores_to_stars(const char *s)
{
	char *r = gs_strdup(s), *p;

	for (p = r; *p; p++)
		if (*p == '_')
			*p = '*';
	return r;
}

int hl_set_load_dir(struct hl_set *set, const char *dir, struct gs_error *err)
{
	DIR *gd = NULL, *kd = NULL;
	struct dirent *ge, *ke;
	struct gs_buf src = GS_BUF_INIT;
	char *gpath = NULL, *path = NULL, *group = NULL, *kind = NULL;
	struct stat st;
	int rc = GS_OK;

	if (!(gd = opendir(dir)))
		return gs_error_set(err, errno == ENOENT ? GS_ENOTFOUND : GS_EIO,
				    "cannot read Lua health directory '%s': %s", dir, strerror(errno));
	while (rc == GS_OK && (ge = readdir(gd))) {
		if (ge->d_name[0] == '.')
			continue;
		free(gpath);
		gpath = gs_asprintf("%s/%s", dir, ge->d_name);
		if (kd)
			closedir(kd);
		if (!(kd = opendir(gpath)))
			continue; /* a file beside the groups: README, ... */
		/* the core group has no directory of its own: DIR/Pod/health.lua */
		free(path);
		path = gs_asprintf("%s/health.lua", gpath);
		if (!stat(path, &st) && S_ISREG(st.st_mode)) {
			gs_buf_reset(&src);
			src.max = HL_SCRIPT_MAX;
			if ((rc = gs_buf_read_file(&src, path, err)) < 0)
				break;
			free(kind);
			kind = underscores_to_stars(ge->d_name);
			if ((rc = hl_set_add(set, "", kind, src.ptr, src.len, path, err)) < 0)
				break;
		}
		while (rc == GS_OK && (ke = readdir(kd))) {
			if (ke->d_name[0] == '.')
				continue;
			free(path);
			path = gs_asprintf("%s/%s/health.lua", gpath, ke->d_name);
			if (stat(path, &st) || !S_ISREG(st.st_mode))
				continue;
			gs_buf_reset(&src);
			src.max = HL_SCRIPT_MAX;
			if ((rc = gs_buf_read_file(&src, path, err)) < 0)
				break;
			free(group);
			free(kind);
			group = underscores_to_stars(ge->d_name);
			kind = underscores_to_stars(ke->d_name);
			rc = hl_set_add(set, group, kind, src.ptr, src.len, path, err);
		}
	}
	if (kd)
		closedir(kd);
	closedir(gd);
	gs_buf_release(&src);
	free(gpath);
	free(path);
	free(group);
	free(kind);
	return rc;
}

int hl_set_load_configmap(struct hl_set *set, const struct mf_node *cm, struct gs_error *err)
{
	const struct mf_node *data = mf_node_get(cm, "data");
	const char *cm_name = mf_obj_name(cm) ? mf_obj_name(cm) : "";
	size_t i;
	int rc;

	for (i = 0; i < mf_node_len(data); i++) {
		const char *key = mf_node_key(data, i), *sep;
		const struct mf_node *val = mf_node_at(data, i);
		char *group, *origin;

		if (!strncmp(key, CM_PREFIX, strlen(CM_PREFIX)))
			key += strlen(CM_PREFIX);
		if (mf_node_type(val) != MF_STR || !*key || strchr(key, '/') || strchr(key, '.') == key)
			return gs_error_set(err, GS_EINVAL,
					    "ConfigMap %s: key '%s' is not a health check (keys are "
					    "<group>_<kind>, e.g. cert-manager.io_Certificate, with a "
					    "Lua script as value)", cm_name, mf_node_key(data, i));
		sep = strchr(key, '_');
		group = sep ? gs_strndup(key, (size_t)(sep - key)) : gs_strdup("");
		origin = gs_asprintf("ConfigMap %s key %s", cm_name, mf_node_key(data, i));
		rc = hl_set_add(set, group, sep ? sep + 1 : key, mf_node_str(val),
				mf_node_strlen(val), origin, err);
		free(group);
		free(origin);
		if (rc < 0)
			return rc;
	}
	return GS_OK;
}

static const struct hl_script *find(const struct hl_set *set, const char *group, const char *kind)
{
	const struct hl_script *best = NULL;
	size_t i, best_len = 0;

	for (i = 0; set && i < set->n; i++) {
		const struct hl_script *s = &set->v[i];
		size_t l;

		if (!s->wild) {
			if (!strcmp(s->group, group) && !strcmp(s->kind, kind))
				return s;
			continue;
		}
		if (fnmatch(s->group, group, 0) || fnmatch(s->kind, kind, 0))
			continue;
		/* the most specific pattern wins: *.aws.upbound.io over *.upbound.io */
		l = strlen(s->group) + strlen(s->kind);
		if (!best || l > best_len) {
			best = s;
			best_len = l;
		}
	}
	return best;
}

const char *hl_set_find(const struct hl_set *set, const char *group, const char *kind)
{
	const struct hl_script *s = find(set, group, kind);

	return s ? s->origin : NULL;
}

static enum sync_health health_named(const char *s, bool *ok)
{
	static const struct {
		const char *name;
		enum sync_health h;
	} names[] = {
		{ "Healthy", SYNC_HEALTH_HEALTHY },     { "Progressing", SYNC_HEALTH_PROGRESSING },
		{ "Degraded", SYNC_HEALTH_DEGRADED },   { "Suspended", SYNC_HEALTH_SUSPENDED },
		{ "Missing", SYNC_HEALTH_MISSING },     { "Unknown", SYNC_HEALTH_UNKNOWN },
	};
	size_t i;

	*ok = true;
	for (i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].h;
	*ok = false;
	return SYNC_HEALTH_UNKNOWN;
}

int hl_health(const struct hl_set *set, const struct mf_node *obj, enum sync_health *health_out,
	      char **msg_out, const char **origin_out)
{
	struct gs_error err = GS_ERROR_INIT;
	char *group = NULL, *version = NULL;
	const struct hl_script *s;
	struct call c = { 0 };
	bool known;

	if (!set || !set->n || !mf_obj_kind(obj))
		return 0;
	mf_split_api_version(mf_obj_api_version(obj), &group, &version);
	s = find(set, group, mf_obj_kind(obj));
	free(group);
	free(version);
	if (!s)
		return 0;
	c.s = s;
	c.obj = obj;
	if (origin_out)
		*origin_out = s->origin;
	if (run_script(set, &c, &err) < 0) {
		*health_out = SYNC_HEALTH_UNKNOWN;
		*msg_out = gs_strdup(err.msg);
	} else if (!c.has_result) {
		*health_out = SYNC_HEALTH_NONE;
		*msg_out = NULL;
	} else {
		*health_out = health_named(c.status, &known);
		*msg_out = known ? c.message
				 : gs_asprintf("%s: health check returned unknown status \"%s\" "
					       "(expected Healthy, Progressing, Degraded, "
					       "Suspended, Missing or Unknown)",
					       chunk_name(s->origin), c.status ? c.status : "");
		if (known)
			c.message = NULL; /* now the caller's */
	}
	free(c.status);
	free(c.message);
	return 1;
}

enum sync_health hl_health_of(const struct hl_set *user, const struct mf_node *live,
			      char **msg_out, const char **rule_out)
{
	enum sync_health h;

	/* an object being deleted is Progressing whatever its script says,
	 * as the built-in rules have it */
	if (live && !mf_node_dig(live, "metadata", "deletionTimestamp", NULL) &&
	    hl_health(user, live, &h, msg_out, rule_out))
		return h;
	return sync_health_builtin(live, msg_out, rule_out);
}
