/*
 * progress — how far a batch is, on stderr: on a terminal one line redrawn
 * in place (a bar, done / cached / queued / running / failed, the rate and
 * the time left); otherwise a plain line every interval, for CI logs.
 * The counts are those of GET /v1/batches/<id>.
 *
 * Owns: nothing. Calls: libc (isatty, time).
 */
#ifndef SF_PROGRESS_H
#define SF_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct sf_progress_counts {
	long long items, rejected, cached, resolving, queued, running, finished, failed;
};

struct sf_progress {
	FILE *out;
	bool tty;	  /* redraw in place */
	bool quiet;	  /* --progress off */
	int64_t start_ms, last_ms;
	int64_t interval_ms; /* between plain lines */
	long long first_done; /* done when the clock started (cached answers) */
	int width;	      /* of the bar */
	bool drawn;
};

/* mode: "auto" (a bar on a terminal, else lines), "bar", "lines", "off". */
int sf_progress_init(struct sf_progress *p, FILE *out, const char *mode);
/* Shows the counts (a line at most every interval when not a terminal;
 * always when final). */
void sf_progress_show(struct sf_progress *p, const struct sf_progress_counts *k, bool final);
/* One line of text as it would be shown (for tests and the plain mode). */
void sf_progress_format(const struct sf_progress *p, const struct sf_progress_counts *k,
			int64_t now_ms, char *out, size_t outlen, bool bar);

#endif
