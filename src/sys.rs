//! The project's only `unsafe` code: kernel interfaces that neither nix nor
//! caps wrap. Each function is a thin, safe wrapper around one call.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

// ioctl numbers from <linux/nsfs.h>: _IO(0xb7, 2) and _IO(0xb7, 4).
const NS_GET_PARENT: libc::c_ulong = 0xb702;
const NS_GET_OWNER_UID: libc::c_ulong = 0xb704;

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// The parent of the user namespace `ns` refers to (NS_GET_PARENT).
pub fn user_namespace_parent(ns: impl AsFd) -> io::Result<OwnedFd> {
    // SAFETY: NS_GET_PARENT takes no argument and returns a new descriptor
    // or -1; the descriptor is borrowed for the duration of the call.
    let fd = check(unsafe { libc::ioctl(ns.as_fd().as_raw_fd(), NS_GET_PARENT) })?;
    // SAFETY: a non-negative return is a fresh descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The UID (in our namespace) of the user who created the namespace (NS_GET_OWNER_UID).
pub fn user_namespace_owner(ns: impl AsFd) -> io::Result<u32> {
    let mut uid: libc::uid_t = 0;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t through the pointer, which
    // points to a live local of that type.
    check(unsafe {
        libc::ioctl(
            ns.as_fd().as_raw_fd(),
            NS_GET_OWNER_UID,
            &mut uid as *mut libc::uid_t,
        )
    })?;
    Ok(uid)
}

/// pidfd_send_signal(pidfd, 0): succeeds while the process exists.
pub fn pidfd_probe(pidfd: impl AsFd) -> io::Result<()> {
    // SAFETY: signal 0 sends nothing; a null siginfo and zero flags are valid,
    // and the descriptor is borrowed for the duration of the call.
    let result = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_fd().as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Borrows a caller-supplied descriptor number, if it is open.
pub fn borrow_inherited_fd(fd: i32) -> Option<std::os::fd::BorrowedFd<'static>> {
    if fd < 0 {
        return None;
    }
    // SAFETY: F_GETFD only reads descriptor flags.
    let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
    // SAFETY: the descriptor is open, and this program never closes
    // descriptors it did not open, so it stays valid for the process's life.
    open.then(|| unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
}
