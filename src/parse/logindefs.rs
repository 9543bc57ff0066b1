//! /etc/login.defs: the few settings the helpers and the admin tool use.
//!
//! Format: `KEY VALUE` per line, `#` comments, blanks around. Later lines
//! win, as in shadow. Unknown keys are ignored.

use crate::parse::number::parse_u32;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginDefs {
    /// Lets a user whose real GID is not their passwd GID use their subgid
    /// ranges (shadow's GRANT_AUX_GROUP_SUBIDS).
    pub grant_aux_group_subids: bool,
    pub uid_min: Option<u32>,
    pub uid_max: Option<u32>,
    pub gid_min: Option<u32>,
    pub gid_max: Option<u32>,
    pub sub_uid_min: Option<u32>,
    pub sub_uid_max: Option<u32>,
    pub sub_uid_count: Option<u32>,
    pub sub_gid_min: Option<u32>,
    pub sub_gid_max: Option<u32>,
    pub sub_gid_count: Option<u32>,
}

impl LoginDefs {
    pub fn parse(text: &[u8]) -> LoginDefs {
        let mut defs = LoginDefs::default();
        for line in text.split(|&b| b == b'\n') {
            let line = crate::parse::text::trim(line);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let key_end = line
                .iter()
                .position(|&b| crate::parse::text::is_blank(b))
                .unwrap_or(line.len());
            let (key, value) = (&line[..key_end], crate::parse::text::trim(&line[key_end..]));
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            let number = parse_u32(value);
            match key {
                b"GRANT_AUX_GROUP_SUBIDS" => {
                    defs.grant_aux_group_subids = value.eq_ignore_ascii_case(b"yes")
                }
                b"UID_MIN" => defs.uid_min = number,
                b"UID_MAX" => defs.uid_max = number,
                b"GID_MIN" => defs.gid_min = number,
                b"GID_MAX" => defs.gid_max = number,
                b"SUB_UID_MIN" => defs.sub_uid_min = number,
                b"SUB_UID_MAX" => defs.sub_uid_max = number,
                b"SUB_UID_COUNT" => defs.sub_uid_count = number,
                b"SUB_GID_MIN" => defs.sub_gid_min = number,
                b"SUB_GID_MAX" => defs.sub_gid_max = number,
                b"SUB_GID_COUNT" => defs.sub_gid_count = number,
                _ => {}
            }
        }
        defs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys() {
        let defs = LoginDefs::parse(
            b"# GRANT_AUX_GROUP_SUBIDS yes\nUID_MIN\t\t 1000\nSUB_UID_COUNT 65536\n  GRANT_AUX_GROUP_SUBIDS   YES  \nUID_MAX 0x10\n",
        );
        assert!(defs.grant_aux_group_subids);
        assert_eq!(defs.uid_min, Some(1000));
        assert_eq!(defs.uid_max, None);
        assert_eq!(defs.sub_uid_count, Some(65_536));
        assert!(!LoginDefs::parse(b"GRANT_AUX_GROUP_SUBIDS no\n").grant_aux_group_subids);
        assert!(!LoginDefs::parse(b"GRANT_AUX_GROUP_SUBIDSyes\n").grant_aux_group_subids);
    }
}
