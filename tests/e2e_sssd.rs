//! Issue 12: central subordinate IDs from a real SSSD/FreeIPA-style stack,
//! in both install modes.
//!
//! Everything is Debian 12's own: an MIT KDC (krb5-kdc, krb5-admin-server),
//! OpenLDAP's slapd holding FreeIPA-style users and subordinate-ID entries
//! and binding with SASL/GSSAPI (libsasl2-modules-gssapi-mit), sssd 2.8 with
//! `id_provider = ipa` (sssd-ipa) and its libsubid_sss.so (sssd-common), and
//! shadow's getsubids (uidmap) as the reference. packaging/test.sh installs
//! them without starting a daemon on the host. tests/sssd/stack.sh brings
//! the stack up in private mount, network and PID namespaces with its own
//! /etc overlay, /run, /var/lib/sss and loopback, in about 1.5 s; one stack
//! serves every case of a mode, and each daemon is stopped by its PID.
//!
//! The directory (tests/sssd/directory.ldif) gives the directory-only users
//! dora and zed and the local /etc/passwd user alice one range each, from
//! 2^31 as FreeIPA assigns them.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

const DORA: Ids = Ids {
    uid: 1_950_000_001,
    gid: 1_950_000_001,
};
const DORA_START: u64 = 2_147_483_648;
const ALICE_START: u64 = 2_147_549_184;
const ZED_START: u64 = 2_147_614_720;
const UNASSIGNED: u64 = 2_147_680_256;
const COUNT: u64 = 65_536;
/// dora's /etc/subuid and /etc/subgid line, adjacent below her directory
/// range (for `subid: files sss`).
const DORA_FILE_START: u64 = DORA_START - COUNT;

/// The programs and libraries the stack needs (library paths relative to
/// the multiarch library directory), with their Debian packages.
const NEEDED: [(&str, &str); 10] = [
    ("/usr/sbin/sssd", "sssd-common"),
    ("libsubid_sss.so", "sssd-common"),
    ("sssd/libsss_ipa.so", "sssd-ipa"),
    ("/usr/sbin/slapd", "slapd"),
    ("/usr/bin/ldapsearch", "ldap-utils"),
    ("/usr/sbin/krb5kdc", "krb5-kdc"),
    ("/usr/sbin/kadmin.local", "krb5-admin-server"),
    ("/usr/bin/kinit", "krb5-user"),
    ("sasl2/libgssapiv2.so", "libsasl2-modules-gssapi-mit"),
    ("/usr/bin/getsubids", "uidmap"),
];

/// True when the whole stack is installed; otherwise says what is missing.
/// Under CI a missing part is a failure (packaging/test.sh installs it).
fn stack_present(test: &str) -> bool {
    let libdir = system_libdir();
    let missing: Vec<String> = NEEDED
        .iter()
        .filter(|(path, _)| !Path::new(libdir).join(path).exists())
        .map(|(path, package)| format!("{path} ({package})"))
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip(
        test,
        &format!(
            "missing {} (run packaging/test.sh as root)",
            missing.join(", ")
        ),
    );
    false
}

const KRB5_CONF: &str = "[libdefaults]
 default_realm = TEST.EXAMPLE
 dns_lookup_kdc = false
 dns_lookup_realm = false
 dns_canonicalize_hostname = false
 rdns = false
[realms]
 TEST.EXAMPLE = {
  kdc = 127.0.0.1:88
 }
[domain_realm]
 .test.example = TEST.EXAMPLE
 test.example = TEST.EXAMPLE
";

const HOSTS: &str = "127.0.0.1 localhost
127.0.0.1 ipa.test.example client.test.example
";

/// sssd.conf: the ipa provider for identities (and so subid ranges), every
/// other IPA feature off.
fn sssd_conf(keytab: &Path) -> String {
    format!(
        "[sssd]
services = nss
domains = test.example

[domain/test.example]
id_provider = ipa
ipa_domain = test.example
ipa_server = ipa.test.example
ipa_hostname = client.test.example
krb5_realm = TEST.EXAMPLE
ldap_krb5_keytab = {keytab}
krb5_keytab = {keytab}
ipa_subid_ranges_search_base = cn=subids,cn=accounts,dc=test,dc=example
auth_provider = none
chpass_provider = none
access_provider = permit
selinux_provider = none
hostid_provider = none
subdomains_provider = none
autofs_provider = none
sudo_provider = none
dyndns_update = false
cache_credentials = false
debug_level = 6
",
        keytab = keytab.display()
    )
}

/// tests/sssd/probe.c, compiled once: asks libsubid_sss.so directly.
fn probe_program() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        let out = unique_dir("sssd-probe").join("probe");
        run_ok(
            Command::new("cc")
                .args(["-O2", "-Wall", "-Werror", "-o"])
                .arg(&out)
                .arg(Path::new(REPO).join("tests/sssd/probe.c"))
                .arg("-ldl"),
        );
        out
    })
}

fn nsswitch(subid: &str) -> String {
    format!("passwd: files sss\ngroup: files sss\n{subid}\n")
}

/// The scene: the `basic` fixture set plus the stack's configuration, with
/// `subid: sss`. dora's adjacent file ranges are appended to subuid/subgid.
fn stack_scene(label: &str) -> Scene {
    let basic = Path::new(REPO).join("subid-fixtures/basic");
    let mut subuid = fs::read_to_string(basic.join("subuid")).unwrap();
    subuid.push_str(&format!("dora:{DORA_FILE_START}:{COUNT}\n"));
    let mut subgid = fs::read_to_string(basic.join("subgid")).unwrap();
    subgid.push_str(&format!("dora:{DORA_FILE_START}:{COUNT}\n"));
    let nss_sss = nsswitch("subid: sss");
    let nss_both = nsswitch("subid: files sss");
    let scene = Scene::new(
        label,
        "basic",
        &[
            ("nsswitch.conf", nss_sss.as_str()),
            ("nsswitch.files-sss", nss_both.as_str()),
            ("krb5.conf", KRB5_CONF),
            ("hosts", HOSTS),
            ("subuid", subuid.as_str()),
            ("subgid", subgid.as_str()),
        ],
    );
    let sssd = scene.fix.join("sssd");
    fs::create_dir_all(&sssd).unwrap();
    fs::set_permissions(&sssd, fs::Permissions::from_mode(0o711)).unwrap();
    let conf = sssd.join("sssd.conf");
    fs::write(
        &conf,
        sssd_conf(&scene.work.join("stack/keytabs/host.keytab")),
    )
    .unwrap();
    // sssd refuses a configuration not owned by root or readable by others.
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o600)).unwrap();
    scene
}

/// One call's results, read back from the scene's output directory.
#[derive(Debug)]
struct Call {
    status: i32,
    stdout: String,
    stderr: String,
    uid_map: String,
    gid_map: String,
}

impl Call {
    fn read(work: &Path, name: &str) -> Call {
        let dir = work.join("out").join(name);
        let read = |file: &str| fs::read_to_string(dir.join(file)).unwrap_or_default();
        Call {
            status: read("status").trim().parse().unwrap_or(-1),
            stdout: read("stdout"),
            stderr: read("stderr"),
            uid_map: read("uid_map"),
            gid_map: read("gid_map"),
        }
    }

    fn outcome(&self) -> Outcome {
        Outcome {
            status: self.status,
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
            uid_map: self.uid_map.clone(),
            gid_map: self.gid_map.clone(),
            ..Outcome::default()
        }
    }

    fn granted(&self, ctx: &str, uid_map: &[String], gid_map: &[String]) {
        assert_eq!(self.status, 0, "{ctx}: {self:#?}");
        assert_eq!(self.stderr, "", "{ctx}");
        assert_eq!(Outcome::map(&self.uid_map), uid_map, "{ctx}");
        assert_eq!(Outcome::map(&self.gid_map), gid_map, "{ctx}");
    }

    fn refused(&self, program: &str, ctx: &str, says: &[&str]) {
        let out = self.outcome();
        out.assert_refused(program, ctx);
        for text in says {
            out.says(ctx, text);
        }
    }
}

/// Shell helpers of the scene: `call NAME UID GID PROGRAM ARGS...` runs a
/// helper as UID:GID against a fresh target (`{pid}` is its PID) and keeps
/// status, output and maps in $WORK/out/NAME; `tool NAME UID GID CMD...`
/// runs an unprivileged command the same way, without a target.
const CALLS: &str = r#"
as_caller() { local uid=$1 gid=$2; shift 2; setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }
call() {
  local name=$1 uid=$2 gid=$3 prog=$4 out=$WORK/out/$1; shift 4
  mkdir -p "$out"; chmod 0777 "$out"
  setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$TARGET" "$out/ready" &
  local T=$! i a args=()
  for i in $(seq 500); do [ -s "$out/ready" ] && break; sleep 0.01; done
  for a in "$@"; do [ "$a" = "{pid}" ] && a=$T; args+=("$a"); done
  as_caller "$uid" "$gid" "$BIN/$prog" "${args[@]}" >"$out/stdout" 2>"$out/stderr"
  echo $? >"$out/status"
  cat "/proc/$T/uid_map" >"$out/uid_map"; cat "/proc/$T/gid_map" >"$out/gid_map"
  kill "$T"; wait "$T" 2>/dev/null
}
tool() {
  local name=$1 uid=$2 gid=$3 out=$WORK/out/$1; shift 3
  mkdir -p "$out"; chmod 0777 "$out"
  (cd / && as_caller "$uid" "$gid" env -i PATH=/usr/bin:/bin "$@" >"$out/stdout" 2>"$out/stderr")
  echo $? >"$out/status"
}
"#;

/// Users whose ranges `subid show`, the getsubids personality and Debian's
/// getsubids are compared on (an unknown name and carol, who has no range).
const SHOWN: [&str; 5] = ["dora", "alice", "zed", "carol", "nosuchuser"];

fn show_calls(prefix: &str) -> String {
    let mut script = String::new();
    for user in SHOWN {
        for (flag, kind) in [("", "u"), ("-g ", "g")] {
            for (label, cmd) in [
                ("debian", "/usr/bin/getsubids".to_string()),
                ("personality", "$WORK/bin/getsubids".to_string()),
                ("show", "$SUBID show".to_string()),
            ] {
                script.push_str(&format!(
                    "tool {prefix}-{label}-{kind}-{user} 1000 1000 {cmd} {flag}{user}\n"
                ));
            }
        }
    }
    script
}

fn assert_shows_match(work: &Path, prefix: &str, ctx: &str) {
    for user in SHOWN {
        for kind in ["u", "g"] {
            let name = |label: &str| format!("{prefix}-{label}-{kind}-{user}");
            let debian = Call::read(work, &name("debian"));
            let personality = Call::read(work, &name("personality"));
            let show = Call::read(work, &name("show"));
            let c = format!("{ctx} {prefix} {kind} {user}");
            assert_eq!(personality.stdout, debian.stdout, "{c}: getsubids stdout");
            assert_eq!(personality.stderr, debian.stderr, "{c}: getsubids stderr");
            assert_eq!(personality.status, debian.status, "{c}: getsubids status");
            // subid show prints the same ranges for people (issue 18):
            // `START-LAST (N IDs)  SOURCE` under a heading.
            let expected: Vec<String> = debian
                .stdout
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    let range = newidmap::parse::map::IdRange::new(
                        f.get(2)?.parse().ok()?,
                        f.get(3)?.parse().ok()?,
                    )?;
                    Some(range.human())
                })
                .collect();
            let shown: Vec<String> = show
                .stdout
                .lines()
                .skip(1)
                .map(|l| l.trim_start().split("  ").next().unwrap_or("").to_string())
                .collect();
            assert_eq!(shown, expected, "{c}: subid show stdout: {}", show.stdout);
            assert_eq!(show.status, debian.status, "{c}: subid show status");
        }
    }
}

fn central_subids_in(install: Install) {
    let ctx = format!("{install:?}");
    let scene = stack_scene(&format!("sssd-{install:?}").to_lowercase());
    let sssd_dir = Path::new(REPO).join("tests/sssd");
    let bin = installed(install);
    let subid = env!("CARGO_BIN_EXE_subid");
    let (d, a, z, u, n) = (DORA_START, ALICE_START, ZED_START, UNASSIGNED, COUNT);
    let (du, dg) = (DORA.uid, DORA.gid);
    let f = DORA_FILE_START;
    let both = 2 * n;
    let script = format!(
        r#"set -u
STACK=$WORK/stack STACK_LDIF={dir}/directory.ldif STACK_SCHEMA={dir}/subid.schema STACK_SLAPD_CONF={dir}/slapd.conf.in
BIN={bin} TARGET={target} SUBID={subid} PROBE={probe}
mkdir -p "$STACK" "$WORK/out" "$WORK/bin" && chmod 0755 "$WORK" "$WORK/bin"
ln -s "$SUBID" "$WORK/bin/getsubids"
source {dir}/stack.sh
{calls}
stack_up
# What SSSD's module itself answers (issue 12's facts about SSSD 2.8).
probe() {{ local name=$1; shift; tool "probe-$name" 1000 1000 "$PROBE" "$@"; }}
probe symbols symbols
probe list-dora list dora u
probe list-alice list alice g
probe list-carol list carol u
probe list-unknown list nosuchuser u
probe has-inside has dora {inside} 10 u
probe has-past has dora {d} {past} u
probe has-other has dora {z} 10 u
probe owners owners {d} u
# Exactly their ranges: dora (directory only), alice (/etc/passwd).
call dora-uid {du} {dg} newuidmap {{pid}} 0 {du} 1 1 {d} {n}
call dora-gid {du} {dg} newgidmap {{pid}} 0 {dg} 1 1 {d} {n}
call alice-uid 1000 1000 newuidmap {{pid}} 0 1000 1 1 {a} {n}
call alice-gid 1000 1000 newgidmap {{pid}} 0 {a} {n}
# Refused: one past the range, another user's range, an unassigned range.
call past 1950000001 1950000001 newuidmap {{pid}} 0 {d} {past}
call other 1950000001 1950000001 newuidmap {{pid}} 0 {z} 10
call unassigned 1950000001 1950000001 newgidmap {{pid}} 0 {u} 10
call alice-other 1000 1000 newuidmap {{pid}} 0 {d} 1
call dry 1950000001 1950000001 newuidmap --dry-run - 0 {du} 1 1 {d} {n}
{shows_sss}
# subid: files sss: dora's file line and her adjacent directory range.
mount --bind /etc/nsswitch.files-sss /etc/nsswitch.conf
call union-uid {du} {dg} newuidmap {{pid}} 0 {f} {both}
call union-gid {du} {dg} newgidmap {{pid}} 0 {f} {both}
call union-dry {du} {dg} newuidmap --dry-run - 0 {f} {both}
umount /etc/nsswitch.conf
# sssd stopped: fail closed.
stack_stop_sssd
call down-dora {du} {dg} newuidmap {{pid}} 0 {d} {n}
call down-alice 1000 1000 newgidmap {{pid}} 0 {a} {n}
call down-dry {du} {dg} newuidmap --dry-run - 0 {d} {n}
probe down-list list dora u
probe down-has has dora {d} 1 u
{shows_down}
grep -c 'mech=GSSAPI' "$STACK/ldap/slapd.log" >"$WORK/out/gssapi-binds"
grep -c 'BE_REQ_SUBID_RANGES' "$STACK/sssd.log" >"$WORK/out/subid-requests"
stack_down
echo stack-ok
"#,
        dir = sssd_dir.display(),
        bin = bin.display(),
        target = target_program().display(),
        probe = probe_program().display(),
        inside = d + 52,
        calls = CALLS,
        past = n + 1,
        shows_sss = show_calls("sss"),
        shows_down = show_calls("down"),
    );
    let out = scene.run_script_in(&["--net"], &format!("mount_fixture\n{script}"));
    assert!(
        out.status == 0 && out.stdout.contains("stack-ok"),
        "{ctx}: the stack did not run: {out:#?}\n{}",
        fs::read_to_string(scene.work.join("stack/sssd.log")).unwrap_or_default()
    );
    let w = &scene.work;
    let call = |name: &str| Call::read(w, name);
    let sss = "libsubid_sss.so";

    // The real stack was used: sssd bound with GSSAPI and asked for ranges.
    let binds = fs::read_to_string(w.join("out/gssapi-binds")).unwrap();
    assert_ne!(
        binds.trim(),
        "0",
        "{ctx}: no SASL/GSSAPI bind in slapd's log"
    );
    let requests = fs::read_to_string(w.join("out/subid-requests")).unwrap();
    assert_ne!(requests.trim(), "0", "{ctx}: sssd served no subid request");

    // SSSD 2.8's module, asked directly: no shadow_subid_free (so the test
    // exercises the libc free() path), one range per kind, looked up by
    // name (alice has no directory account), UNKNOWN_USER (1) for a user
    // with no range and an unknown one alike, has_range true only inside
    // one range, find_subid_owners a stub (ERROR, 3), ERROR_CONN (2) with
    // sssd stopped.
    let probe = |name: &str| {
        let c = call(&format!("probe-{name}"));
        assert_eq!(c.status, 0, "{ctx} probe {name}: {c:#?}");
        c.stdout
    };
    assert_eq!(
        probe("symbols"),
        "shadow_subid_has_range shadow_subid_list_owner_ranges shadow_subid_find_subid_owners -\n",
        "{ctx}: libsubid_sss.so's exports changed; is this still SSSD before 2.10?"
    );
    assert_eq!(probe("list-dora"), format!("status=0 {d}:{n}\n"), "{ctx}");
    assert_eq!(probe("list-alice"), format!("status=0 {a}:{n}\n"), "{ctx}");
    assert_eq!(probe("list-carol"), "status=1\n", "{ctx}");
    assert_eq!(probe("list-unknown"), "status=1\n", "{ctx}");
    assert_eq!(probe("has-inside"), "status=0 result=1\n", "{ctx}");
    assert_eq!(probe("has-past"), "status=0 result=0\n", "{ctx}");
    assert_eq!(probe("has-other"), "status=0 result=0\n", "{ctx}");
    assert_eq!(probe("owners"), "status=3\n", "{ctx}");
    assert_eq!(probe("down-list"), "status=2\n", "{ctx}");
    assert_eq!(probe("down-has"), "status=2 result=-1\n", "{ctx}");

    let own = |id: u32, start: u64| lines(&[&format!("0 {id} 1"), &format!("1 {start} {COUNT}")]);
    call("dora-uid").granted(&format!("{ctx} dora uid"), &own(du, d), &[]);
    call("dora-gid").granted(&format!("{ctx} dora gid"), &[], &own(dg, d));
    call("alice-uid").granted(&format!("{ctx} alice uid"), &own(1000, a), &[]);
    call("alice-gid").granted(
        &format!("{ctx} alice gid"),
        &[],
        &lines(&[&format!("0 {a} {n}")]),
    );

    let dora_has = format!(
        "subordinate UIDs of dora: {d}-{} (65536 IDs) from {sss}",
        d + n - 1
    );
    call("past").refused(
        "newuidmap",
        &format!("{ctx} past"),
        &[
            &format!("uid range [0-{}) -> [{d}-{}) not allowed", n + 1, d + n + 1),
            &dora_has,
            &format!("not covered: {} (1 ID)", d + n),
        ],
    );
    call("other").refused(
        "newuidmap",
        &format!("{ctx} other"),
        &[
            &dora_has,
            &format!("none of {z}-{} (10 IDs) is among them", z + 9),
        ],
    );
    call("unassigned").refused(
        "newgidmap",
        &format!("{ctx} unassigned"),
        &[
            &format!(
                "subordinate GIDs of dora: {d}-{} (65536 IDs) from {sss}",
                d + n - 1
            ),
            &format!("none of {u}-{} (10 IDs) is among them", u + 9),
        ],
    );
    call("alice-other").refused(
        "newuidmap",
        &format!("{ctx} alice other"),
        &[&format!(
            "subordinate UIDs of alice: {a}-{} (65536 IDs) from {sss}",
            a + n - 1
        )],
    );
    // `subid: files sss`: one triplet across /etc/subuid and the directory.
    let union = lines(&[&format!("0 {f} {both}")]);
    call("union-uid").granted(&format!("{ctx} union uid"), &union, &[]);
    call("union-gid").granted(&format!("{ctx} union gid"), &[], &union);
    // Byte for byte what Debian's getsubids prints, up and down.
    assert_shows_match(w, "sss", &ctx);
    let shown = call("sss-debian-u-dora");
    assert_eq!(shown.stdout, format!("0: dora {d} {n}\n"), "{ctx}");
    let shown = call("sss-debian-g-alice");
    assert_eq!(shown.stdout, format!("0: alice {a} {n}\n"), "{ctx}");
    assert_shows_match(w, "down", &ctx);
    assert_eq!(call("down-debian-u-dora").stdout, "", "{ctx}");
    let show = call("down-show-u-dora");
    assert_eq!(
        show.stderr,
        format!(
            "subid: subid module {sss} unavailable: {sss} cannot reach its service (SUBID_STATUS_ERROR_CONN)\n\
             subid: the subordinate UIDs of \"dora\" could not be looked up: no source answered\n"
        ),
        "{ctx}"
    );

    // sssd stopped: refused, the service named, nothing written. dora still
    // resolves from sssd's memory cache, so it is the subid lookup that fails.
    let unreachable = format!(
        "warning: subid module {sss} unavailable: {sss} cannot reach its service (SUBID_STATUS_ERROR_CONN); it is the only subid source in /etc/nsswitch.conf"
    );
    for (name, program, user, kind) in [
        ("down-dora", "newuidmap", "dora", "UIDs"),
        ("down-alice", "newgidmap", "alice", "GIDs"),
    ] {
        let c = call(name);
        c.refused(
            program,
            &format!("{ctx} {name}"),
            &[
                &unreachable,
                &format!(
                    "{user}'s subordinate {kind} could not be looked up: {sss} could not be consulted"
                ),
            ],
        );
        c.outcome()
            .says_not(&format!("{ctx} {name}"), "has no subordinate");
    }

    // The dry runs last: shadow has none, so under IDMAP_UNDER_TEST=shadow
    // everything above is compared before this fails (compliance.rs).
    let dry = call("dry");
    assert_eq!(dry.status, 0, "{ctx} dry: {dry:#?}");
    assert_eq!(
        dry.stdout,
        format!(
            "0 {du} 1\n1 {d} {n}\n\
             # triplet 1 (0 {du} 1): granted by your own UID\n\
             # triplet 2 (1 {d} {n}): granted by {sss}\n"
        ),
        "{ctx} dry"
    );

    let dry = call("union-dry");
    assert_eq!(
        dry.stdout,
        format!(
            "0 {f} {both}\n# triplet 1 (0 {f} {both}): granted by /etc/subuid line 13 + {sss}\n"
        ),
        "{ctx} union dry: {dry:#?}"
    );

    let dry = call("down-dry");
    assert_eq!(dry.status, 1, "{ctx} down dry: {dry:#?}");
    assert_eq!(dry.stdout, "", "{ctx} down dry");
    dry.outcome().says(&ctx, &unreachable);
}

per_mode! {
    fn central_subids(install, test) {
        if stack_present(test) {
            central_subids_in(install);
        }
    }
}
