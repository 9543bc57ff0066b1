//! Issue 7: the real clients get the full mapping through our helpers.
//!
//! Each client runs once per install mode (a failure names the mode), as
//! root in private mount and PID namespaces whose /etc is the `basic`
//! fixture set with plain subordinate ranges (alice, UID 1000, owns
//! 100000:65536 in both files), then runs the client as alice. Our
//! helpers are found either first on PATH, with shadow's /usr/bin copies
//! masked by /bin/false so that only ours can succeed, or bind-mounted over
//! /usr/bin/newuidmap and /usr/bin/newgidmap. Every case also checks which
//! helper the client sees and, where Debian's uidmap package is installed,
//! that shadow's helpers produce the same maps for the same client.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;

/// Run inside the client's user namespace: both maps, labelled.
const PRINT: &str = "'echo uid_map; cat /proc/self/uid_map; echo gid_map; cat /proc/self/gid_map'";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// Ours first on PATH; /usr/bin copies masked.
    Path,
    /// Ours bind-mounted over /usr/bin/newuidmap and /usr/bin/newgidmap.
    UsrBin,
    /// Shadow's helpers from Debian's uidmap package, untouched (reference).
    Shadow,
}

#[derive(Debug)]
struct Run {
    helper: String,
    uid: Vec<String>,
    gid: Vec<String>,
    out: SceneOutput,
}

const FULL: [&str; 2] = ["0 1000 1", "1 100000 65536"];

/// True when Debian's uidmap package provides /usr/bin/newuidmap.
fn shadow_installed() -> bool {
    std::process::Command::new("dpkg-query")
        .args(["-S", "/usr/bin/newuidmap"])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("uidmap:"))
        .unwrap_or(false)
}

/// Runs `client` (shell words, `$PRINT` available) as alice.
fn run_client(install: Install, via: Via, label: &str, client: &str) -> Run {
    let scene = Scene::new(
        label,
        "basic",
        &[("subuid", CLEAN_SUBIDS), ("subgid", CLEAN_SUBIDS)],
    );
    let bin = installed(install);
    let via_word = match via {
        Via::Path => "path",
        Via::UsrBin => "usrbin",
        Via::Shadow => "shadow",
    };
    let script = format!(
        r#"BIN={bin}; VIA={via_word}; PRINT={PRINT}
P=/usr/sbin:/usr/bin:/sbin:/bin
case $VIA in
  path)
    for f in newuidmap newgidmap; do
      [ -e /usr/bin/$f ] && {{ mount --bind /bin/false /usr/bin/$f || exit 96; }}
    done
    P="$BIN:$P" ;;
  usrbin)
    for f in newuidmap newgidmap; do
      mount --bind "$BIN/$f" /usr/bin/$f || exit 96
    done ;;
esac
h=$(as_user 1000 1000 "$P" sh -c 'command -v newuidmap')
echo "helper: $h $(as_user 1000 1000 "$P" newuidmap --version 2>/dev/null | head -n1)"
as_user 1000 1000 "$P" {client}
"#,
        bin = bin.display(),
    );
    let out = scene.run(&script);
    let mut helper = String::new();
    let (mut uid, mut gid) = (Vec::new(), Vec::new());
    let mut section = 0;
    for line in out.stdout.lines() {
        if let Some(h) = line.strip_prefix("helper: ") {
            helper = h.to_string();
        } else if line == "uid_map" {
            section = 1;
        } else if line == "gid_map" {
            section = 2;
        } else if !line.trim().is_empty() {
            let norm = line.split_whitespace().collect::<Vec<_>>().join(" ");
            match section {
                1 => uid.push(norm),
                2 => gid.push(norm),
                _ => {}
            }
        }
    }
    Run {
        helper,
        uid,
        gid,
        out,
    }
}

/// The client, run through the helpers under test (in `install` mode, each
/// requested `via`), must succeed with `expected` as both maps; in setuid
/// mode the same client through shadow's untouched helpers (when installed)
/// must produce the same, as a reference.
fn check_client(test: &str, install: Install, vias: &[Via], client: &str, expected: &[&str]) {
    let expected = lines(expected);
    for &via in vias {
        let via = if via == Via::UsrBin && !std::path::Path::new("/usr/bin/newuidmap").exists() {
            eprintln!(
                "{test}: /usr/bin/newuidmap does not exist (uidmap not installed), so nothing to bind over; using PATH"
            );
            Via::Path
        } else {
            via
        };
        let run = run_client(install, via, test, client);
        let ctx = format!("{test} {install} via {via:?}: {run:#?}");
        assert_eq!(run.out.status, 0, "{ctx}");
        // The helper the client found is the one under test.
        assert_eq!(
            run.helper.contains("(newidmap)"),
            ours(),
            "not the helper under test: {ctx}"
        );
        let bin = installed(install);
        match via {
            Via::Path => assert!(
                run.helper
                    .starts_with(&format!("{}/newuidmap ", bin.display())),
                "{ctx}"
            ),
            _ => assert!(run.helper.starts_with("/usr/bin/newuidmap "), "{ctx}"),
        }
        assert_eq!(run.uid, expected, "uid_map: {ctx}");
        assert_eq!(run.gid, expected, "gid_map: {ctx}");
    }
    if install != Install::Setuid {
        return;
    }
    if shadow_installed() {
        let run = run_client(Install::Setuid, Via::Shadow, test, client);
        assert_eq!(run.out.status, 0, "{test} with shadow's helpers: {run:#?}");
        assert!(
            !run.helper.contains("newidmap"),
            "{test}: reference run used ours: {run:#?}"
        );
        assert_eq!(
            (run.uid.clone(), run.gid.clone()),
            (expected.clone(), expected.clone()),
            "{test}: shadow's helpers give a different map: {run:#?}"
        );
    } else {
        eprintln!("{test}: uidmap (shadow) not installed; no reference comparison");
    }
}

/// One client, found as `program` from Debian's `package`: each of its
/// `calls` (the ways the client finds the helpers, its command, the map it
/// must get) through the helpers under test.
type Call<'a> = (&'a [Via], &'a str, &'a [&'a str]);

fn client(install: Install, test: &str, (program, package): (&str, &str), calls: &[Call]) {
    if !tool_present(test, program, package) {
        return;
    }
    for (vias, command, expected) in calls {
        check_client(test, install, vias, command, expected);
    }
}

rows! { fn client(name);
    // util-linux 2.38 maps the caller to 0 and the first subordinate block
    // from 1 on, shortened by one so the namespace has 65536 IDs in total.
    util_linux_unshare_map_auto: (("unshare", "util-linux"), &[
        (&[Via::Path], "unshare --user --map-auto --map-root-user sh -c \"$PRINT\"", &["0 1000 1", "1 100000 65535"]),
        (&[Via::Path], "unshare --user --map-auto sh -c \"$PRINT\"", &["0 100000 65536"]),
    ]);
    // 2.38 syntax: --map-users=<outer>,<inner>,<count>.
    util_linux_unshare_map_users_and_groups: (("unshare", "util-linux"), &[
        (&[Via::Path], "unshare --user --map-root-user --map-users=100000,1,65536 --map-groups=100000,1,65536 sh -c \"$PRINT\"", &FULL),
        (&[Via::Path], "unshare --user --map-users=100000,0,65536 --map-groups=100000,0,65536 sh -c \"$PRINT\"", &["0 100000 65536"]),
    ]);
    // No image, network or cgroup needed: `podman unshare` only sets up the
    // rootless user namespace (and its pause process, which dies with the
    // scene's PID namespace). vfs storage avoids fuse-overlayfs.
    podman_unshare: (("podman", "podman"), &[
        (&[Via::Path, Via::UsrBin], "podman --storage-driver vfs unshare sh -c \"$PRINT\"", &FULL),
    ]);
    rootlesskit_host_network: (("rootlesskit", "rootlesskit"), &[
        (&[Via::Path], "rootlesskit --net=host sh -c \"$PRINT\"", &FULL),
    ]);
    // Explicit maps, as LXC's own tools pass them, and the default: the
    // caller's first subordinate ranges from 0.
    lxc_usernsexec: (("lxc-usernsexec", "lxc"), &[
        (&[Via::Path], "lxc-usernsexec -m b:0:1000:1 -m b:1:100000:65536 -- sh -c \"$PRINT\"", &FULL),
        (&[Via::Path], "lxc-usernsexec -- sh -c \"$PRINT\"", &["0 100000 65536"]),
    ]);
    buildah_unshare: (("buildah", "buildah"), &[
        (&[Via::Path], "buildah --storage-driver vfs unshare sh -c \"$PRINT\"", &FULL),
    ]);
}

per_mode! {
    /// Issue 18: for a user without ranges the clients refuse (or fall back)
    /// before ever running a helper, so the helper's diagnosis never shows. The
    /// README's Troubleshooting section quotes these messages; this keeps the
    /// quotes true. carol (UID 1002) has no subordinate ranges in the fixture.
    /// The helpers under test are on PATH and never consulted.
    fn clients_refuse_first_for_a_user_without_ranges(install, test) {
        if !tool_present(test, "unshare", "util-linux") {
            return;
        }
        let scene = Scene::new(
            "norange",
            "basic",
            &[("subuid", CLEAN_SUBIDS), ("subgid", CLEAN_SUBIDS)],
        );
        let bin = installed(install);
        let out = scene.run(&format!(
            r#"P={bin}:/usr/sbin:/usr/bin:/sbin:/bin
as_user 1002 1002 "$P" unshare --user --map-auto true; echo "unshare status: $?"
if command -v podman >/dev/null; then
  as_user 1002 1002 "$P" podman --storage-driver vfs unshare cat /proc/self/uid_map; echo "podman status: $?"
fi
"#,
            bin = bin.display()
        ));
        let ctx = format!("{install}: {out:#?}");
        assert!(
            out.stderr.contains("unshare: no line matching user \"carol\" in /etc/subuid"),
            "{ctx}"
        );
        assert!(!out.stdout.contains("unshare status: 0"), "{ctx}");
        if !tool_present(&format!("{test} (podman part)"), "podman", "podman") {
            return;
        }
        assert!(
            // logrus escapes the quotes around "carol" when not on a terminal.
            out.stderr.contains("cannot find UID/GID for user carol: no subuid ranges found for user ")
                && out.stderr.contains("in /etc/subuid - check rootless mode in man pages."),
            "{ctx}"
        );
        assert!(out.stderr.contains("Using rootless single mapping into the namespace"), "{ctx}");
        // The one-ID fallback, and success.
        let maps: Vec<String> = out
            .stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert!(maps.contains(&"0 1002 1".to_string()), "{ctx}");
        assert!(out.stdout.contains("podman status: 0"), "{ctx}");
    }
}
