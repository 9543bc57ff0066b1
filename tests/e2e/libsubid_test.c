// SPDX-License-Identifier: Apache-2.0 OR MIT
/* A libsubid NSS module for the end-to-end tests (issue 5), with shadow's
 * ABI: the four shadow_subid_* symbols. Its answers come from the fixed file
 * /etc/subid-test-ranges (inside a case, the fixture overlay):
 *
 *   u NAME START COUNT    a subordinate UID range of user NAME
 *   g NAME START COUNT    a subordinate GID range
 *   mode conn             every call returns SUBID_STATUS_ERROR_CONN
 *   mode list-error       list_owner_ranges returns SUBID_STATUS_ERROR
 *                         (has_range still answers)
 *   mode empty-success    a user without ranges gets SUCCESS with 0 ranges
 *                         (by default UNKNOWN_USER, as SSSD's module does)
 *
 * It refuses to answer (SUBID_STATUS_ERROR) when it runs with privilege:
 * an effective UID or GID other than the real one, or any effective
 * capability. So a test that passes shows module code ran as the caller.
 * Compiled with -DOMIT_FREE it lacks shadow_subid_free, like SSSD before
 * 2.10 (Debian 12's 2.8, the 2.9 series): the caller must free() the array,
 * and find_subid_owners is a stub there too. Compiled with -DOMIT_LIST it
 * lacks shadow_subid_list_owner_ranges: not a usable module.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum subid_type { ID_TYPE_UID = 1, ID_TYPE_GID = 2 };
enum subid_status {
	SUBID_STATUS_SUCCESS = 0,
	SUBID_STATUS_UNKNOWN_USER = 1,
	SUBID_STATUS_ERROR_CONN = 2,
	SUBID_STATUS_ERROR = 3,
};
struct subid_range {
	unsigned long start;
	unsigned long count;
};

#define RANGES_FILE "/etc/subid-test-ranges"

static bool privileged(void)
{
	char line[256];
	bool effective_caps = true;
	FILE *f;

	if (geteuid() != getuid() || getegid() != getgid())
		return true;
	f = fopen("/proc/self/status", "r");
	if (!f)
		return true;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "CapEff:", 7) == 0)
			effective_caps = strtoull(line + 7, NULL, 16) != 0;
	}
	fclose(f);
	return effective_caps;
}

static bool has_mode(const char *mode)
{
	char line[256], word[64];
	bool found = false;
	FILE *f = fopen(RANGES_FILE, "r");

	if (!f)
		return false;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "mode %63s", word) == 1 && strcmp(word, mode) == 0)
			found = true;
	fclose(f);
	return found;
}

/* Reads the ranges of `owner`; returns a malloc'd array (maybe NULL) and
 * the number in *count, or -1 when the file cannot be read. */
static int read_ranges(const char *owner, enum subid_type type,
		       struct subid_range **out, int *count)
{
	char line[256], kind, name[128];
	unsigned long start, n;
	struct subid_range *ranges = NULL, *grown;
	int used = 0;
	FILE *f = fopen(RANGES_FILE, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%c %127s %lu %lu", &kind, name, &start, &n) != 4)
			continue;
		if (kind != (type == ID_TYPE_UID ? 'u' : 'g') || strcmp(name, owner) != 0)
			continue;
		grown = realloc(ranges, (used + 1) * sizeof *ranges);
		if (!grown) {
			free(ranges);
			fclose(f);
			return -1;
		}
		ranges = grown;
		ranges[used].start = start;
		ranges[used].count = n;
		used++;
	}
	fclose(f);
	*out = ranges;
	*count = used;
	return 0;
}

#ifndef OMIT_LIST
enum subid_status shadow_subid_list_owner_ranges(const char *owner, enum subid_type id_type,
						 struct subid_range **ranges, int *count)
{
	if (!owner || !ranges || !count || privileged())
		return SUBID_STATUS_ERROR;
	if (has_mode("conn"))
		return SUBID_STATUS_ERROR_CONN;
	if (has_mode("list-error"))
		return SUBID_STATUS_ERROR;
	if (read_ranges(owner, id_type, ranges, count) != 0)
		return SUBID_STATUS_ERROR;
	if (*count == 0 && !has_mode("empty-success"))
		return SUBID_STATUS_UNKNOWN_USER;
	return SUBID_STATUS_SUCCESS;
}
#endif

enum subid_status shadow_subid_has_range(const char *owner, unsigned long start,
					 unsigned long count, enum subid_type id_type,
					 bool *result)
{
	struct subid_range *ranges = NULL;
	int n = 0, i;

	if (!owner || !result || privileged())
		return SUBID_STATUS_ERROR;
	if (has_mode("conn"))
		return SUBID_STATUS_ERROR_CONN;
	if (read_ranges(owner, id_type, &ranges, &n) != 0)
		return SUBID_STATUS_ERROR;
	*result = false;
	for (i = 0; i < n; i++)
		if (ranges[i].start <= start && start + count <= ranges[i].start + ranges[i].count)
			*result = true;
	free(ranges);
	return SUBID_STATUS_SUCCESS;
}

enum subid_status shadow_subid_find_subid_owners(unsigned long id, enum subid_type id_type,
						 uid_t **uids, int *count)
{
	(void)id;
	(void)id_type;
	(void)uids;
	(void)count;
	return SUBID_STATUS_ERROR;
}

#ifndef OMIT_FREE
void shadow_subid_free(void *ptr)
{
	free(ptr);
}
#endif
