/* cli-table.h - tables whose column widths come from their content (Go's
 * tabwriter, as kubectl and argocd print): rows are collected, then each
 * column is as wide as its widest cell, with GAP spaces between columns and
 * the last column unpadded.  A long name widens its column instead of
 * pushing the row out of line. */
#ifndef GS_CLI_TABLE_H
#define GS_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct cli_table;

/* A table of ncols columns; the header row is the first row added. */
struct cli_table *cli_table_new(size_t ncols);
void cli_table_free(struct cli_table *t);
/* Add a row of ncols cells (copied; NULL prints as ""). */
void cli_table_add(struct cli_table *t, const char *const *cells);
/* Same, cells as arguments (exactly ncols of them). */
void cli_table_row(struct cli_table *t, ...);
size_t cli_table_rows(const struct cli_table *t);
/* Print every row; nothing when the table has no row. */
void cli_table_print(const struct cli_table *t, FILE *f);

#endif
