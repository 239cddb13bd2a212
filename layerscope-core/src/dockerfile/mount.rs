//! `RUN --mount=...` values, as BuildKit's `instructions/commands_runmount.go` reads them: a
//! CSV record of `key=value` fields (`readonly`, `ro`, `rw`, `readwrite`, `required` may
//! stand alone).

use super::parse::parse_go_bool;
use super::{Mount, MountType};

/// Expands one field value (evaluation) or, when absent (parsing), values containing `$`
/// are kept as written and only checked once expanded.
pub(super) type Expander<'a> = &'a dyn Fn(&str) -> Result<String, String>;

pub(super) fn parse(spec: &str, expander: Option<Expander>) -> Result<Mount, String> {
    let fields = csv_record(spec).map_err(|e| format!("failed to parse csv mounts: {e}"))?;
    let mut m = Mount {
        mount_type: MountType::Bind,
        target: None,
        source: None,
        from: None,
        id: None,
        sharing: None,
        readonly: false,
        required: false,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        env: None,
        options: Vec::new(),
        spec: spec.to_string(),
    };
    let mut ro_auto = true;
    // A `type=$T` cannot be known before evaluation: skip the per-type checks then.
    let mut type_known = true;
    let type_of = |m: &Mount| m.mount_type.as_str();

    for field in &fields {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), Some(v)),
            None => (field.to_lowercase(), None),
        };
        m.options.push((key.clone(), value.map(str::to_string)));
        let Some(raw) = value else {
            match key.as_str() {
                "readonly" | "ro" => {
                    m.readonly = true;
                    ro_auto = false;
                }
                "readwrite" | "rw" => {
                    m.readonly = false;
                    ro_auto = false;
                }
                "required" => {
                    if matches!(m.mount_type, MountType::Secret | MountType::Ssh) || !type_known {
                        m.required = true;
                    } else {
                        return Err(format!(
                            "unexpected key '{key}' for mount type '{}'",
                            type_of(&m)
                        ));
                    }
                }
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let (value, deferred) = match expander {
            Some(expand) => (expand(raw)?, false),
            None => (raw.to_string(), raw.contains('$')),
        };
        let bool_value =
            |v: &str| parse_go_bool(v).ok_or_else(|| format!("invalid value for {key}: {v}"));
        match key.as_str() {
            "type" => {
                if deferred {
                    type_known = false;
                    continue;
                }
                m.mount_type = match value.to_lowercase().as_str() {
                    "bind" => MountType::Bind,
                    "cache" => MountType::Cache,
                    "tmpfs" => MountType::Tmpfs,
                    "secret" => MountType::Secret,
                    "ssh" => MountType::Ssh,
                    _ => return Err(format!("unsupported mount type {value:?}")),
                };
            }
            "from" => m.from = Some(value),
            "source" | "src" => m.source = Some(value),
            "target" | "dst" | "destination" => m.target = Some(value),
            "id" => m.id = Some(value),
            "env" => m.env = Some(value),
            "size" => m.size = Some(value),
            "readonly" | "ro" | "readwrite" | "rw" => {
                ro_auto = false;
                if deferred {
                    continue;
                }
                let b = bool_value(&value)?;
                m.readonly = if matches!(key.as_str(), "readwrite" | "rw") {
                    !b
                } else {
                    b
                };
            }
            "required" => {
                if deferred {
                    continue;
                }
                if !matches!(m.mount_type, MountType::Secret | MountType::Ssh) && type_known {
                    return Err(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        type_of(&m)
                    ));
                }
                m.required = bool_value(&value)?;
            }
            "sharing" => {
                if deferred {
                    m.sharing = Some(value);
                    continue;
                }
                let lower = value.to_lowercase();
                if !matches!(lower.as_str(), "shared" | "private" | "locked") {
                    return Err(format!("unsupported sharing value {value:?}"));
                }
                m.sharing = Some(lower);
            }
            "mode" | "uid" | "gid" => {
                if deferred {
                    continue;
                }
                let radix = if key == "mode" { 8 } else { 10 };
                let n = u32::from_str_radix(&value, radix)
                    .map_err(|_| format!("invalid value {value} for {key}"))?;
                match key.as_str() {
                    "mode" => m.mode = Some(n),
                    "uid" => m.uid = Some(n),
                    _ => m.gid = Some(n),
                }
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }

    if ro_auto {
        m.readonly = !matches!(m.mount_type, MountType::Cache | MountType::Tmpfs);
    }
    if !type_known {
        return Ok(m);
    }
    let file_info_allowed = matches!(
        m.mount_type,
        MountType::Secret | MountType::Ssh | MountType::Cache
    );
    for (name, set) in [
        ("mode", m.mode.is_some()),
        ("uid", m.uid.is_some()),
        ("gid", m.gid.is_some()),
    ] {
        if set && !file_info_allowed {
            return Err(format!(
                "{name} not allowed for {:?} type mounts",
                type_of(&m)
            ));
        }
    }
    if m.sharing.is_some() && m.mount_type != MountType::Cache {
        return Err(format!(
            "invalid cache sharing set for {} mount",
            type_of(&m)
        ));
    }
    if m.size.is_some() && m.mount_type != MountType::Tmpfs {
        return Err(format!(
            "unexpected key 'size' for mount type '{}'",
            type_of(&m)
        ));
    }
    if m.env.is_some() && m.mount_type != MountType::Secret {
        return Err(format!(
            "unexpected key 'env' for mount type '{}'",
            type_of(&m)
        ));
    }
    if m.mount_type == MountType::Secret {
        if m.from.is_some() {
            return Err("secret mount should not have a from".to_string());
        }
        if m.source.is_none() && m.target.is_none() && m.id.is_none() && m.env.is_none() {
            return Err("invalid secret mount. one of source, target required".to_string());
        }
        if m.source.is_some() && m.id.is_some() {
            return Err("both source and id can't be set".to_string());
        }
    }
    Ok(m)
}

/// One record of Go's `encoding/csv` reader (comma-separated, `"` quoting with `""` for a
/// quote, no space trimming).
fn csv_record(s: &str) -> Result<Vec<String>, String> {
    if s.is_empty() {
        return Err("EOF".to_string());
    }
    let mut fields = Vec::new();
    let mut chars = s.chars().peekable();
    let mut column = 0usize;
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            column += 1;
            loop {
                match chars.next() {
                    None => {
                        return Err(format!(
                            "parse error on line 1, column {column}: extraneous or missing \" in quoted-field"
                        ));
                    }
                    Some('"') => {
                        column += 1;
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            column += 1;
                            field.push('"');
                        } else {
                            break;
                        }
                    }
                    Some(c) => {
                        column += 1;
                        field.push(c);
                    }
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {
                    column += 1;
                    fields.push(field);
                }
                Some(_) => {
                    return Err(format!(
                        "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                        column + 1
                    ));
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => {
                        column += 1;
                        fields.push(field);
                        break;
                    }
                    Some('"') => {
                        return Err(format!(
                            "parse error on line 1, column {}: bare \" in non-quoted-field",
                            column + 1
                        ));
                    }
                    Some(c) => {
                        column += 1;
                        field.push(c);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(spec: &str) -> Result<Mount, String> {
        parse(spec, None)
    }

    #[test]
    fn cache_mount_with_all_the_usual_keys() {
        let m =
            p("type=cache,target=/root/.cache,id=pip,sharing=LOCKED,mode=0755,uid=1000").unwrap();
        assert_eq!(m.mount_type, MountType::Cache);
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        assert_eq!(m.id.as_deref(), Some("pip"));
        assert_eq!(m.sharing.as_deref(), Some("locked"));
        assert_eq!(m.mode, Some(0o755));
        assert_eq!(m.uid, Some(1000));
        assert!(!m.readonly, "cache mounts are writable by default");
        assert_eq!(m.options.len(), 6);
    }

    #[test]
    fn bind_is_default_and_read_only() {
        let m = p("target=/src,from=build,source=/out").unwrap();
        assert_eq!(m.mount_type, MountType::Bind);
        assert!(m.readonly);
        assert_eq!(m.from.as_deref(), Some("build"));
        assert_eq!(m.source.as_deref(), Some("/out"));
        let rw = p("type=bind,dst=/src,rw").unwrap();
        assert!(!rw.readonly);
        assert_eq!(rw.target.as_deref(), Some("/src"));
        let ro = p("type=cache,destination=/c,ro=true").unwrap();
        assert!(ro.readonly);
        let rw2 = p("type=bind,target=/x,readwrite=true").unwrap();
        assert!(!rw2.readonly);
    }

    #[test]
    fn tmpfs_secret_ssh() {
        let t = p("type=tmpfs,target=/tmp,size=64m").unwrap();
        assert_eq!(
            (t.mount_type, t.size.as_deref(), t.readonly),
            (MountType::Tmpfs, Some("64m"), false)
        );
        let s = p("type=secret,id=npmrc,target=/root/.npmrc,required").unwrap();
        assert_eq!(s.mount_type, MountType::Secret);
        assert!(s.required && s.readonly);
        let e = p("type=secret,id=tok,env=TOKEN").unwrap();
        assert_eq!(e.env.as_deref(), Some("TOKEN"));
        let ssh = p("type=ssh,required=true").unwrap();
        assert_eq!(ssh.mount_type, MountType::Ssh);
        assert!(ssh.required);
    }

    #[test]
    fn csv_quoting() {
        let m = p("type=bind,\"source=a,b\",target=/x").unwrap();
        assert_eq!(m.source.as_deref(), Some("a,b"));
        assert!(p("type=bind,source=a\"b").unwrap_err().contains("bare \""));
        assert!(
            p("\"type=bind")
                .unwrap_err()
                .contains("extraneous or missing")
        );
        assert_eq!(p("").unwrap_err(), "failed to parse csv mounts: EOF");
    }

    #[test]
    fn errors() {
        assert_eq!(p("type=nfs").unwrap_err(), "unsupported mount type \"nfs\"");
        assert_eq!(
            p("type=cache,sharing=maybe").unwrap_err(),
            "unsupported sharing value \"maybe\""
        );
        assert_eq!(
            p("type=bind,sharing=locked,target=/x").unwrap_err(),
            "invalid cache sharing set for bind mount"
        );
        assert_eq!(
            p("target=/x,bogus=1").unwrap_err(),
            "unexpected key 'bogus' in 'bogus=1'"
        );
        assert_eq!(
            p("target=/x,justaword").unwrap_err(),
            "invalid field 'justaword' must be a key=value pair"
        );
        assert_eq!(
            p("target=/x,required").unwrap_err(),
            "unexpected key 'required' for mount type 'bind'"
        );
        assert_eq!(
            p("type=cache,target=/x,mode=9").unwrap_err(),
            "invalid value 9 for mode"
        );
        assert_eq!(
            p("type=bind,target=/x,uid=0").unwrap_err(),
            "uid not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            p("type=secret").unwrap_err(),
            "invalid secret mount. one of source, target required"
        );
        assert_eq!(
            p("type=secret,id=a,source=b").unwrap_err(),
            "both source and id can't be set"
        );
        assert_eq!(
            p("type=secret,id=a,from=x").unwrap_err(),
            "secret mount should not have a from"
        );
        assert_eq!(
            p("type=cache,target=/x,ro=maybe").unwrap_err(),
            "invalid value for ro: maybe"
        );
    }

    #[test]
    fn variables_are_checked_after_expansion() {
        let m = p("type=$T,target=$DIR,sharing=$S,uid=$U").unwrap();
        assert_eq!(m.target.as_deref(), Some("$DIR"));
        assert_eq!(m.uid, None);
        let expand = |v: &str| -> Result<String, String> {
            Ok(match v {
                "$T" => "cache".into(),
                "$DIR" => "/c".into(),
                "$S" => "private".into(),
                "$U" => "7".into(),
                other => other.into(),
            })
        };
        let e = parse("type=$T,target=$DIR,sharing=$S,uid=$U", Some(&expand)).unwrap();
        assert_eq!(
            (
                e.mount_type,
                e.target.as_deref(),
                e.sharing.as_deref(),
                e.uid
            ),
            (MountType::Cache, Some("/c"), Some("private"), Some(7))
        );
    }
}
