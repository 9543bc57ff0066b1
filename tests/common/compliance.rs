//! Every known and intended difference between our helpers and Debian's
//! shadow helpers (package `uidmap`, shadow 4.13), in one place.
//!
//! `IDMAP_UNDER_TEST=shadow cargo test --no-fail-fast --test e2e_core ...`
//! (every e2e file but e2e_packaging; packaging/test.sh runs it after the
//! suite) runs the same end-to-end cases against shadow's
//! /usr/bin/newuidmap and newgidmap,
//! copied into the harness's install directories setuid-root and with file
//! capabilities (cap_setuid+ep / cap_setgid+ep). Debian's 4.13 is built
//! without libcap, so with file capabilities it writes as the caller with
//! that one capability effective, and the kernel, not shadow, refuses what
//! the capability does not cover (an outer UID 0 needs CAP_SETFCAP).
//!
//! Under the switch, each test named here must fail against shadow (the
//! harness checks it does: a listed test that passes is stale and fails the
//! run), and every test not named here must pass. Only behaviour is compared
//! against shadow: exit status, the maps and setgroups written, stdout, and
//! that a refusal says something; the wording of our messages is checked
//! only when ours are under test.
//!
//! A name is `file::test` (both modes) or `file::test::setuid` / `::fcaps`.

use super::Install;

/// Shadow 4.13 reads a subuid/subgid entry of count 0 as covering every ID
/// (its end, start + count - 1, wraps), so the fixtures' `alice:0:0`
/// delegates every UID and GID to alice: whatever ours refuses her for a
/// range, shadow writes.
const ALICE_0_0: &str = "alice:0:0: shadow 4.13 reads a count-0 entry as covering every ID and grants alice anything (we grant nothing)";
/// Shadow parses numbers with strtoul base 0.
const STRTOUL: &str = "numbers: shadow's strtoul base 0 accepts this form (0x10 = 16, 010 = 8, +5, -0, ' 5'); we accept plain decimal only";
/// Without its privilege (nosuid mount, no_new_privs, a tracer) shadow
/// still writes a map of the caller's own ID, which the kernel allows to
/// anyone; ours refuses at once and names why it lacks its privilege.
const UNPRIVILEGED_OWN_ID: &str = "started without its privilege, shadow still maps the caller's own ID (the kernel allows that to anyone); ours refuses, naming the cause";
const NO_AUDIT: &str = "audit: shadow logs nothing to syslog";
const NO_DRY_RUN: &str = "--dry-run: shadow has none (usage message)";
const NO_FD_TARGET: &str = "fd:N targets: Debian's 4.13 has none (usage message)";
const UNTRUSTED_FILES: &str = "trust: shadow reads /etc/subuid and /etc/subgid whoever owns or may write them; we refuse such files";
const SILENT_OPEN_FAILURE: &str = "shadow 4.13 opens /etc/subuid with O_NOFOLLOW and exits 1 without a message when that fails (symlink, directory, no read permission); we follow a root-owned link to a root-owned regular file, and name the cause";
const MODULE_AS_ROOT: &str = "subid module: shadow 4.13 runs it with its privilege (euid 0 or an effective capability), and the test module refuses to answer then, by design; ours calls modules as the caller";
const ONE_SOURCE: &str = "subid sources: shadow consults one source (a missing or failing module falls back to files, or ends the search); ours takes the union of the listed sources and warns about an unavailable one";
const NO_PRIVILEGE_DROP: &str = "privilege order: Debian's 4.13 makes no setresuid/capset call at all (built without libcap), so the traces have no drop";

/// (test, why shadow fails it).
pub const DIFFERENCES: &[(&str, &str)] = &[
    // e2e_core
    ("e2e_core::alice_0_0_grants_no_outer_root", ALICE_0_0),
    ("e2e_core::outside_range_refused_with_empty_map", ALICE_0_0),
    (
        "e2e_core::setgroups_deny_only_for_own_gid_maps",
        "setgroups: with alice:0:0 in subgid shadow 4.13 counts her own GID as delegated, so it leaves setgroups `allow` for an own-GID-only map (the CVE-2018-7169 guard does not fire)",
    ),
    ("e2e_core::hex_number", STRTOUL),
    ("e2e_core::octal_number", STRTOUL),
    ("e2e_core::fd_targets", NO_FD_TARGET),
    ("e2e_core::config_file_forms_and_trust", SILENT_OPEN_FAILURE),
    // e2e_adversarial
    ("e2e_adversarial::hex", STRTOUL),
    ("e2e_adversarial::octal", STRTOUL),
    ("e2e_adversarial::plus_sign", STRTOUL),
    ("e2e_adversarial::minus_zero", STRTOUL),
    ("e2e_adversarial::leading_blank", STRTOUL),
    (
        "e2e_adversarial::pid_signed_real_process",
        "PID: shadow accepts a signed PID (+PID) for a real process",
    ),
    ("e2e_adversarial::fd_targets_that_work", NO_FD_TARGET),
    ("e2e_adversarial::callers_sharing_an_account", ALICE_0_0),
    (
        "e2e_adversarial::refusals_with_closed_standard_streams",
        ALICE_0_0,
    ),
    (
        "e2e_adversarial::refusal_with_stdout_a_broken_pipe",
        ALICE_0_0,
    ),
    (
        "e2e_adversarial::zero_count_entry_grants_nothing",
        ALICE_0_0,
    ),
    ("e2e_adversarial::world_writable", UNTRUSTED_FILES),
    ("e2e_adversarial::writable_by_others_only", UNTRUSTED_FILES),
    ("e2e_adversarial::writable_by_a_user_group", UNTRUSTED_FILES),
    ("e2e_adversarial::owned_by_the_caller", UNTRUSTED_FILES),
    ("e2e_adversarial::owned_by_another_user", UNTRUSTED_FILES),
    (
        "e2e_adversarial::root_link_to_a_user_file",
        SILENT_OPEN_FAILURE,
    ),
    ("e2e_adversarial::a_directory", SILENT_OPEN_FAILURE),
    (
        "e2e_adversarial::no_new_privs_is_named",
        UNPRIVILEGED_OWN_ID,
    ),
    (
        "e2e_adversarial::namespace_created_by_another_user::setuid",
        "namespace owner: setuid shadow writes as root and never checks who created the target's namespace (the kernel lets root); with file capabilities the kernel refuses it too",
    ),
    (
        "e2e_adversarial::non_dumpable_target::setuid",
        "non-dumpable target: setuid shadow opens the maps as root; with file capabilities the kernel refuses it too",
    ),
    // e2e_diagnostics
    (
        "e2e_diagnostics::range_not_allowed_names_own_ranges_only",
        ALICE_0_0,
    ),
    (
        "e2e_diagnostics::partly_covered_request_names_the_gap",
        ALICE_0_0,
    ),
    (
        "e2e_diagnostics::dry_run_prints_the_map_and_writes_nothing",
        NO_DRY_RUN,
    ),
    ("e2e_diagnostics::dry_run_needs_no_privilege", NO_DRY_RUN),
    (
        "e2e_diagnostics::audit_lines_for_grant_and_refusal",
        "audit: shadow logs nothing to syslog",
    ),
    // e2e_nss
    ("e2e_nss::module_only_grant", MODULE_AS_ROOT),
    (
        "e2e_nss::failed_listing_falls_back_to_has_range",
        MODULE_AS_ROOT,
    ),
    (
        "e2e_nss::invalid_module_entries_are_ignored",
        MODULE_AS_ROOT,
    ),
    ("e2e_nss::module_missing_a_symbol", MODULE_AS_ROOT),
    ("e2e_nss::module_returning_error_conn", ONE_SOURCE),
    ("e2e_nss::missing_module_needed", ALICE_0_0),
    ("e2e_nss::files_only_refusal_is_the_files", ALICE_0_0),
    ("e2e_nss::neither_source_alone_covers_the_union", ALICE_0_0),
    (
        "e2e_nss::union_of_files_and_module",
        "subid: test files: shadow consults only the first source (here the test module, which refuses to answer with privilege); ours takes the union",
    ),
    (
        "e2e_nss::ld_library_path_is_ignored",
        "a missing module: shadow falls back to /etc/subuid (where alice:0:0 grants); ours consults only the configured sources",
    ),
    ("e2e_nss::files_only_dry_run", NO_DRY_RUN),
    ("e2e_nss::union_dry_run_names_each_source", NO_DRY_RUN),
    ("e2e_nss::module_without_subid_free_works", MODULE_AS_ROOT),
    ("e2e_nss::module_without_subid_free_dry_run", NO_DRY_RUN),
    // e2e_sssd
    (
        "e2e_sssd::central_subids",
        "subid: files sss: shadow consults one source, so a range across /etc/subuid and the directory is refused (ours takes the union); and it has no --dry-run. With SSSD alone shadow's grants and refusals match ours",
    ),
    // e2e_hardening
    (
        "e2e_hardening::audit_record_has_the_name_escaped_once",
        NO_AUDIT,
    ),
    (
        "e2e_hardening::file_size_limit_on_stderr_cannot_suppress_the_record",
        ALICE_0_0,
    ),
    (
        "e2e_hardening::file_size_limit_on_stderr_and_a_grant",
        NO_AUDIT,
    ),
    (
        "e2e_hardening::full_stderr_pipe_and_sigkill_cannot_suppress_the_record",
        ALICE_0_0,
    ),
    (
        "e2e_hardening::stalled_syslog_receiver_does_not_hold_a_refusal",
        ALICE_0_0,
    ),
    (
        "e2e_hardening::tostop_terminal_cannot_stop_the_helper",
        ALICE_0_0,
    ),
    (
        "e2e_hardening::root_only_subid_file_names_mode_owner_and_fix::setuid",
        "a root-only /etc/subuid: setuid shadow reads it as root (and alice:0:0 grants); ours reads as the caller and names the file's mode",
    ),
    (
        "e2e_hardening::root_only_subid_file_names_mode_owner_and_fix::fcaps",
        SILENT_OPEN_FAILURE,
    ),
    (
        "e2e_hardening::threads_are_refused_by_one_rule",
        "threads: shadow maps the namespace of a thread ID given as the PID; ours refuses threads by one rule",
    ),
    // e2e_environment
    (
        "e2e_environment::nosuid_mount_is_named",
        UNPRIVILEGED_OWN_ID,
    ),
    (
        "e2e_environment::traced_caller_is_named",
        UNPRIVILEGED_OWN_ID,
    ),
    (
        "e2e_environment::zombie_target_is_named::setuid",
        "a zombie target: setuid shadow writes its map as root and exits 0; ours refuses, naming the zombie (with file capabilities the kernel refuses shadow too)",
    ),
    // e2e_doctor: `subid doctor`'s trial runs the helpers under test
    (
        "e2e_doctor::doctor_passes_a_good_setup",
        "subid doctor's trial: shadow's grants reach no audit trail (shadow logs nothing)",
    ),
    (
        "e2e_doctor::doctor_names_helper_problems",
        "subid doctor's trial on a nosuid mount: shadow, without its privilege, still maps the caller's own ID, so the trial shows no refusal to name",
    ),
    (
        "e2e_doctor::doctor_names_the_session",
        "subid doctor's trial under no_new_privs: shadow still maps the caller's own ID unprivileged, so the trial shows no refusal to name",
    ),
    // e2e_privilege_order
    (
        "e2e_privilege_order::help_version_and_usage_errors_print_after_the_drop",
        "--help/--version: shadow has neither (usage, exit 1), and Debian's 4.13 makes no privilege drop",
    ),
    (
        "e2e_privilege_order::uid_map_drop_before_proc_raise_before_write_one_write",
        NO_PRIVILEGE_DROP,
    ),
    (
        "e2e_privilege_order::gid_map_with_setgroups_deny_in_order",
        "setgroups stays `allow` (alice:0:0, as in e2e_core's setgroups test), and Debian's 4.13 makes no privilege drop",
    ),
    (
        "e2e_privilege_order::refusals_never_raise_or_open_map_files",
        "the refused ranges are granted (alice:0:0), and Debian's 4.13 makes no privilege drop",
    ),
    (
        "e2e_privilege_order::setuid_outer_root_refusal_keeps_setfcap_never_raised",
        "outer root is granted (alice:0:0), and Debian's 4.13 makes no privilege drop",
    ),
    (
        "e2e_privilege_order::debian_shadow_4_13_makes_no_drop",
        "the contrast test's second half traces the helper under test and expects our drop",
    ),
];

/// The listed reason when `name` (in `install` mode) is a known difference.
pub fn difference(name: &str, install: Option<Install>) -> Option<&'static str> {
    let moded = install.map(|i| format!("{name}::{i}"));
    DIFFERENCES
        .iter()
        .find(|(listed, _)| *listed == name || Some(*listed) == moded.as_deref())
        .map(|(_, why)| *why)
}

/// Every listed name must name a test that exists, so that a renamed or
/// removed test cannot leave a listing behind: the file `tests/FILE.rs`
/// must define the test (`fn NAME(` or a row `NAME: (`).
pub fn assert_listing_names_real_tests() {
    for (listed, _) in DIFFERENCES {
        let mut parts: Vec<&str> = listed.split("::").collect();
        if matches!(parts.last(), Some(&"setuid" | &"fcaps")) {
            parts.pop();
        }
        let (file, test) = (parts[0], parts[1..].join("::"));
        let source = std::fs::read_to_string(format!("{}/tests/{file}.rs", super::REPO))
            .unwrap_or_else(|e| panic!("{listed}: tests/{file}.rs: {e}"));
        let last = test.rsplit("::").next().unwrap_or_default();
        assert!(
            source.contains(&format!("fn {last}(")) || source.contains(&format!("{last}: (")),
            "compliance.rs lists {listed}, but tests/{file}.rs has no such test"
        );
    }
}
