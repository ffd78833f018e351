//! Pass 2, continued: the checks of single fields (list names, integers,
//! globs, URLs, secrets) the sections share.

use super::*;

impl Checker<'_> {
    // --- shared checks ----------------------------------------------------

    pub(super) fn list_name(
        &mut self,
        key: &str,
        raw: &S<String>,
        default: &str,
    ) -> Option<String> {
        match raw {
            None => Some(default.to_owned()),
            Some(s) if s.get_ref().trim().is_empty() => {
                self.err(key, Some(s.span()), "a Trello list name must not be empty");
                None
            }
            Some(s) => Some(s.get_ref().trim().to_owned()),
        }
    }

    pub(super) fn int(
        &mut self,
        key: &str,
        raw: &S<i64>,
        default: i64,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        match raw {
            None => Some(default),
            Some(v) if (min..=max).contains(v.get_ref()) => Some(*v.get_ref()),
            Some(v) => {
                self.err(
                    key,
                    Some(v.span()),
                    format!("{} is out of range: expected {min} to {max}", v.get_ref()),
                );
                None
            }
        }
    }

    pub(super) fn globs(
        &mut self,
        key: &str,
        raw: &Option<Vec<Spanned<String>>>,
        default: &[&str],
    ) -> Vec<glob::Pattern> {
        let mut out = Vec::new();
        match raw {
            None => {
                for g in default {
                    if let Ok(p) = glob::Pattern::new(g) {
                        out.push(p);
                    }
                }
            }
            Some(list) => {
                for (i, s) in list.iter().enumerate() {
                    match glob::Pattern::new(s.get_ref()) {
                        Ok(p) => out.push(p),
                        Err(e) => self.err(
                            format!("{key}[{i}]"),
                            Some(s.span()),
                            format!("{:?} is not a valid glob: {}", s.get_ref(), e.msg),
                        ),
                    }
                }
            }
        }
        out
    }

    pub(super) fn url(&mut self, key: &str, s: &Spanned<String>) -> Option<Url> {
        match check_url(s.get_ref()) {
            Ok(u) => Some(u),
            Err(msg) => {
                self.err(key, Some(s.span()), msg);
                None
            }
        }
    }

    pub(super) fn required_url(&mut self, key: &str, raw: &S<String>) -> Option<Url> {
        match raw {
            Some(s) => self.url(key, s),
            None => {
                self.err(
                    key,
                    None,
                    "missing: the shop's root URL, e.g. \"https://shop.example.fr\"",
                );
                None
            }
        }
    }

    pub(super) fn url_or_default(
        &mut self,
        key: &str,
        raw: &S<String>,
        default: &str,
    ) -> Option<Url> {
        match raw {
            Some(s) => self.url(key, s),
            None => Url::parse(default).ok(),
        }
    }

    pub(super) fn required_secret(&mut self, s: &RawSecret<'_>) -> Option<Secret> {
        if !s.given() {
            self.err(
                format!("{}.{}", s.table, s.name),
                None,
                format!(
                    "missing secret: set {0}, {0}_file (e.g. a systemd credential) or {0}_env",
                    s.name
                ),
            );
            return None;
        }
        self.secret(s)
    }

    /// Resolves a secret given in exactly one of its three spellings.
    /// Messages name the key, the file or the variable, never the value.
    pub(super) fn secret(&mut self, s: &RawSecret<'_>) -> Option<Secret> {
        let key = format!("{}.{}", s.table, s.name);
        let given: Vec<&str> = [
            (s.inline.is_some(), ""),
            (s.file.is_some(), "_file"),
            (s.env.is_some(), "_env"),
        ]
        .iter()
        .filter(|(g, _)| *g)
        .map(|(_, suffix)| *suffix)
        .collect();
        if given.len() > 1 {
            let names: Vec<String> = given.iter().map(|sfx| format!("{}{sfx}", s.name)).collect();
            self.err(
                key,
                s.first_span(),
                format!(
                    "secret given more than once ({}): keep one",
                    names.join(", ")
                ),
            );
            return None;
        }
        if let Some(v) = s.inline {
            if v.get_ref().trim().is_empty() {
                self.err(key, Some(v.span()), "secret is empty");
                return None;
            }
            if let Some(why) = header_unsafe(v.get_ref()) {
                self.err(key, Some(v.span()), format!("the secret {why}"));
                return None;
            }
            self.inline_secrets.push(key);
            return Some(Secret::new(v.get_ref().clone()));
        }
        if let Some(f) = s.file {
            let fkey = format!("{key}_file");
            let path = self.credentials.join(f.get_ref());
            return match std::fs::read_to_string(&path) {
                Err(e) => {
                    self.err(
                        fkey,
                        Some(f.span()),
                        format!("cannot read secret file {path:?}: {e}"),
                    );
                    None
                }
                Ok(content) => {
                    // systemd credentials and `echo x > file` end with a
                    // newline that is not part of the secret.
                    let value = content.trim_end_matches(['\n', '\r']);
                    if value.trim().is_empty() {
                        self.err(
                            fkey,
                            Some(f.span()),
                            format!("secret file {path:?} is empty"),
                        );
                        None
                    } else if let Some(why) = header_unsafe(value) {
                        self.err(
                            fkey,
                            Some(f.span()),
                            format!(
                                "the secret in {path:?} {why} (only the file's final line \
                                 end is ignored)"
                            ),
                        );
                        None
                    } else {
                        if let Some(mode) = world_readable(&path) {
                            self.warn(
                                fkey,
                                Some(f.span()),
                                format!(
                                    "secret file {path:?} is readable by every account of the \
                                     host (mode {mode:04o}): chmod 600 it"
                                ),
                            );
                        }
                        Some(Secret::new(value))
                    }
                }
            };
        }
        if let Some(e) = s.env {
            let ekey = format!("{key}_env");
            let var = e.get_ref();
            return match (self.env)(var) {
                None => {
                    self.err(
                        ekey,
                        Some(e.span()),
                        format!("environment variable {var:?} is not set"),
                    );
                    None
                }
                Some(v) if v.trim().is_empty() => {
                    self.err(
                        ekey,
                        Some(e.span()),
                        format!("environment variable {var:?} is empty"),
                    );
                    None
                }
                Some(v) => match header_unsafe(&v) {
                    Some(why) => {
                        self.err(
                            ekey,
                            Some(e.span()),
                            format!("the secret in environment variable {var:?} {why}"),
                        );
                        None
                    }
                    None => Some(Secret::new(v)),
                },
            };
        }
        None
    }
}

impl RawSecret<'_> {
    pub(super) fn given(&self) -> bool {
        self.inline.is_some() || self.file.is_some() || self.env.is_some()
    }

    pub(super) fn first_span(&self) -> Option<Range<usize>> {
        [self.inline, self.file, self.env]
            .into_iter()
            .flatten()
            .map(|s| s.span())
            .min_by_key(|r| r.start)
    }
}
