/* fuzz-webhook.c - the webhook payload parser, URL normaliser and matcher.
 *
 * Input: byte 0 picks the forge and event, the rest is the body.  Every
 * parsed push is matched against a few repository URL forms, and the body's
 * first line is normalised as a URL, so the whole untrusted path after
 * signature verification is covered.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "httpd/webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *no_header(void *payload, const char *name)
{
	(void)payload;
	(void)name;
	return "sha256=00";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		enum webhook_forge forge;
		const char *event;
	} kinds[] = {
		{ WEBHOOK_GITHUB, "push" },
		{ WEBHOOK_GITLAB, "Push Hook" },
		{ WEBHOOK_GITEA, "push" },
		{ WEBHOOK_BITBUCKET_SERVER, "repo:refs_changed" },
	};
	static const char *urls[] = { "https://github.com/acme/deploy.git",
				      "git@gitlab.example.com:grp/app.git",
				      "ssh://git@bitbucket.example.com:7999/proj/app.git" };
	static const char *revs[] = { "", "HEAD", "main", "refs/heads/main", "v1" };
	struct webhook_push *p = NULL;
	struct gs_error err = GS_ERROR_INIT;
	const char *body;
	size_t len, i, j, k;
	char *line, *n;

	if (size < 1)
		return 0;
	k = data[0] % (sizeof(kinds) / sizeof(kinds[0]));
	body = (const char *)data + 1;
	len = size - 1;

	if (webhook_parse_push(&p, kinds[k].forge, kinds[k].event, body, len, &err) == 0 && p) {
		for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
			for (j = 0; j < sizeof(revs) / sizeof(revs[0]); j++)
				(void)webhook_push_matches(p, urls[i], revs[j]);
		for (i = 0; i < p->nurls; i++) {
			n = webhook_repo_url_normalize(p->repo_urls[i]);
			free(n);
		}
	}
	webhook_push_free(p);

	line = gs_strndup(body, len);
	line[strcspn(line, "\n")] = '\0';
	n = webhook_repo_url_normalize(line);
	free(n);
	(void)webhook_repo_url_match(line, urls[0]);
	free(line);

	(void)webhook_verify(kinds[k].forge, "secret", no_header, NULL, body, len, &err);
	return 0;
}
