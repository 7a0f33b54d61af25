/*
 * report_sarif — a report model (report.h) as the two formats code hosts
 * read:
 *   SARIF 2.1.0: one run per repository (a code host uploads one
 *     repository's), its automationDetails naming the repository; one rule
 *     per Falco rule that fired (ruleId "scanfarm/<rule name in lower case,
 *     dashes>", stable across runs) plus scanfarm/scan-incomplete for
 *     packages that were not scanned to the end; one result per alert rule
 *     of a package and per place the package is used, located at the
 *     lockfile (relative to the repository) and the line of its entry, with
 *     a partialFingerprint over rule, package and lockfile (not the line: a
 *     moved entry is the same finding). Levels: Emergency…Error → error,
 *     Warning → warning, below → note.
 *   GitLab dependency scanning, schema 15.0.7: scan (analyzer, scanner,
 *     times, status), one vulnerability per alert rule of a package and per
 *     lockfile using it (location: file + dependency), identifiers naming
 *     the rule, and dependency_files listing every lockfile's packages.
 *     Severities: Emergency…Critical → Critical, Error → High, Warning →
 *     Medium, Notice → Low, below → Info; incomplete scans → Unknown.
 *
 * Owns: nothing; returned json_t are the caller's. Calls: sha256, jansson.
 */
#ifndef SF_CLI_REPORT_SARIF_H
#define SF_CLI_REPORT_SARIF_H

#include <jansson.h>

json_t *sf_report_sarif(json_t *model);
json_t *sf_report_gitlab(json_t *model);
/* "Read of npm credentials" → "scanfarm/read-of-npm-credentials" */
void sf_report_rule_id(const char *rule, char *out, size_t outlen);

#endif
