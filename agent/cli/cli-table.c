/* cli-table.c - content-sized columns (cli-table.h). */
#include "cli/cli-table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"

#define GAP 3 /* argocd's and kubectl's tabwriter padding */

struct cli_table {
	size_t ncols, nrows, alloc;
	char **cells; /* nrows * ncols */
};

struct cli_table *cli_table_new(size_t ncols)
{
	struct cli_table *t = gs_calloc(1, sizeof(*t));

	t->ncols = ncols;
	return t;
}

void cli_table_free(struct cli_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void cli_table_add(struct cli_table *t, const char *const *cells)
{
	size_t i, need = (t->nrows + 1) * t->ncols;

	GS_ALLOC_GROW(t->cells, need, t->alloc);
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = gs_strdup(cells[i] ? cells[i] : "");
	t->nrows++;
}

void cli_table_row(struct cli_table *t, ...)
{
	const char **cells = gs_calloc(t->ncols, sizeof(*cells));
	va_list ap;
	size_t i;

	va_start(ap, t);
	for (i = 0; i < t->ncols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	cli_table_add(t, cells);
	free(cells);
}

size_t cli_table_rows(const struct cli_table *t)
{
	return t->nrows;
}

void cli_table_print(const struct cli_table *t, FILE *f)
{
	size_t *w = gs_calloc(t->ncols ? t->ncols : 1, sizeof(*w));
	size_t r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		size_t last = t->ncols;

		/* every cell but the last is padded, empty ones too, as Go's
		 * tabwriter does: "NAME  Synced  " keeps its columns for grep */
		for (c = 0; c < last; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 < last)
				fprintf(f, "%-*s", (int)(w[c] + GAP), s);
			else
				fputs(s, f);
		}
		fputc('\n', f);
	}
	free(w);
}
