/* proctable — see proctable.h. */
#include "proctable.h"

#include <stdlib.h>
#include <string.h>

void sf_proctable_init(struct sf_proctable *t, bool *oom)
{
	memset(t, 0, sizeof(*t));
	t->oom = oom;
}

struct sf_proc_entry *sf_proctable_find(struct sf_proctable *t, int32_t pid)
{
	for (struct sf_proc_entry *p = t->buckets[(uint32_t)pid % SF_PROCTABLE_BUCKETS]; p;
	     p = p->next)
		if (p->p.pid == pid)
			return p;
	return NULL;
}

static char *proctable_strdup_or_empty(const char *s) { return strdup(s ? s : ""); }

void sf_proctable_set_strings(struct sf_proc_entry *p, const char *exe, const char *exepath,
			      const char *args, const char *cwd)
{
	char *e = proctable_strdup_or_empty(exe), *ep = proctable_strdup_or_empty(exepath),
	     *a = proctable_strdup_or_empty(args), *c = proctable_strdup_or_empty(cwd);
	if (!e || !ep || !a || !c) {
		free(e);
		free(ep);
		free(a);
		free(c);
		return; /* keeps the old strings */
	}
	free(p->exe);
	free(p->exepath);
	free(p->args);
	free(p->cwd);
	p->exe = e;
	p->exepath = ep;
	p->args = a;
	p->cwd = c;
	p->p.exe = e;
	p->p.exepath = ep;
	p->p.args = a;
	p->p.cwd = c;
}

struct sf_proc_entry *sf_proctable_get(struct sf_proctable *t, const struct sf_bpf_event *r)
{
	struct sf_proc_entry *p = sf_proctable_find(t, (int32_t)r->pid);
	if (!p) {
		if (t->n >= SF_PROCTABLE_MAX || !(p = calloc(1, sizeof(*p)))) {
			*t->oom = t->n < SF_PROCTABLE_MAX;
			return NULL;
		}
		p->p.pid = (int32_t)r->pid;
		sf_proctable_set_strings(p, "", "", "", "");
		if (!p->exe) {
			free(p);
			*t->oom = true;
			return NULL;
		}
		p->next = t->buckets[r->pid % SF_PROCTABLE_BUCKETS];
		t->buckets[r->pid % SF_PROCTABLE_BUCKETS] = p;
		t->n++;
	}
	p->p.ppid = (int32_t)r->ppid;
	p->p.vpid = (int32_t)r->vpid;
	p->p.uid = r->uid;
	p->p.gid = r->gid;
	memcpy(p->p.name, r->comm, sizeof(p->p.name));
	p->p.name[sizeof(p->p.name) - 1] = 0;
	struct sf_proc_entry *parent = sf_proctable_find(t, (int32_t)r->ppid);
	p->p.parent = parent && parent != p ? &parent->p : NULL;
	return p;
}

struct sf_proc_entry *sf_proctable_add(struct sf_proctable *t, int32_t pid)
{
	struct sf_proc_entry *c;
	if (t->n >= SF_PROCTABLE_MAX || !(c = calloc(1, sizeof(*c))))
		return NULL;
	c->p.pid = pid;
	c->next = t->buckets[(uint32_t)c->p.pid % SF_PROCTABLE_BUCKETS];
	t->buckets[(uint32_t)c->p.pid % SF_PROCTABLE_BUCKETS] = c;
	t->n++;
	return c;
}

void sf_proctable_free(struct sf_proctable *t)
{
	for (int b = 0; b < SF_PROCTABLE_BUCKETS; b++) {
		struct sf_proc_entry *p = t->buckets[b];
		while (p) {
			struct sf_proc_entry *next = p->next;
			free(p->exe);
			free(p->exepath);
			free(p->args);
			free(p->cwd);
			free(p);
			p = next;
		}
		t->buckets[b] = NULL;
	}
}
