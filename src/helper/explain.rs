//! The environment diagnosis of a failed call: when the calling
//! environment (a tracer, a nosuid mount, an unmapped namespace...) explains
//! the failure, the message names that cause instead of blaming the install.

use nix::errno::Errno;

use crate::act::config::{ConfigError, ConfigProblem};
use crate::act::environment::{Context, overflow_uid};
use crate::act::privilege::PrivilegeError;
use crate::act::write::WriteCause;
use crate::helper::messages::Failure;
use crate::kind::IdKind;
use crate::parse::map::{IdRange, ValidMap};

/// Called once, when a map call failed: if the calling environment
/// explains the failure, wraps it so the message names that cause.
pub fn explain(kind: IdKind, map: &ValidMap, failure: Failure) -> Failure {
    let outer: Vec<IdRange> = map
        .triplets()
        .iter()
        .filter_map(|t| t.outer_range())
        .collect();
    let cause = match &failure {
        // no_new_privs has its own words in the Missing message.
        Failure::Privilege(PrivilegeError::Missing {
            missing,
            no_new_privs: false,
            ..
        }) => Context::read(kind).why_unprivileged(missing, &outer),
        // setresgid/setresuid to an ID unmapped in the helper's namespace.
        Failure::Privilege(PrivilegeError::Step { errno, .. }) if *errno == Errno::EINVAL => {
            Context::read(kind).namespace_cause(&outer)
        }
        Failure::Config(ConfigError {
            problem: ConfigProblem::NotOwnedByRoot { uid },
            ..
        }) if *uid == overflow_uid() => Context::read(kind).namespace_cause(&outer),
        Failure::Write { error, .. }
            if matches!(
                error.cause,
                WriteCause::SecurityPolicy { .. } | WriteCause::Unexplained
            ) =>
        {
            let context = Context::read(kind);
            context
                .outer_cause(&outer)
                .or_else(|| context.namespace_cause(&outer))
        }
        _ => None,
    };
    match cause {
        Some(cause) => Failure::Environment {
            cause,
            seen: Box::new(failure),
        },
        None => failure,
    }
}
