// SPDX-License-Identifier: Apache-2.0 OR MIT
/* Asks libsubid_sss.so directly, through shadow's module ABI, what
 * tests/e2e_sssd.rs relies on about SSSD's module (issue 12's facts):
 *
 *   probe symbols                      which shadow_subid_* symbols exist
 *   probe list USER u|g                list_owner_ranges: status, ranges
 *   probe has USER START COUNT u|g     has_range: status, answer
 *   probe owners ID u|g                find_subid_owners: status
 *
 * One line on stdout per call; the array from list_owner_ranges is released
 * with free(), which is the contract of a module without shadow_subid_free.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct subid_range {
	unsigned long start;
	unsigned long count;
};
typedef int (*list_fn)(const char *, int, struct subid_range **, int *);
typedef int (*has_fn)(const char *, unsigned long, unsigned long, int, bool *);
typedef int (*owners_fn)(unsigned long, int, uid_t **, int *);

int main(int argc, char **argv)
{
	void *h = dlopen("libsubid_sss.so", RTLD_NOW);
	const char *names[] = { "shadow_subid_has_range", "shadow_subid_list_owner_ranges",
				"shadow_subid_find_subid_owners", "shadow_subid_free" };
	int i;

	if (!h) {
		fprintf(stderr, "probe: %s\n", dlerror());
		return 2;
	}
	if (argc == 2 && strcmp(argv[1], "symbols") == 0) {
		for (i = 0; i < 4; i++)
			printf("%s%s", i ? " " : "", dlsym(h, names[i]) ? names[i] : "-");
		printf("\n");
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "list") == 0) {
		struct subid_range *ranges = NULL;
		int count = 0, status;
		list_fn list = (list_fn)dlsym(h, names[1]);

		status = list(argv[2], argv[3][0] == 'u' ? 1 : 2, &ranges, &count);
		printf("status=%d", status);
		if (status == 0)
			for (i = 0; i < count; i++)
				printf(" %lu:%lu", ranges[i].start, ranges[i].count);
		printf("\n");
		if (status == 0)
			free(ranges);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "has") == 0) {
		bool result = false;
		has_fn has = (has_fn)dlsym(h, names[0]);
		int status = has(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
				 argv[5][0] == 'u' ? 1 : 2, &result);

		printf("status=%d result=%d\n", status, status == 0 ? (int)result : -1);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "owners") == 0) {
		uid_t *uids = NULL;
		int count = 0;
		owners_fn owners = (owners_fn)dlsym(h, names[2]);
		int status = owners(strtoul(argv[2], NULL, 10), argv[3][0] == 'u' ? 1 : 2, &uids, &count);

		printf("status=%d\n", status);
		return 0;
	}
	fprintf(stderr, "probe: bad arguments\n");
	return 2;
}
