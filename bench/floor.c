// SPDX-License-Identifier: Apache-2.0 OR MIT
/* The floor: what any setuid-root helper pays for fork, privileged exec and
 * exit. Built with `cc -static -O2` and installed setuid-root by run.sh. */
int main(void) { return 0; }
