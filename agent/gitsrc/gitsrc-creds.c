/* gitsrc-creds.c - where credentials for a URL come from: strict booleans,
 * the global GITSYNC_GIT_* settings bound to their hosts, and the URL
 * prefixes of credential templates. */
#include "gitsrc/gitsrc.h"
#include "gitsrc/gitsrc-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gs-alloc.h"

int gitsrc_parse_bool(bool *out, const char *what, const char *v, struct gs_error *err)
{
	if (!v || !*v || !strcmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return GS_OK;
	}
	if (!strcmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return GS_OK;
	}
	return gs_error_set(err, GS_EINVAL, "%s: '%.40s' is not a boolean (use true or false)", what,
			    v);
}

/* Is host[:port] of u in list ("host[:port],host..."; a host without a
 * port matches every port)?  Hosts compare case-insensitively. */
static bool host_listed(const struct gitsrc_url *u, const char *list)
{
	const char *p = list;

	if (!u->host || !list)
		return false;
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *colon = memchr(p, ':', n);
		size_t hl = colon ? (size_t)(colon - p) : n;

		while (hl && p[hl - 1] == ' ')
			hl--;
		while (hl && *p == ' ') {
			p++;
			hl--;
			n--;
		}
		if (hl && strlen(u->host) == hl && !strncasecmp(p, u->host, hl)) {
			long port = colon ? strtol(colon + 1, NULL, 10) : 0;

			/* no port in the URL: its scheme's default */
			if (!colon || port == u->port ||
			    (!u->port && (port == 443 || port == 80 || port == 22)))
				return true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

int gitsrc_auth_from_env(struct gitsrc_auth *auth, const char *url, struct gs_error *err)
{
	struct gitsrc_url u = GITSRC_URL_INIT;
	const char *hosts = getenv("GITSYNC_GIT_HOSTS");
	bool insecure = false;
	int rc;

	memset(auth, 0, sizeof(*auth));
	if ((rc = gitsrc_parse_bool(&insecure, "GITSYNC_GIT_INSECURE_IGNORE_HOST_KEY",
				    getenv("GITSYNC_GIT_INSECURE_IGNORE_HOST_KEY"), err)) < 0)
		return rc;
	if ((rc = gitsrc_url_parse(&u, url, err)) < 0)
		return rc;
	auth->insecure_ignore_host_key = insecure;
	auth->known_hosts_file = getenv("GITSYNC_GIT_KNOWN_HOSTS_FILE");
	auth->ca_file = getenv("GITSYNC_GIT_CA_FILE");
	/* The global identity goes only to the hosts it is for, and never
	 * replaces a password the URL gives itself. */
	if (host_listed(&u, hosts) && !u.password) {
		auth->username = getenv("GITSYNC_GIT_USERNAME");
		auth->password = getenv("GITSYNC_GIT_PASSWORD");
		auth->ssh_key_file = getenv("GITSYNC_GIT_SSH_KEY_FILE");
	}
	gitsrc_url_release(&u);
	return GS_OK;
}

size_t gitsrc_url_prefix_match(const char *url, const char *prefix)
{
	struct gitsrc_url a = GITSRC_URL_INIT, b = GITSRC_URL_INIT;
	struct gs_error err = GS_ERROR_INIT;
	size_t n = 0, pl;

	if (!url || !prefix || !*prefix || gitsrc_url_parse(&a, url, &err) < 0 ||
	    gitsrc_url_parse(&b, prefix, &err) < 0)
		goto cleanup;
	if (a.password)
		goto cleanup; /* a URL with its own password uses it, not a template */
	pl = strlen(b.clean);
	/* a prefix ends at a path boundary: https://git.example.com/team-a must
	 * not match https://git.example.com/team-abc/repo */
	if (!strncmp(a.clean, b.clean, pl) &&
	    (a.clean[pl] == '\0' || a.clean[pl] == '/' || b.clean[pl - 1] == '/' ||
	     (a.clean[pl] == '.' && !strcmp(a.clean + pl, ".git"))))
		n = pl;
cleanup:
	gitsrc_url_release(&a);
	gitsrc_url_release(&b);
	return n;
}
