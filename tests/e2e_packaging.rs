//! Issue 7: the Debian package, the install script and the man pages.
//!
//! The package is installed for real with dpkg, but inside private mount and
//! PID namespaces where /usr, /var and /etc are overlays with a throwaway
//! tmpfs upper layer: dpkg sees the host's real package database (so the
//! Conflicts/Replaces against Debian's uidmap package is exercised), and
//! everything it changes disappears with the namespace. Concurrent tests that
//! use the host's /usr/bin/getsubids or shadow's helpers never see a change.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

/// The package under test: $NEWIDMAP_DEB (packaging/test.sh builds the
/// release package and sets it), else one built from this test run's
/// binaries with packaging/deb/build.sh.
fn deb() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        if let Some(path) = std::env::var_os("NEWIDMAP_DEB") {
            let path = PathBuf::from(path);
            assert!(path.is_file(), "NEWIDMAP_DEB={} is missing", path.display());
            eprintln!("using {}", path.display());
            return path;
        }
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("deb-{}", std::process::id()));
        let bins = dir.join("bin");
        fs::create_dir_all(&bins).unwrap();
        let mut list = vec![
            ("newuidmap", env!("CARGO_BIN_EXE_newuidmap")),
            ("newgidmap", env!("CARGO_BIN_EXE_newgidmap")),
        ];
        if let Some(subid) = option_env!("CARGO_BIN_EXE_subid") {
            list.push(("subid", subid));
        }
        for (name, path) in list {
            fs::copy(path, bins.join(name)).unwrap();
        }
        let out = Command::new("bash")
            .arg(Path::new(REPO).join("packaging/deb/build.sh"))
            .arg("--binaries")
            .arg(&bins)
            .arg("--out")
            .arg(&dir)
            .arg("--fast")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "build.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).lines().last().unwrap());
        assert!(path.is_file(), "{}", path.display());
        let _ = fs::remove_dir_all(&bins);
        path
    })
}

/// Shell: overlays over /usr, /var and /etc, so dpkg can change them privately.
/// The overlay over whichever of them holds $WORK (a clone under /var, say)
/// is mounted last: once it is, "$OV" resolves through it and no longer
/// names the tmpfs, which overlayfs refuses as an upper directory.
const PRIVATE_SYSTEM: &str = r#"OV=$(realpath "$(mktemp -d "$WORK/ov.XXXXXX")"); mount -t tmpfs tmpfs "$OV"
order="usr var etc"
for d in usr var etc; do case "$OV/" in "/$d/"*) order="${order/$d/} $d" ;; esac; done
for d in $order; do
  mkdir -p "$OV/$d/up" "$OV/$d/wk"
  mount -t overlay overlay -o lowerdir=/$d,upperdir="$OV/$d/up",workdir="$OV/$d/wk" /$d || exit 95
done
shadow_before=$(dpkg-query -W -f='${Status}' uidmap 2>/dev/null)
echo "uidmap before: $shadow_before"
"#;

/// Shell: after dpkg, alice maps through whatever /usr/bin now holds.
const MAP_AS_ALICE: &str = r#"mount_fixture
echo "version: $(as_user 1000 1000 /usr/bin:/bin newuidmap --version)"
as_user 1000 1000 /usr/sbin:/usr/bin:/sbin:/bin unshare --user --map-root-user \
  --map-users=100000,1,65536 --map-groups=100000,1,65536 \
  sh -c 'for m in uid_map gid_map; do echo "$m: $(awk "{printf \"%s %s %s;\", \$1, \$2, \$3}" /proc/self/$m)"; done'
echo "map status: $?"
"#;

fn scene() -> Scene {
    Scene::new(
        "deb",
        "basic",
        &[("subuid", CLEAN_SUBIDS), ("subgid", CLEAN_SUBIDS)],
    )
}

fn assert_mapped(out: &SceneOutput) {
    let ctx = format!("{out:#?}");
    assert!(
        out.stdout.contains("version: newuidmap (newidmap) "),
        "/usr/bin/newuidmap is not ours: {ctx}"
    );
    assert!(out.stdout.contains("map status: 0"), "{ctx}");
    for map in ["uid_map", "gid_map"] {
        assert!(
            out.stdout
                .contains(&format!("{map}: 0 1000 1;1 100000 65536;")),
            "{map}: {ctx}"
        );
    }
}

#[test]
fn deb_replaces_uidmap_sets_fcaps_and_maps() {
    let test = this_test!();
    if !privileged(test) || !tool_present(test, "dpkg", "dpkg") {
        return;
    }
    let deb = deb();
    let out = scene().run_script(&format!(
        r#"{PRIVATE_SYSTEM}
# The README's advice: keep shadow's package to go back offline.
(cd "$WORK" && apt-get download uidmap >/dev/null 2>&1) && echo "downloaded uidmap"
dpkg -i {deb} >"$WORK/dpkg.log" 2>&1; echo "dpkg status: $?"; cat "$WORK/dpkg.log" >&2
echo "audit after install: [$(dpkg --audit)]"
echo "newidmap: $(dpkg-query -W -f='${{Status}}' newidmap)"
echo "uidmap after: $(dpkg-query -W -f='${{Status}}' uidmap 2>/dev/null)"
echo "modes: $(stat -c '%n %a %U:%G' /usr/bin/newuidmap /usr/bin/newgidmap | tr '\n' ';')"
echo "caps: $(getcap /usr/bin/newuidmap /usr/bin/newgidmap | tr '\n' ';')"
echo "verify: [$(dpkg --verify newidmap)]"
{MAP_AS_ALICE}
if [ -e /usr/bin/subid ]; then
  echo "getsubids: $(as_user 1000 1000 /usr/bin:/bin getsubids alice) ($(readlink /usr/bin/getsubids))"
fi
umount /etc
if ls "$WORK"/uidmap_*.deb >/dev/null 2>&1; then
  # Going back offline, as the README says, with the saved file: dpkg
  # names buildah and rootlesskit (harmless: uidmap comes straight back).
  {{ dpkg -r --force-depends newidmap && dpkg -i "$WORK"/uidmap_*.deb; }} >"$WORK/back.log" 2>&1
  echo "back status: $?"; cat "$WORK/back.log" >&2
  echo "back: $(dpkg-query -W -f='${{Status}}' uidmap) / $(dpkg-query -W -f='${{Status}}' newidmap 2>/dev/null)"
  echo "back version: $(/usr/bin/newuidmap --version 2>&1 | head -1)"
  echo "audit after going back: [$(dpkg --audit)]"
  dpkg -i {deb} >&2; echo "reinstall status: $?"
fi
# buildah and rootlesskit depend on uidmap, which newidmap provides: dpkg
# refuses a plain removal while they are installed, so force past that.
dpkg -r --force-depends newidmap >&2; echo "remove status: $?"
echo "after remove: $(ls /usr/bin/newuidmap /usr/bin/newgidmap 2>&1 | tr '\n' ';')"
dpkg -P --force-depends newidmap >&2; echo "purge status: $?"
"#,
        deb = deb.display()
    ));
    let ctx = format!("{out:#?}");
    assert_eq!(out.status, 0, "{ctx}");
    assert!(out.stdout.contains("dpkg status: 0"), "{ctx}");
    assert!(
        out.stdout.contains("newidmap: install ok installed"),
        "{ctx}"
    );
    if out.stdout.contains("uidmap before: install ok installed") {
        // Conflicts + Replaces: dpkg removed shadow's package in our favour.
        assert!(
            out.stderr
                .contains("will remove uidmap in favour of newidmap"),
            "{ctx}"
        );
        assert!(
            !out.stdout.contains("uidmap after: install ok installed"),
            "{ctx}"
        );
    } else {
        eprintln!(
            "{test}: uidmap is not installed on this host; the Conflicts/Replaces path was not exercised"
        );
    }
    assert!(
        out.stdout
            .contains("modes: /usr/bin/newuidmap 755 root:root;/usr/bin/newgidmap 755 root:root;"),
        "{ctx}"
    );
    assert!(
        out.stdout
            .contains("caps: /usr/bin/newuidmap cap_setuid=ep;/usr/bin/newgidmap cap_setgid=ep;"),
        "{ctx}"
    );
    assert!(out.stdout.contains("verify: []"), "{ctx}");
    // The postinst says which mode it chose (issue 18).
    for line in [
        "newidmap: /usr/bin/newuidmap installed with the file capability cap_setuid+ep (mode 0755)",
        "newidmap: /usr/bin/newgidmap installed with the file capability cap_setgid+ep (mode 0755)",
    ] {
        assert!(out.stderr.contains(line), "{line}: {ctx}");
    }
    assert_mapped(&out);
    if option_env!("CARGO_BIN_EXE_subid").is_some() {
        // Provides: uidmap holds because getsubids stays available.
        assert!(
            out.stdout
                .contains("getsubids: 0: alice 100000 65536 (subid)"),
            "{ctx}"
        );
    }
    // The switch leaves nothing half-configured.
    assert!(out.stdout.contains("audit after install: []"), "{ctx}");
    if out.stdout.contains("downloaded uidmap") {
        assert!(out.stdout.contains("back status: 0"), "{ctx}");
        assert!(
            out.stderr.contains(
                "dpkg: newidmap: dependency problems, but removing anyway as you requested:"
            ),
            "{ctx}"
        );
        assert!(
            out.stdout.contains("back: install ok installed / "),
            "{ctx}"
        );
        assert!(
            !out.stdout.contains("back version: newuidmap (newidmap)"),
            "{ctx}"
        );
        assert!(out.stdout.contains("audit after going back: []"), "{ctx}");
        assert!(out.stdout.contains("reinstall status: 0"), "{ctx}");
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: apt-get download uidmap failed; going back offline was not tried"
        );
        eprintln!("{test}: apt-get download uidmap failed (no network?); going back not tried");
    }
    assert!(out.stdout.contains("remove status: 0"), "{ctx}");
    assert!(
        out.stdout
            .contains("after remove: ls: cannot access '/usr/bin/newuidmap'"),
        "{ctx}"
    );
    assert!(out.stdout.contains("purge status: 0"), "{ctx}");
}

#[test]
fn deb_falls_back_to_setuid_without_file_capabilities() {
    let test = this_test!();
    if !privileged(test) || !tool_present(test, "dpkg", "dpkg") {
        return;
    }
    let setcap = find_program("setcap").expect("setcap (libcap2-bin) is installed");
    let deb = deb();
    // setcap failing is what a filesystem without xattr support looks like.
    let out = scene().run_script(&format!(
        r#"{PRIVATE_SYSTEM}
mount --bind /bin/false {setcap} || exit 94
dpkg -i {deb} >"$WORK/dpkg.log" 2>&1; echo "dpkg status: $?"; cat "$WORK/dpkg.log" >&2
echo "modes: $(stat -c '%n %a %U:%G' /usr/bin/newuidmap /usr/bin/newgidmap | tr '\n' ';')"
echo "caps: [$(getcap /usr/bin/newuidmap /usr/bin/newgidmap)]"
{MAP_AS_ALICE}
"#,
        deb = deb.display(),
        setcap = setcap.display()
    ));
    let ctx = format!("{out:#?}");
    assert_eq!(out.status, 0, "{ctx}");
    assert!(out.stdout.contains("dpkg status: 0"), "{ctx}");
    assert!(
        out.stderr
            .contains("cannot set cap_setuid+ep on /usr/bin/newuidmap"),
        "{ctx}"
    );
    for line in [
        "newidmap: /usr/bin/newuidmap installed setuid root (mode 4755), the fallback",
        "newidmap: /usr/bin/newgidmap installed setuid root (mode 4755), the fallback",
    ] {
        assert!(out.stderr.contains(line), "{line}: {ctx}");
    }
    assert!(
        out.stdout.contains(
            "modes: /usr/bin/newuidmap 4755 root:root;/usr/bin/newgidmap 4755 root:root;"
        ),
        "{ctx}"
    );
    assert!(out.stdout.contains("caps: []"), "{ctx}");
    assert_mapped(&out);
}

fn command_output(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn deb_metadata_and_contents() {
    let test = this_test!();
    if !privileged(test) || !tool_present(test, "dpkg-deb", "dpkg") {
        return;
    }
    let deb = deb();
    let (ok, control, err) = command_output(Command::new("dpkg-deb").arg("-f").arg(deb));
    assert!(ok, "{err}");
    for field in [
        "Package: newidmap",
        "Conflicts: uidmap",
        "Replaces: uidmap",
        "Provides: uidmap",
        "Section: admin",
    ] {
        assert!(control.contains(field), "{field} missing:\n{control}");
    }
    assert!(
        control.lines().any(|l| l.starts_with("Depends: ")
            && l.contains("libc6")
            && l.contains("libcap2-bin")),
        "{control}"
    );
    let (ok, contents, err) = command_output(Command::new("dpkg-deb").arg("-c").arg(deb));
    assert!(ok, "{err}");
    for entry in [
        "-rwxr-xr-x root/root",
        "./usr/bin/newuidmap",
        "./usr/bin/newgidmap",
        "./usr/share/doc/newidmap/copyright",
        "./usr/share/doc/newidmap/changelog.Debian.gz",
        "./usr/share/man/man1/newuidmap.1.gz",
        "./usr/share/man/man1/newgidmap.1.gz",
    ] {
        assert!(contents.contains(entry), "{entry} missing:\n{contents}");
    }
    // Shipped without privilege; postinst adds it.
    assert!(!contents.contains("rws"), "{contents}");
    if find_program("lintian").is_some() {
        let (_, report, err) = command_output(
            Command::new("lintian")
                .args(["--tag-display-limit", "0", "--suppress-tags"])
                .arg("hardening-no-fortify-functions")
                .arg(deb),
        );
        let problems: Vec<&str> = report
            .lines()
            .filter(|l| l.starts_with("E: ") || l.starts_with("W: "))
            .collect();
        assert!(problems.is_empty(), "lintian:\n{report}\n{err}");
    } else {
        eprintln!("{test}: lintian not installed; lintian check skipped (apt-get install lintian)");
    }
}

#[test]
fn man_pages_render_without_warnings() {
    let test = this_test!();
    if !tool_present(test, "groff", "groff-base") {
        return;
    }
    let dir = Path::new(REPO).join("packaging/man");
    let mut pages: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("1" | "8")))
        .collect();
    pages.sort();
    let names: Vec<String> = pages
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in ["newuidmap.1", "newgidmap.1"] {
        assert!(
            names.iter().any(|n| n == required),
            "{required} missing: {names:?}"
        );
    }
    for page in &pages {
        let (ok, text, err) = command_output(
            Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-rLL=80n"])
                .arg(page)
                .env("LC_ALL", "C.UTF-8"),
        );
        assert!(
            ok && err.is_empty(),
            "{}: groff warnings:\n{err}",
            page.display()
        );
        // grotty emboldens with overstrikes (`N\bN`): keep the last of each.
        let mut plain = String::new();
        for c in text.chars() {
            if c == '\u{8}' {
                plain.pop();
            } else {
                plain.push(c);
            }
        }
        let text = plain;
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "EXIT STATUS",
            "FILES",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                text.contains(section),
                "{}: no {section} section",
                page.display()
            );
        }
        if find_program("man").is_some() {
            let (ok, _, err) = command_output(
                Command::new("man")
                    .args(["--warnings", "-l"])
                    .arg(page)
                    .env("MANWIDTH", "80")
                    .env("MANPAGER", "cat")
                    .env("LC_ALL", "C.UTF-8"),
            );
            assert!(
                ok && err.is_empty(),
                "{}: man warnings:\n{err}",
                page.display()
            );
        }
    }
}

#[test]
fn rpm_spec_is_complete() {
    let spec = fs::read_to_string(Path::new(REPO).join("packaging/rpm/newidmap.spec")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    for needle in [
        "Name:           newidmap".to_string(),
        format!("Version:        {version}"),
        "%caps(cap_setuid=ep) %{_bindir}/newuidmap".to_string(),
        "%caps(cap_setgid=ep) %{_bindir}/newgidmap".to_string(),
        "--replacefiles".to_string(),
        "%{_mandir}/man1/newuidmap.1*".to_string(),
        "%check".to_string(),
    ] {
        assert!(spec.contains(&needle), "spec lacks {needle:?}");
    }
}

#[test]
fn install_script_both_modes_idempotent_and_uninstall() {
    let test = this_test!();
    if !privileged(test) {
        return;
    }
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("install-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let bins = dir.join("bins");
    fs::create_dir_all(&bins).unwrap();
    fs::copy(env!("CARGO_BIN_EXE_newuidmap"), bins.join("newuidmap")).unwrap();
    fs::copy(env!("CARGO_BIN_EXE_newgidmap"), bins.join("newgidmap")).unwrap();
    // A prefix that does not exist yet: the script creates its directories
    // and --uninstall must remove them again.
    let prefix = dir.join("prefix/opt");
    let script = Path::new(REPO).join("packaging/install.sh");
    let run = |extra: &[&str]| {
        command_output(
            Command::new("bash")
                .arg(&script)
                .arg("--prefix")
                .arg(&prefix)
                .arg("--binaries")
                .arg(&bins)
                .args(extra),
        )
    };
    let uid = prefix.join("bin/newuidmap");
    let gid = prefix.join("bin/newgidmap");
    let mode = |p: &Path| {
        command_output(Command::new("stat").args(["-c", "%a %U:%G"]).arg(p))
            .1
            .trim()
            .to_string()
    };
    let caps = |p: &Path| command_output(Command::new("getcap").arg(p)).1;
    for _ in 0..2 {
        let (ok, out, err) = run(&["--no-demo"]);
        assert!(ok, "{out}\n{err}");
        assert_eq!(mode(&uid), "4755 root:root");
        assert_eq!(mode(&gid), "4755 root:root");
        assert!(caps(&uid).trim().is_empty());
        assert!(out.contains("setuid root"), "{out}");
        // --binaries: nothing to build, so no "building ..." line.
        assert!(!out.contains("building"), "{out}");
        // This route leaves shadow's helpers in /usr/bin, and says so.
        if Path::new("/usr/bin/newuidmap").exists() {
            assert!(
                out.contains("note: /usr/bin/newuidmap is still installed")
                    && out.contains("only the newidmap package replaces it"),
                "{out}"
            );
        }
    }
    for _ in 0..2 {
        let (ok, out, err) = run(&["--fcaps", "--no-demo"]);
        assert!(ok, "{out}\n{err}");
        assert_eq!(mode(&uid), "755 root:root");
        assert!(caps(&uid).contains("cap_setuid=ep"), "{}", caps(&uid));
        assert!(caps(&gid).contains("cap_setgid=ep"), "{}", caps(&gid));
    }
    assert!(prefix.join("share/man/man1/newuidmap.1").is_file());
    // The demonstration maps alice through the installed copies.
    let (ok, out, err) = run(&["--fcaps"]);
    assert!(ok, "{out}\n{err}");
    let demo: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(demo.contains(&"0 1000 1".to_string()), "{out}\n{err}");
    let (ok, out, err) = run(&["--uninstall"]);
    assert!(ok, "{out}\n{err}");
    assert!(!uid.exists() && !gid.exists(), "{out}");
    assert!(!prefix.join("share/man/man1/newuidmap.1").exists());
    // Every directory it created is gone, and nothing above them.
    assert!(!dir.join("prefix").exists(), "{out}");
    assert!(
        out.contains(&format!("removed {}/", prefix.display())),
        "{out}"
    );
    assert!(bins.is_dir());
    // A directory that existed before is kept, as is one with other files.
    let keep = dir.join("keep");
    fs::create_dir_all(keep.join("bin")).unwrap();
    fs::create_dir_all(keep.join("share/man/man1")).unwrap();
    fs::write(keep.join("share/man/man1/other.1"), "").unwrap();
    let (ok, out, err) = command_output(
        Command::new("bash")
            .arg(&script)
            .arg("--prefix")
            .arg(&keep)
            .arg("--binaries")
            .arg(&bins)
            .arg("--no-demo"),
    );
    assert!(ok, "{out}\n{err}");
    fs::write(keep.join("bin/mine"), "").unwrap();
    let (ok, out, err) = command_output(
        Command::new("bash")
            .arg(&script)
            .args(["--uninstall", "--prefix"])
            .arg(&keep),
    );
    assert!(ok, "{out}\n{err}");
    assert!(keep.join("bin/mine").is_file() && keep.join("share/man/man1/other.1").is_file());
    assert!(!keep.join("share/man/man8").exists(), "{out}");
    assert!(!keep.join("share/newidmap").exists(), "{out}");
    let _ = fs::remove_dir_all(&dir);
}

/// Issue 18: --help is a real usage text, an unknown argument points to it.
#[test]
fn install_script_help_and_unknown_argument() {
    let script = Path::new(REPO).join("packaging/install.sh");
    let (ok, help, err) = command_output(Command::new("bash").arg(&script).arg("--help"));
    assert!(ok, "{err}");
    for needle in [
        "Usage: packaging/install.sh",
        "--fcaps",
        "--prefix DIR",
        "--binaries DIR",
        "--no-demo",
        "--uninstall",
        "does not replace shadow's helpers",
        "Only the Debian package",
    ] {
        assert!(help.contains(needle), "{needle}:\n{help}");
    }
    assert!(!help.contains("set -euo"), "{help}");
    let (ok, out, err) = command_output(Command::new("bash").arg(&script).arg("--frobnicate"));
    assert!(!ok && out.is_empty(), "{out}");
    assert_eq!(
        err,
        "install.sh: unknown argument: --frobnicate (see packaging/install.sh --help)\n"
    );
    // "building ..." comes before the (silent, minutes-long) release build:
    // a cargo that only reports being called shows the order.
    if privileged(this_test!()) {
        let dir = unique_dir("fake-cargo");
        fs::create_dir_all(&dir).unwrap();
        let cargo = dir.join("cargo");
        fs::write(&cargo, "#!/bin/sh\necho \"cargo $*\"\nexit 3\n").unwrap();
        fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let (ok, out, err) = command_output(
            Command::new("bash")
                .arg(&script)
                .args(["--no-demo", "--prefix"])
                .arg(dir.join("prefix"))
                .env("PATH", path),
        );
        assert!(!ok, "{out}\n{err}");
        let building = out
            .find("building newuidmap, newgidmap and subid")
            .expect(&out);
        let called = out.find("cargo build --release").expect(&out);
        assert!(building < called, "{out}");
        assert!(
            !dir.join("prefix").exists(),
            "nothing installed after a failed build"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}

/// The helpers load libc and nothing else (issue 8: each extra shared
/// library costs a setuid exec about 0.1 ms). build.rs links GCC's unwinder
/// statically; this notices if a dependency or toolchain change brings a
/// library back.
#[test]
fn helpers_need_only_libc() {
    let test = this_test!();
    if !tool_present(test, "readelf", "binutils") {
        return;
    }
    for binary in [
        env!("CARGO_BIN_EXE_newuidmap"),
        env!("CARGO_BIN_EXE_newgidmap"),
    ] {
        let (ok, dynamic, err) = command_output(Command::new("readelf").args(["-d", binary]));
        assert!(ok, "{binary}: {err}");
        let needed: Vec<&str> = dynamic
            .lines()
            .filter(|l| l.contains("(NEEDED)"))
            .filter_map(|l| l.split('[').nth(1)?.split(']').next())
            .collect();
        assert!(
            !needed.is_empty(),
            "{binary}: no NEEDED entries?\n{dynamic}"
        );
        assert!(
            needed
                .iter()
                .all(|lib| *lib == "libc.so.6" || lib.starts_with("ld-linux")),
            "{binary} needs {needed:?}"
        );
    }
}

/// The RPM spec builds for real (rpmbuild on Debian; the BuildRequires are
/// rpm package names, hence --nodeps), from a source tarball of this tree
/// and a `cargo vendor` tarball, offline, running its own %check; and the
/// payload carries the two file capabilities, not setuid.
#[test]
fn rpm_builds_with_file_capabilities() {
    let test = this_test!();
    if !tool_present(test, "rpmbuild", "rpm") {
        return;
    }
    let work = unique_dir("rpm");
    let version = env!("CARGO_PKG_VERSION");
    let script = format!(
        r#"set -eu
W={work}; V={version}; T="$W/tree/newidmap-$V"
mkdir -p "$T" "$W/src" "$W/top"
tar -C {repo} --exclude=./target --exclude=./.git --exclude=./fuzz/target \
  --exclude=./fuzz/corpus --exclude=./fuzz/artifacts -cf - . | tar -C "$T" -xf -
# Offline when the cargo cache has every locked crate; a fresh machine's
# cache lacks the other platforms' crates (windows-sys...), so fetch then.
(cd "$T" && {{ cargo vendor --locked --offline vendor >/dev/null 2>&1 \
  || cargo vendor --locked vendor >/dev/null; }})
tar -C "$T" -czf "$W/src/newidmap-$V-vendor.tar.gz" vendor
rm -rf "$T/vendor"
tar -C "$W/tree" -czf "$W/src/newidmap-$V.tar.gz" "newidmap-$V"
rpmbuild -bb --nodeps --define "_topdir $W/top" --define "_sourcedir $W/src" \
  --define "rust_arches $(uname -m)" --define "debug_package %{{nil}}" \
  {repo}/packaging/rpm/newidmap.spec >"$W/rpmbuild.log" 2>&1 || {{ tail -40 "$W/rpmbuild.log"; exit 1; }}
rpm -qp --filecaps "$W"/top/RPMS/*/newidmap-"$V"-1.*.rpm
rpm -qp --qf '[%{{FILEMODES:perms}} %{{FILENAMES}}\n]' "$W"/top/RPMS/*/newidmap-"$V"-1.*.rpm
"#,
        work = work.display(),
        repo = REPO,
    );
    let (ok, out, err) = command_output(Command::new("bash").arg("-c").arg(&script));
    assert!(ok, "rpmbuild failed:\n{out}\n{err}");
    let caps: Vec<&str> = out.lines().filter(|l| l.contains('\t')).collect();
    assert!(
        caps.iter()
            .any(|l| l.starts_with("/usr/bin/newuidmap\t") && l.ends_with("cap_setuid=ep")),
        "{out}"
    );
    assert!(
        caps.iter()
            .any(|l| l.starts_with("/usr/bin/newgidmap\t") && l.ends_with("cap_setgid=ep")),
        "{out}"
    );
    for file in ["/usr/bin/newuidmap", "/usr/bin/newgidmap", "/usr/bin/subid"] {
        assert!(
            out.lines().any(|l| l == format!("-rwxr-xr-x {file}")),
            "{file} is not 0755 in the payload:\n{out}"
        );
    }
    for page in ["man1/newuidmap.1", "man1/newgidmap.1", "man8/subid.8"] {
        assert!(
            out.contains(&format!("/usr/share/man/{page}")),
            "{page}:\n{out}"
        );
    }
    let _ = fs::remove_dir_all(&work);
}
