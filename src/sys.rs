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

/// Empties the effective, permitted and inheritable capability sets in one
/// capset(2) (ambient follows: the kernel keeps it within permitted and
/// inheritable). The caps crate sets one set per call, and emptying
/// permitted while effective is not yet empty is refused by the kernel, so
/// it would take two capsets with the capability still effective between them.
pub fn clear_capabilities() -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    // _LINUX_CAPABILITY_VERSION_3: two 32-bit data words.
    let header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset reads one header and, for version 3, two data structs
    // through the pointers, which point to live locals of exactly those
    // layouts (<linux/capability.h>); nothing is written back.
    let result =
        unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
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

// ---------------------------------------------------------------------------
// Process start for the setuid helpers.
//
// std's `fn main` start-up (`lang_start`) costs a setuid helper about
// 0.07 ms per call, most of it work a helper does not want: it reads
// /proc/self/maps (the main thread's stack bounds, to name stack overflows),
// installs an alternate signal stack and SIGSEGV/SIGBUS handlers, and sets
// SIGPIPE to ignored. The helpers therefore define the C `main` themselves
// and do the two duties that matter here: make sure descriptors 0-2 are open
// (so no file the helper opens can become its stderr) and keep SIGPIPE from
// killing it halfway through reporting. std's argument capture does not
// depend on `lang_start` (glibc hands argv to an init_array function), so
// `std::env::args_os` works as usual.

/// Defines the C `main` of a helper binary: `newidmap::helper_main!(IdKind::Uid);`
/// in a `#![no_main]` crate.
#[macro_export]
macro_rules! helper_main {
    ($kind:expr) => {
        // SAFETY: `main` is the one C entry point of the binary (the crate is
        // `#![no_main]`, so nothing else defines it); the C runtime calls it
        // once with the signature declared here; argc/argv are not read
        // through these pointers (std::env::args_os has its own copy).
        #[unsafe(no_mangle)]
        extern "C" fn main(
            _argc: ::std::ffi::c_int,
            _argv: *const *const ::std::ffi::c_char,
        ) -> ::std::ffi::c_int {
            $crate::helper::main($kind)
        }
    };
}

/// Opens /dev/null on any of descriptors 0-2 that is closed. A setuid
/// program started with fd 2 closed would otherwise open, say, /etc/subuid
/// as fd 2 and print its messages into it. One poll(2) asks about all three.
pub fn ensure_standard_fds() -> io::Result<()> {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of three pollfd structs, and its length
    // is passed; a zero timeout only reports, it does not wait.
    check(unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) })?;
    for pollfd in fds {
        if pollfd.revents & libc::POLLNVAL == 0 {
            continue;
        }
        let path = c"/dev/null";
        // SAFETY: `path` is NUL-terminated; the result is checked below and
        // deliberately kept open for the life of the process as fd 0, 1 or 2
        // (open returns the lowest free descriptor, which is this one).
        let fd = check(unsafe { libc::open(path.as_ptr(), libc::O_RDWR) })?;
        if fd != pollfd.fd {
            return Err(io::Error::other(
                "/dev/null did not fill a closed standard descriptor",
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// libsubid NSS modules (issue 5): dlopen/dlsym and calls into shadow's
// module ABI. src/nss.rs is the safe layer above; nothing else uses these.
//
// The ABI, from shadow's lib/prototypes.h (struct subid_nss_ops),
// libsubid/subid.h and lib/nss.c, checked against SSSD's
// src/sss_client/subid/sss_subid.c:
//   enum subid_status { SUCCESS = 0, UNKNOWN_USER = 1, ERROR_CONN = 2, ERROR = 3 };
//   enum subid_type { ID_TYPE_UID = 1, ID_TYPE_GID = 2 };
//   struct subid_range { unsigned long start; unsigned long count; };
//   enum subid_status shadow_subid_has_range(const char *owner,
//       unsigned long start, unsigned long count, enum subid_type, bool *result);
//   enum subid_status shadow_subid_list_owner_ranges(const char *owner,
//       enum subid_type, struct subid_range **ranges, int *count);
//   enum subid_status shadow_subid_find_subid_owners(unsigned long id,
//       enum subid_type, uid_t **uids, int *count);
//   void shadow_subid_free(void *ptr);
// The owner is the user NAME. The array from list_owner_ranges is allocated
// by the module and owned by the caller. shadow_subid_free, the module's
// deallocator for it, exists only in newer modules (SSSD 2.10.0 and later;
// shadow 4.16 made it mandatory); older ones (SSSD 2.8 and 2.9, the ones
// enterprise distributions ship) allocate with malloc and leave the array
// to the caller's libc free(), as shadow before 4.16 and its libsubid
// header ("The caller must free(ranges)") say. So shadow_subid_free is used
// when the module exports it, and libc free() otherwise.
// find_subid_owners is never called (SSSD's is a stub that always returns
// SUBID_STATUS_ERROR), so it is neither required nor looked up.
// Enums cross the boundary as C int; `bool *` is written as one byte and
// read as u8, so a module storing some other byte cannot make a Rust bool
// invalid.

use std::ffi::{CStr, c_char, c_int, c_ulong, c_void};

/// `struct subid_range`.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawSubidRange {
    start: c_ulong,
    count: c_ulong,
}

type HasRangeFn = unsafe extern "C" fn(*const c_char, c_ulong, c_ulong, c_int, *mut u8) -> c_int;
type ListOwnerRangesFn =
    unsafe extern "C" fn(*const c_char, c_int, *mut *mut RawSubidRange, *mut c_int) -> c_int;
type FreeFn = unsafe extern "C" fn(*mut c_void);

/// How the arrays a module returns are released.
#[derive(Clone, Copy)]
enum Deallocator {
    /// The module's own `shadow_subid_free`.
    Module(FreeFn),
    /// libc `free()`: the contract of modules without `shadow_subid_free`.
    Libc,
}

/// Why a module could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubidLoadError {
    /// dlopen failed; the loader's message.
    Open(String),
    /// A required symbol is missing; its name and the loader's message.
    Symbol(String, String),
}

/// A loaded module with its entry points resolved. The library is opened
/// with RTLD_NODELETE and never closed: the helper is short-lived, and a
/// module's code must stay mapped while anything it returned is in use.
pub struct SubidModule {
    has_range: HasRangeFn,
    list_owner_ranges: ListOwnerRangesFn,
    free: Deallocator,
}

fn take_dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string valid until the
    // next dl* call on this thread; it is copied before any other dl* call.
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        "unknown error".into()
    } else {
        // SAFETY: non-null, NUL-terminated (see above).
        unsafe { CStr::from_ptr(message) }
            .to_string_lossy()
            .into_owned()
    }
}

impl SubidModule {
    /// dlopen(`library`, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) and resolve
    /// `shadow_subid_has_range` and `shadow_subid_list_owner_ranges`
    /// (required) and `shadow_subid_free` (used when present, else libc
    /// free()). `library` must be a bare file name (no slash) so the
    /// loader's own search rules apply; in a setuid or file-capability
    /// process those ignore LD_LIBRARY_PATH.
    pub fn load(library: &CStr) -> Result<SubidModule, SubidLoadError> {
        if library.to_bytes().contains(&b'/') {
            return Err(SubidLoadError::Open("not a bare library name".into()));
        }
        // SAFETY: clears any stale error state; no pointer is involved.
        unsafe { libc::dlerror() };
        // SAFETY: `library` is a valid NUL-terminated string. Loading runs the
        // module's constructors: that is the point of the call, and the module
        // comes from the loader's trusted search path.
        let handle = unsafe {
            libc::dlopen(
                library.as_ptr(),
                libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_NODELETE,
            )
        };
        if handle.is_null() {
            return Err(SubidLoadError::Open(take_dlerror()));
        }
        let symbol = |name: &'static CStr| -> Result<*mut c_void, SubidLoadError> {
            // SAFETY: clears the error state before the lookup.
            unsafe { libc::dlerror() };
            // SAFETY: `handle` is a live handle from dlopen (never closed) and
            // `name` is NUL-terminated.
            let address = unsafe { libc::dlsym(handle, name.as_ptr()) };
            if address.is_null() {
                Err(SubidLoadError::Symbol(
                    name.to_string_lossy().into_owned(),
                    take_dlerror(),
                ))
            } else {
                Ok(address)
            }
        };
        let has_range = symbol(c"shadow_subid_has_range")?;
        let list_owner_ranges = symbol(c"shadow_subid_list_owner_ranges")?;
        let free = match symbol(c"shadow_subid_free") {
            // SAFETY: the module's exported shadow_subid_free, with the
            // prototype above; a data pointer from dlsym is converted to the
            // matching function pointer type, as POSIX allows.
            Ok(free) => {
                Deallocator::Module(unsafe { std::mem::transmute::<*mut c_void, FreeFn>(free) })
            }
            Err(_) => Deallocator::Libc,
        };
        // SAFETY: the symbols are the module's exported functions with the
        // prototypes above (shadow's ABI); a data pointer from dlsym is
        // converted to the matching function pointer type, as POSIX allows.
        unsafe {
            Ok(SubidModule {
                has_range: std::mem::transmute::<*mut c_void, HasRangeFn>(has_range),
                list_owner_ranges: std::mem::transmute::<*mut c_void, ListOwnerRangesFn>(
                    list_owner_ranges,
                ),
                free,
            })
        }
    }

    /// Releases an array returned by list_owner_ranges, exactly once.
    ///
    /// # Safety
    /// `ranges` must be a non-null array the module returned on SUCCESS,
    /// not released before and not used afterwards.
    unsafe fn release(&self, ranges: *mut RawSubidRange) {
        match self.free {
            // SAFETY: the caller guarantees a live array returned by this
            // module and released only here; a module that exports
            // shadow_subid_free is given its own array back.
            Deallocator::Module(free) => unsafe { free(ranges.cast()) },
            // SAFETY: a module without shadow_subid_free allocates the array
            // with malloc from the process's one libc (it is dlopened into
            // this process and linked against the same libc.so.6), and its
            // ABI hands the array to the caller's free(), as shadow < 4.16
            // does; so free() here is the matching deallocator.
            Deallocator::Libc => unsafe { libc::free(ranges.cast()) },
        }
    }

    /// shadow_subid_list_owner_ranges: on SUCCESS the (start, count) pairs as
    /// the module gave them, else the status code.
    pub fn list_owner_ranges(&self, owner: &CStr, id_type: u32) -> Result<Vec<(u64, u64)>, i32> {
        let mut ranges: *mut RawSubidRange = std::ptr::null_mut();
        let mut count: c_int = 0;
        // SAFETY: `owner` is NUL-terminated and outlives the call; the two out
        // pointers point to live locals of the declared types.
        let status = unsafe {
            (self.list_owner_ranges)(owner.as_ptr(), id_type as c_int, &mut ranges, &mut count)
        };
        if status != 0 {
            // On failure the array (if any) is not ours to free: shadow
            // ignores it too. At worst a few bytes leak in a short-lived process.
            return Err(status);
        }
        let Ok(len) = usize::try_from(count) else {
            return Err(3);
        };
        if len == 0 {
            if !ranges.is_null() {
                // SAFETY: the caller owns a returned array, released once
                // here and not used again.
                unsafe { self.release(ranges) };
            }
            return Ok(Vec::new());
        }
        if ranges.is_null() {
            return Err(3);
        }
        // SAFETY: on SUCCESS the module returned an array of `count` elements
        // of struct subid_range, which we copy before freeing it once.
        let pairs = unsafe { std::slice::from_raw_parts(ranges, len) }
            .iter()
            .map(|r| (r.start, r.count))
            .collect();
        // SAFETY: as above; the array was returned on SUCCESS, is released
        // once here and is not used after this.
        unsafe { self.release(ranges) };
        Ok(pairs)
    }

    /// shadow_subid_has_range: on SUCCESS the answer, else the status code.
    pub fn has_range(
        &self,
        owner: &CStr,
        start: u64,
        count: u64,
        id_type: u32,
    ) -> Result<bool, i32> {
        let mut result: u8 = 0;
        // SAFETY: `owner` is NUL-terminated and outlives the call; `result`
        // is a live byte, the size of C's bool.
        let status = unsafe {
            (self.has_range)(
                owner.as_ptr(),
                start as c_ulong,
                count as c_ulong,
                id_type as c_int,
                &mut result,
            )
        };
        if status == 0 {
            Ok(result != 0)
        } else {
            Err(status)
        }
    }
}

// ---------------------------------------------------------------------------
// `subid doctor` (issue 13): reading a helper's file capability.

/// The value of extended attribute `name` of `path` (following symlinks),
/// `Ok(None)` when the file has no such attribute.
pub fn get_xattr(path: &std::path::Path, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    let path = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // A file capability is at most 24 bytes (VFS_CAP_REVISION_3); 256 is
    // plenty for the attributes read here.
    let mut buffer = vec![0u8; 256];
    // SAFETY: both strings are NUL-terminated and outlive the call; the
    // buffer is valid for writes of its length, which is passed.
    let size = unsafe {
        libc::getxattr(
            path.as_ptr(),
            name.as_ptr(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
        )
    };
    if size < 0 {
        let error = io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => Ok(None),
            _ => Err(error),
        };
    }
    buffer.truncate(usize::try_from(size).unwrap_or(0));
    Ok(Some(buffer))
}

/// unshare(CLONE_NEWUSER): the calling process enters a new user namespace
/// (the doctor's throwaway trial target).
pub fn unshare_user_namespace() -> io::Result<()> {
    // SAFETY: unshare takes a flag word and touches no memory of ours; a
    // single-threaded process (the trial target) may always call it.
    check(unsafe { libc::unshare(libc::CLONE_NEWUSER) }).map(|_| ())
}
