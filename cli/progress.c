/* progress — see progress.h. */
#include "progress.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int sf_progress_init(struct sf_progress *p, FILE *out, const char *mode)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->interval_ms = 10000;
	p->width = 24;
	p->start_ms = sf_monotonic_ms();
	p->first_done = -1;
	if (!mode || !strcmp(mode, "auto"))
		p->tty = isatty(fileno(out));
	else if (!strcmp(mode, "bar"))
		p->tty = true;
	else if (!strcmp(mode, "off"))
		p->quiet = true;
	else if (strcmp(mode, "lines") != 0)
		return -EINVAL;
	return 0;
}

static long long progress_done(const struct sf_progress_counts *k)
{
	return k->finished + k->failed + k->rejected;
}

void sf_progress_format(const struct sf_progress *p, const struct sf_progress_counts *k,
			int64_t now_ms, char *out, size_t outlen, bool bar)
{
	long long done = progress_done(k), total = k->items > 0 ? k->items : 1;
	double secs = (double)(now_ms - p->start_ms) / 1000.0;
	long long base = p->first_done >= 0 ? p->first_done : 0;
	double rate = secs > 0.5 ? (double)(done - base) / secs : 0.0;
	char eta[32] = "--";
	if (done >= k->items)
		snprintf(eta, sizeof(eta), "0s");
	else if (rate > 0) {
		long long left = (long long)((double)(k->items - done) / rate);
		if (left >= 3600)
			snprintf(eta, sizeof(eta), "%lldh%02lldm", left / 3600, left % 3600 / 60);
		else if (left >= 60)
			snprintf(eta, sizeof(eta), "%lldm%02llds", left / 60, left % 60);
		else
			snprintf(eta, sizeof(eta), "%llds", left);
	}
	char barbuf[128] = "";
	if (bar) {
		int w = p->width < 100 ? p->width : 100, fill = (int)(done * w / total);
		barbuf[0] = '[';
		for (int i = 0; i < w; i++)
			barbuf[1 + i] = i < fill ? '#' : '.';
		barbuf[1 + w] = ']';
		barbuf[2 + w] = ' ';
		barbuf[3 + w] = '\0';
	}
	snprintf(out, outlen,
		 "%s%lld/%lld done, %lld cached, %lld queued, %lld running, %lld failed, %.1f/s, ETA %s",
		 barbuf, done, k->items, k->cached, k->queued, k->running, k->failed + k->rejected,
		 rate, eta);
}

void sf_progress_show(struct sf_progress *p, const struct sf_progress_counts *k, bool final)
{
	if (p->quiet)
		return;
	int64_t now = sf_monotonic_ms();
	if (p->first_done < 0) {
		p->first_done = progress_done(k);
		p->start_ms = now;
	}
	if (!p->tty && !final && p->drawn && now - p->last_ms < p->interval_ms)
		return;
	char line[512];
	sf_progress_format(p, k, now, line, sizeof(line), p->tty);
	if (p->tty) /* back to the line's start, the line, clear what is left of it */
		fprintf(p->out, "\r%s\033[K%s", line, final ? "\n" : "");
	else
		fprintf(p->out, "scanfarm: %s\n", line);
	fflush(p->out);
	p->last_ms = now;
	p->drawn = true;
}
